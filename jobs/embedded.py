"""The embedded engine: replays the bootstrap events in one process with dict state.

It is the reference every other engine must match, and the speed baseline.
"""

from __future__ import annotations

import gc
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from feature_ops.config import Config
from feature_ops.engine import Engine
from feature_ops.events import Event
from feature_ops.reader import InputError, Rejects, read_events
from feature_ops.sources import FileSource
from feature_ops.store import MemoryStore, Store
from jobs.s3input import S3Input
from jobs.staging import Staging
from jobs.workdir import DatasetWriter, local_workdir, write_item_fields, write_sessions, write_values
from serving.s3 import is_s3

Progress = Callable[[int], None]


@dataclass
class BootstrapResult:
    engine: str
    events: int
    seconds: float
    rows: dict[str, int]
    values: int
    rejects: Rejects
    stats: dict[str, int] = field(default_factory=dict)
    savepoint: str | None = None
    leftovers: list[str] = field(default_factory=list)
    """Staging directories of interrupted runs that this run removed."""
    subtasks: dict[int, int] = field(default_factory=dict)
    """Flink: records each feature-state subtask received, by subtask index."""
    job_seconds: float | None = None
    """Flink: from submitting the job to its savepoint (``seconds`` adds planning, JVM and cluster start)."""
    router_seconds: float | None = None
    """Flink: the router's CPU seconds, with ``rows_seconds`` (the rows operator's) the keyed graph's serial part."""
    rows_seconds: float | None = None

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def relax_gc() -> None:
    """Engine state is many small long-lived objects: full collections over them cost 10-15% of a replay
    and free nothing (state holds no cycles). Collect young objects less often and freeze what exists."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


def config_hash(config: Config) -> str:
    return hashlib.sha1(orjson.dumps(config.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)).hexdigest()[:12]


def input_path(config: Config) -> str:
    source = config.bootstrap.source
    if not isinstance(source, FileSource):
        raise InputError(f"bootstrap.source: type '{source.type}' is not supported for bootstrap yet, use type: file")
    if _inside(config.bootstrap.workdir, source.path):
        raise InputError(f"bootstrap.workdir {config.bootstrap.workdir} is inside bootstrap.source.path "
                         f"{source.path}: the next bootstrap would read its outputs (manifest.json, "
                         "values/*.jsonl.gz) as events; move one")  # fmt: skip
    return source.path


def _inside(workdir: str, events: str) -> bool:
    if is_s3(workdir) or is_s3(events):
        return f"{workdir.rstrip('/')}/".startswith(f"{events.rstrip('/')}/")
    source = Path(events)
    return "://" not in workdir and source.is_dir() and Path(workdir).resolve().is_relative_to(source.resolve())


def local_input(config: Config, staging: Path) -> tuple[str, Callable[[Path], str]]:
    """The input to read (an ``s3://`` one downloaded under ``staging``) and what messages call each file."""
    path = input_path(config)
    if not is_s3(path):
        return path, str
    copy = S3Input(path, staging / "_s3-input")
    return str(copy.path), copy.name


def open_staging(config: Config) -> Staging:
    """The staging of a bootstrap run: in the workdir, or in an ``s3://`` workdir's local scratch directory."""
    workdir = config.bootstrap.workdir
    if not is_s3(workdir):
        return Staging(local_workdir(workdir))
    from jobs.s3workdir import check_writable

    check_writable(workdir)
    return Staging(local_workdir(workdir), remote=workdir)


class Replay:
    """What every bootstrap engine runs over its store: the engine, its clickthroughs streamed into the
    datasets, and at the end the flush of open sessions and the latest values into the workdir."""

    def __init__(self, config: Config, store: Store, root: Path) -> None:
        relax_gc()
        self.root = root
        self.engine = Engine(config, store)
        self.writer = DatasetWriter(root, config, self.engine.features)
        self.engine.emit = self.writer.add
        self.events = 0

    def process(self, event: Event) -> None:
        self.engine.process(event)
        self.events += 1

    def finish(self) -> tuple[dict[str, int], int]:
        """(dataset rows per model, latest values written)."""
        self.engine.flush()
        rows = self.writer.close()
        values = write_values(self.root, self.engine.features, self.engine.latest())
        write_item_fields(self.root, self.engine.item_fields())
        write_sessions(self.root, self.engine.open_sessions())
        return rows, values


def bootstrap_embedded(config: Config, progress: Progress | None = None) -> BootstrapResult:
    """Replay every event under bootstrap.source.path into a staging directory, then publish the outputs
    (manifest last): a run that fails or is killed leaves the workdir's previous outputs as they were."""
    input_path(config)
    with open_staging(config) as staging:
        rejects = Rejects(config.bootstrap.errors)
        start = time.perf_counter()
        path, names = local_input(config, staging.path)
        replay = Replay(config, MemoryStore(), staging.path)
        for event in read_events(path, rejects, config.bootstrap.timestamps.window(), names=names):
            replay.process(event)
            if progress is not None and replay.events % 4096 == 0:
                progress(replay.events)
        rows, values = replay.finish()
        seconds = time.perf_counter() - start
        stats = dict(replay.engine.stats)
        result = BootstrapResult("embedded", replay.events, seconds, rows, values, rejects, stats,
                                 leftovers=staging.leftovers)  # fmt: skip
        staging.publish(manifest(config, result))
    return result


def manifest(config: Config, result: BootstrapResult) -> dict:
    return {
        "engine": result.engine,
        "config_hash": config_hash(config),
        "events": result.events,
        "bad_lines": result.rejects.count,
        "seconds": round(result.seconds, 3),
        "events_per_s": round(result.events_per_s, 1),
        "dataset_rows": result.rows,
        "values": result.values,
        "stats": result.stats,
        "savepoint": result.savepoint,
    }
