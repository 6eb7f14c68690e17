"""The online value store: encoded state records by key, read with one round trip per ranking request.

Key layout: ``<prefix>:<state namespace>:<scope id>``, e.g. ``rs:popularity@1a2b3c4d:p1`` or
``rs:liked_genre_genres_last@5e6f7a8b:u42``. The prefix is ``inference.state.prefix`` (default ``rs``);
the state namespace is the state name salted with its feature's config hash (``FeatureSet.namespaces``),
so a changed feature definition reads fresh keys instead of incompatible ones. The value is
``feature_ops.codec.encode(spec, record)``: versioned compact JSON bytes, ``spec`` from
``FeatureSet.specs[state]``. Accepted feedback events go to the ``<prefix>:feedback`` stream.

TTL: a record stays readable while ``now - record ts <= spec.ttl``, and ``now`` of an uploaded bootstrap is
the bootstrap's last event time (the largest record ts in the values file). So a key expires ``record ts +
spec.ttl - last event time`` milliseconds after it is written; already expired records are not written.

Two implementations share one contract (``tests/test_store.py``): ``RedisValueStore``
(``serving.redis_store``) and ``MemoryValueStore`` below.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Protocol

from feature_ops.codec import encode
from feature_ops.featureset import FeatureSet
from serving.errors import StoreUnavailable

Item = tuple[str, bytes, int | None]
"""(key, value, ttl in ms or None for no expiry)."""

__all__ = ["Item", "KeyLayout", "MemoryValueStore", "StoreUnavailable", "ValueStore", "open_store", "ttl_items"]


class ValueStore(Protocol):
    def get_many(self, keys: Sequence[str]) -> list[bytes | None]: ...

    def put_many(self, items: Iterable[Item]) -> int: ...

    def append_feedback(self, events: Sequence[bytes]) -> int: ...

    def ping(self) -> None:
        """Return if the store answers, else raise StoreUnavailable."""

    def used_memory(self) -> int | None: ...

    def close(self) -> None: ...


class KeyLayout:
    """Maps (state, scope id) to store keys, with the per-state prefix computed once."""

    def __init__(self, features: FeatureSet, prefix: str = "rs") -> None:
        self.prefix = prefix
        self.state_prefix = {s: f"{prefix}:{ns}:" for s, ns in features.namespaces.items()}
        self.feedback = f"{prefix}:feedback"

    def key(self, state: str, scope_id: str) -> str:
        return self.state_prefix[state] + scope_id


def ttl_items(features: FeatureSet, layout: KeyLayout, records: Iterable[tuple[str, str, tuple]], now: int):
    """Encoded (key, value, ttl ms) per live record, with the TTL remaining at ``now`` (see module doc)."""
    for state, sid, record in records:
        spec = features.specs[state]
        ttl = record[1] + spec.ttl - now
        if ttl > 0:
            yield layout.key(state, sid), encode(spec, record), ttl


class MemoryValueStore:
    """Dicts in the API process: values with a monotonic-clock deadline, feedback as a list."""

    def __init__(self) -> None:
        self.values: dict[str, tuple[bytes, float | None]] = {}
        self.feedback: list[bytes] = []

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        values, now, out = self.values, time.monotonic(), []
        for key in keys:
            entry = values.get(key)
            out.append(None if entry is None or (entry[1] is not None and entry[1] <= now) else entry[0])
        return out

    def put_many(self, items: Iterable[Item]) -> int:
        now, count = time.monotonic(), 0
        for key, value, ttl in items:
            self.values[key] = (value, None if ttl is None else now + ttl / 1000)
            count += 1
        return count

    def append_feedback(self, events: Sequence[bytes]) -> int:
        self.feedback.extend(events)
        return len(events)

    def ping(self) -> None:
        return None

    def close(self) -> None:
        return None

    def used_memory(self) -> int | None:
        return None


def open_store(state) -> ValueStore:
    """The store for ``inference.state``: Redis for ``type: redis``, else an empty memory store."""
    if state.type == "redis":
        from serving.redis_store import RedisValueStore

        return RedisValueStore(state.host, state.port, state.db, state.prefix)
    return MemoryValueStore()
