"""The bootstrap on the keyed graph (``jobs.flink.keyed``): what its router and its sink write.

The router decodes the staged input lines (keeping their ``path:line``) into a ``RouterEngine`` and at the
end writes the item fields, open sessions and its counts; the sink writes the datasets in the router's
order and the latest values merged from every bucket, then the counts file the driver reads.
"""

from __future__ import annotations

import json
from pathlib import Path

from feature_ops.config import Config
from feature_ops.featureset import FeatureSet
from feature_ops.reader import Rejects
from feature_ops.routing import RouterEngine
from jobs.flink.bootstrap import STATS_FILE
from jobs.flink.inputs import InputPlan, StagedDecoder
from jobs.flink.keyed import KeyedFactory, KeyedRouter, KeyedSink
from jobs.workdir import DatasetWriter, write_item_fields, write_sessions, write_values

ROUTER_STATS = "_router-stats.json"


class BootstrapRouter(KeyedRouter):
    def __init__(self, config: Config, store, root: str, plan: InputPlan) -> None:
        self.root = Path(root)
        self.rejects = Rejects(config.bootstrap.errors)
        self.decode = StagedDecoder(plan, self.rejects, config.bootstrap.timestamps.window())
        self.engine = RouterEngine(config, store)
        self.events = 0

    def process_batch(self, first: int, lines: list[str]) -> None:
        for offset, line in enumerate(lines):
            event = self.decode(line, first + offset)
            if event is not None:
                self.engine.process(event)
                self.events += 1

    def finish(self) -> None:
        (self.root / "values").mkdir(parents=True, exist_ok=True)
        write_item_fields(self.root, self.engine.item_fields())
        write_sessions(self.root, self.engine.open_sessions())
        stats = {"events": self.events, "stats": dict(self.engine.stats), "rejects": self.rejects.to_dict(),
                 "router_seconds": self.busy}
        (self.root / ROUTER_STATS).write_text(json.dumps(stats))


class BootstrapSink(KeyedSink):
    def __init__(self, config: Config, root: str) -> None:
        self.root = Path(root)
        self.features = FeatureSet(config.all_features)
        self.writer = DatasetWriter(self.root, config, self.features)

    def add(self, clickthrough) -> None:
        self.writer.add(clickthrough)

    def finish(self, latest: list[tuple[str, str, tuple]], subtasks: dict[int, int]) -> None:
        rows = self.writer.close()
        values = write_values(self.root, self.features, latest)
        stats = json.loads((self.root / ROUTER_STATS).read_text())
        (self.root / ROUTER_STATS).unlink()
        stats.update(rows=rows, values=values, subtasks={str(k): v for k, v in subtasks.items()}, rows_seconds=self.busy)
        (self.root / STATS_FILE).write_text(json.dumps(stats))


class KeyedBootstrapFactory(KeyedFactory):
    """Picklable: the bootstrap's router and sink for the keyed graph."""

    def __init__(self, config: Config, root: str, plan: InputPlan) -> None:
        self.config, self.root, self.plan = config, root, plan

    def router(self, store) -> BootstrapRouter:
        return BootstrapRouter(self.config, store, self.root, self.plan)

    def sink(self) -> BootstrapSink:
        return BootstrapSink(self.config, self.root)
