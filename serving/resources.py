"""What the API owns while it runs: the value store, one ranking pipeline per model, the feedback sink
and the metrics. Built once at startup (``load_resources``) and closed at shutdown."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from feature_ops.config import Config
from feature_ops.events import RankingEvent, RankItem
from feature_ops.featureset import FeatureSet
from serving.errors import ApiError
from serving.feedback import EngineSink, StreamSink
from serving.metrics import Metrics
from serving.models import load_scorer
from serving.ranking import RankPipeline
from serving.store import KeyLayout, ValueStore, open_store

log = logging.getLogger(__name__)


@dataclass
class Resources:
    config: Config
    store: ValueStore
    pipelines: dict[str, RankPipeline]
    sink: StreamSink | EngineSink
    metrics: Metrics

    def health(self) -> list[str]:
        """Why the API cannot serve every model right now; empty when healthy."""
        reasons = [
            f"model '{name}' is not loaded: {p.scorer.error}" for name, p in self.pipelines.items() if p.scorer.error
        ]
        try:
            self.store.ping()
        except ApiError as e:
            reasons.append(e.message)
        return reasons

    def warm_up(self, items: int = 24) -> list[str]:
        """Rank one synthetic request per loaded model (unknown items, explain on) so the first real request
        does not pay for lazy initialisation (~50 ms cold vs ~3 ms warm); returns the models warmed.
        A store that is down at startup only skips the warm-up."""
        request = RankingEvent("warm-up", 0, [RankItem(f"warm-up-{i}") for i in range(items)], "warm-up", "warm-up")
        warmed = []
        for name, pipeline in self.pipelines.items():
            if pipeline.scorer.error is None:
                try:
                    pipeline.rank(request, explain=True)
                except ApiError as e:
                    log.warning("warm-up of model '%s' skipped: %s", name, e.message)
                    continue
                warmed.append(name)
        return warmed

    def close(self) -> None:
        self.store.close()


def load_resources(
    config: Config, store: ValueStore | None = None, values: Iterable | None = None,
    item_fields: Iterable | None = None, sessions: Iterable | None = None,
) -> Resources:
    """Open the state store and load every model. With memory state, ``values`` (the bootstrap's latest
    (state, scope id, record) triples) and ``item_fields`` ((item, fields) pairs the engine joins onto
    interactions) and ``sessions`` (the bootstrap's open clickthrough sessions, ``Engine.open_sessions``), read
    from the workdir by the caller, seed the API's own engine."""
    state = config.inference.state
    prefix = getattr(state, "prefix", "rs")
    store = store if store is not None else open_store(state)
    pipelines = {name: RankPipeline(config, load_scorer(config, name), store, prefix) for name in config.models}
    for name, pipeline in pipelines.items():
        if pipeline.scorer.error:
            log.warning("model '%s' is not loaded: %s", name, pipeline.scorer.error)
    if state.type == "redis":
        sink: StreamSink | EngineSink = StreamSink(store)
    else:
        sink = EngineSink(config, store, KeyLayout(FeatureSet(config.all_features), prefix), values or (), item_fields or (),
                          sessions or ())
    return Resources(config, store, pipelines, sink, Metrics())
