"""``rankstream upload CONFIG``: write the bootstrap's latest values into the Redis of ``inference.state``.

Keys, values and TTLs follow ``serving.store``: one hash ``<prefix>:<scope id>`` per scope id, one field per
state namespace holding the codec bytes, the key living as long as its longest-lived field (TTL remaining at
the bootstrap's last event time). Writes are pipelined ``HSET`` + ``PEXPIRE`` in batches, each record
sorted by key so a hash is mostly written by one command; running it twice leaves the same state.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from feature_ops.config import Config, ConfigError
from feature_ops.featureset import FeatureSet
from jobs.workdir import completed_workdir, read_values
from serving.store import KeyLayout, ValueStore, open_store, ttl_items

Progress = Callable[[int], None]


@dataclass(frozen=True)
class UploadResult:
    keys: int
    expired: int
    seconds: float
    used_memory: int | None


def upload(config: Config, progress: Progress | None = None, store: ValueStore | None = None,
           batch: int = 1000) -> UploadResult:  # fmt: skip
    """Upload every live record of ``<workdir>/values/values.jsonl.gz``; returns counts and Redis memory."""
    state = config.inference.state
    if state.type != "redis" and store is None:
        raise ConfigError("inference.state.type is 'memory': upload needs type: redis (memory state loads the workdir itself)")
    features = FeatureSet(config.all_features)
    root = completed_workdir(config.bootstrap.workdir, "values/values.jsonl.gz")
    records = list(read_values(root, features))
    now = max((record[1] for _, _, record in records), default=0)
    layout = KeyLayout(features, getattr(state, "prefix", "rs"))
    owned = store is None
    store = store or open_store(state)
    try:
        start, written = time.perf_counter(), 0
        items = sorted(ttl_items(features, layout, records, now), key=lambda item: item[0])
        for i in range(0, len(items), batch):
            written += store.put_many(items[i : i + batch])
            if progress is not None:
                progress(written)
        return UploadResult(written, len(records) - len(items), time.perf_counter() - start, store.used_memory())
    finally:
        if owned:
            store.close()
