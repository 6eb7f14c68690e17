"""The update job's last operator: writes each batch's changed records into ``inference.state`` (Redis).

Each record from the engine host is one batch's items, written with one pipelined round trip
(``RedisValueStore.put_many``: HSET + PEXPIRE NX/GT, the upload's TTL rule) before the next record is taken.
So everything before a checkpoint barrier is in Redis when the checkpoint completes, and a restore replays
exactly the events whose writes may be missing; rewriting a value is harmless (the same record again). While
Redis is unreachable the sink retries with backoff (the job holds still, backpressure stops the source) and
fails the job only after ``give_up_s``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

from pyflink.datastream import FlatMapFunction, RuntimeContext

from serving.errors import StoreUnavailable
from serving.store import Item, open_store

log = logging.getLogger(__name__)


class RedisSink(FlatMapFunction):
    """``(items, events, bad)`` records in, nothing out."""

    def __init__(self, state, give_up_s: float = 120.0) -> None:
        self.state, self.give_up_s = state, give_up_s

    def open(self, runtime_context: RuntimeContext) -> None:
        self.store = open_store(self.state)

    def flat_map(self, record: tuple[list[Item], int, int]) -> Iterator[bool]:
        items = record[0]
        if items:
            self._write(items)
        return iter(())

    def _write(self, items: list[Item]) -> None:
        deadline, pause = time.monotonic() + self.give_up_s, 0.05
        while True:
            try:
                self.store.put_many(items)
                return
            except StoreUnavailable as e:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{e.message}; the update job gave up after {self.give_up_s:.0f} s") from None
                log.warning("redis unavailable, retrying in %.2f s: %s", pause, e.message)
                time.sleep(pause)
                pause = min(pause * 2, 2.0)

    def close(self) -> None:
        store = getattr(self, "store", None)
        if store is not None:
            store.close()
