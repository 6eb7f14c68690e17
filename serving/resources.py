"""What the API owns while it runs: the value store, one ranking pipeline per model, the feedback sink,
the metrics, the token check, the store probe and the worker threads. Built once at startup
(``load_resources``) and closed at shutdown.

Blocking work runs on ``THREADS`` worker threads, never on the event loop: a blocking store's reads
(``RankPipeline.read``) and whole ``/feedback`` requests (``run``). A hung store then holds only the requests
waiting on it, while ``/health`` and the others keep being answered. Ranking itself computes on the event
loop, one request at a time (no interpreter-lock contention between requests); ``inference.maxItems``
bounds its longest turn.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from feature_ops.config import Config
from feature_ops.events import RankingEvent, RankItem
from feature_ops.featureset import FeatureSet
from serving.auth import Auth, load_auth
from serving.errors import ApiError
from serving.feedback import EngineSink, StreamSink
from serving.metrics import Metrics
from serving.models import load_scorer
from serving.probe import StoreProbe
from serving.ranking import RankPipeline, Read
from serving.store import KeyLayout, ValueStore, open_store

log = logging.getLogger(__name__)
THREADS = 8
T = TypeVar("T")


@dataclass
class Resources:
    config: Config
    store: ValueStore
    pipelines: dict[str, RankPipeline]
    sink: StreamSink | EngineSink
    metrics: Metrics
    auth: Auth
    probe: StoreProbe
    workers: ThreadPoolExecutor

    async def run(self, work: Callable[..., T], *args) -> T:
        """``work(*args)`` on a worker thread; its exceptions are raised here."""
        return await on_thread(self.workers, work, *args)

    async def health(self) -> list[str]:
        """Why the API cannot serve every model right now; empty when healthy. Waits on the store at most
        ``serving.probe.WAIT`` seconds."""
        reasons = [
            f"model '{name}' is not loaded: {p.scorer.error}" for name, p in self.pipelines.items() if p.scorer.error
        ]
        store = await self.probe.check()
        return reasons if store is None else [*reasons, store]

    async def warm_up(self, items: int = 24) -> list[str]:
        """Rank one synthetic request per loaded model (unknown items, explain on) so the first real request
        does not pay for lazy initialisation (~50 ms cold vs ~3 ms warm); returns the models warmed.
        A store that is down at startup only skips the warm-up."""
        request = RankingEvent("warm-up", 0, [RankItem(f"warm-up-{i}") for i in range(items)], "warm-up", "warm-up")
        warmed = []
        for name, pipeline in self.pipelines.items():
            if pipeline.scorer.error is None:
                try:
                    await pipeline.rank(request, explain=True)
                except ApiError as e:
                    log.warning("warm-up of model '%s' skipped: %s", name, e.message)
                    continue
                warmed.append(name)
        return warmed

    def close(self) -> None:
        self.workers.shutdown()
        self.probe.close()
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
    auth = load_auth(config.inference.auth)
    store = store if store is not None else open_store(state, config.inference.feedback.maxLength)
    workers = ThreadPoolExecutor(THREADS, thread_name_prefix="api-worker")
    read = reader(store, workers) if store.blocking else None
    pipelines = {name: RankPipeline(config, load_scorer(config, name), store, prefix, read) for name in config.models}
    for name, pipeline in pipelines.items():
        if pipeline.scorer.error:
            log.warning("model '%s' is not loaded: %s", name, pipeline.scorer.error)
    if state.type == "redis":
        sink: StreamSink | EngineSink = StreamSink(store)
    else:
        sink = EngineSink(config, store, KeyLayout(FeatureSet(config.all_features), prefix), values or (), item_fields or (),
                          sessions or ())
    return Resources(config, store, pipelines, sink, Metrics(), auth, StoreProbe(store), workers)


async def on_thread(workers: ThreadPoolExecutor, work: Callable[..., T], *args) -> T:
    """``work(*args)`` on one of ``workers``, awaited; its exceptions are raised here."""
    return await asyncio.get_running_loop().run_in_executor(workers, work, *args)


def reader(store: ValueStore, workers: ThreadPoolExecutor) -> Read:
    """``store.get_many`` on a worker thread, awaited."""
    return partial(on_thread, workers, store.get_many)
