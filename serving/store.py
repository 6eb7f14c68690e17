"""The online value store: encoded state records in one hash per scope id, read with one round trip per
ranking request.

Key layout: one hash per scope id, key ``<prefix>:<scope id>``, one field per state, named by the state
namespace; e.g. hash ``rs:p1`` holds fields ``popularity@1a2b3c4d``, ``ctr_click@9f8e7d6c``, ... and hash
``rs:u42`` holds ``liked_genre_genres_last@5e6f7a8b``. The prefix is ``inference.state.prefix`` (default
``rs``); the namespace is the state name salted with its feature's config hash (``FeatureSet.namespaces``),
so a changed feature definition reads fresh fields instead of incompatible ones. Namespaces are unique per
state and every state has exactly one scope kind, so a user and an item with the same id share a hash but
never a field. The value is ``feature_ops.codec.encode(spec, record)``: versioned compact JSON bytes,
``spec`` from ``FeatureSet.specs[state]``. Ranking reads the fields of every scope id it needs with one
pipeline of ``HMGET``. Accepted feedback events go to the ``<prefix>@feedback`` stream, a key no scope id
can produce, capped at about ``inference.feedback.maxLength`` events (the oldest are dropped).

TTL: a record stays readable while ``now - record ts <= spec.ttl``, and ``now`` of an uploaded bootstrap is
the bootstrap's last event time (the largest record ts in the values file). So a record expires ``record ts +
spec.ttl - last event time`` milliseconds after it is written; already expired records are not written.
Redis 7.0 has no per-field TTL, so the hash lives as long as its longest-lived field: every write sets
the key's TTL to the largest TTL it writes unless the key already lives longer (``PEXPIRE NX`` then
``PEXPIRE GT``). A field whose record expired earlier can stay in the hash until then; readers drop it by
its record timestamp, exactly as they drop any expired record.

Two implementations share one contract (``tests/test_store.py``): ``RedisValueStore``
(``serving.redis_store``) and ``MemoryValueStore`` below.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Sequence
from typing import Protocol

from feature_ops.codec import encode
from feature_ops.featureset import FeatureSet
from serving.errors import StoreUnavailable

Item = tuple[str, str, bytes, int]
"""(key, field, value, ttl in ms)."""

Lookup = tuple[str, Sequence[str]]
"""(key, fields to read from it)."""

__all__ = [
    "Item", "KeyLayout", "Lookup", "MemoryValueStore", "StoreUnavailable", "ValueStore", "group_items",
    "open_store", "ttl_items",
]  # fmt: skip


class ValueStore(Protocol):
    name: str
    """What the store is, for messages: ``redis host:port/db`` or ``memory``."""
    blocking: bool
    """Whether calls wait on the network (the API then makes them on worker threads)."""

    def get_many(self, lookups: Sequence[Lookup]) -> list[list[bytes | None]]:
        """Per lookup, the values of its fields in order (None where the key or field is missing)."""

    def put_many(self, items: Iterable[Item]) -> int:
        """Write every item (see the TTL rule above); returns the number of distinct fields written."""

    def append_feedback(self, events: Sequence[bytes]) -> int: ...

    def ping(self) -> None:
        """Return if the store answers, else raise StoreUnavailable."""

    def used_memory(self) -> int | None: ...

    def close(self) -> None: ...


class KeyLayout:
    """Maps a scope id to its hash key and a state to its field, both computed once per state."""

    def __init__(self, features: FeatureSet, prefix: str = "rs") -> None:
        self.prefix = prefix
        self.key_prefix = f"{prefix}:"
        self.fields = dict(features.namespaces)
        self.feedback = f"{prefix}@feedback"

    def key(self, scope_id: str) -> str:
        return self.key_prefix + scope_id


def ttl_items(features: FeatureSet, layout: KeyLayout, records: Iterable[tuple[str, str, tuple]], now: int):
    """Encoded (key, field, value, ttl ms) per live record, with the TTL remaining at ``now`` (module doc)."""
    for state, sid, record in records:
        spec = features.specs[state]
        ttl = record[1] + spec.ttl - now
        if ttl > 0:
            yield layout.key(sid), layout.fields[state], encode(spec, record), ttl


def group_items(items: Iterable[Item]) -> dict[str, tuple[dict[str, bytes], int]]:
    """Items by key: (field -> value, the largest ttl), the unit of one hash write."""
    out: dict[str, tuple[dict[str, bytes], int]] = {}
    for key, field, value, ttl in items:
        entry = out.get(key)
        if entry is None:
            out[key] = ({field: value}, ttl)
        else:
            entry[0][field] = value
            if ttl > entry[1]:
                out[key] = (entry[0], ttl)
    return out


class MemoryValueStore:
    """Dicts in the API process: hashes with a monotonic-clock deadline, feedback as a bounded queue."""

    name = "memory"
    blocking = False

    def __init__(self, max_feedback: int = 1_000_000) -> None:
        self.values: dict[str, tuple[dict[str, bytes], float]] = {}
        self.feedback: deque[bytes] = deque(maxlen=max_feedback)

    def get_many(self, lookups: Sequence[Lookup]) -> list[list[bytes | None]]:
        values, now, out = self.values, time.monotonic(), []
        for key, fields in lookups:
            entry = values.get(key)
            if entry is None or entry[1] <= now:
                out.append([None] * len(fields))
            else:
                out.append([entry[0].get(f) for f in fields])
        return out

    def put_many(self, items: Iterable[Item]) -> int:
        now, grouped = time.monotonic(), group_items(items)
        for key, (fields, ttl) in grouped.items():
            entry = self.values.get(key)
            deadline = now + ttl / 1000
            if entry is None or entry[1] <= now:
                self.values[key] = (fields, deadline)
            else:
                entry[0].update(fields)
                self.values[key] = (entry[0], max(entry[1], deadline))
        return sum(len(fields) for fields, _ in grouped.values())

    def append_feedback(self, events: Sequence[bytes]) -> int:
        self.feedback.extend(events)
        return len(events)

    def ping(self) -> None:
        return None

    def close(self) -> None:
        return None

    def used_memory(self) -> int | None:
        return None


def open_store(state, max_feedback: int = 1_000_000) -> ValueStore:
    """The store for ``inference.state``: Redis for ``type: redis``, else an empty memory store; the feedback
    stream keeps about ``max_feedback`` events (``inference.feedback.maxLength``)."""
    if state.type == "redis":
        from serving.redis_store import RedisValueStore

        return RedisValueStore(
            state.host, state.port, state.db, state.prefix, timeout=state.timeout / 1000, max_feedback=max_feedback
        )
    return MemoryValueStore(max_feedback)
