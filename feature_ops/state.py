"""The five state kinds and their pure reducers: scalar, counter, periodic counter, bounded list, map.

State is plain immutable data (numbers, strings, tuples, dicts that are never mutated in place), so it
pickles cheaply across the Flink boundary and can be encoded for Redis.

A stored record is ``(state, ts)``; with ``refresh > 0`` it is ``(state, ts, shown, shown_ts)`` where
``shown`` is the value readers see, updated at most once per refresh interval (Metarank's semantics).

>>> spec = StateSpec("counter", ttl=1000)
>>> record = apply_write(spec, None, 1, ts=10)
>>> record = apply_write(spec, record, 2, ts=20)
>>> visible(spec, record, now=30)
3
>>> visible(spec, record, now=2000) is None  # expired: last write + ttl < now
True
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["scalar", "counter", "periodic", "list", "map"]
Record = tuple


@dataclass(frozen=True, slots=True)
class StateSpec:
    """How one named state reduces writes: its kind, TTL and refresh (ms), and kind parameters.

    ``bucket``/``keep``: periodic counter bucket size and how many buckets to keep.
    ``count``/``duration``: bounded list capacity and maximum entry age.
    """

    kind: Kind
    ttl: int = 90 * 86_400_000
    refresh: int = 0
    bucket: int = 0
    keep: int = 0
    count: int = 0
    duration: int = 0


def reduce(spec: StateSpec, state: Any, value: Any, ts: int) -> Any:
    """The new state after one write; ``state`` is None when the key has no live state."""
    kind = spec.kind
    if kind == "scalar":
        return value
    if kind == "counter":
        return (state or 0) + value
    if kind == "periodic":
        return _periodic_add(spec, state or {}, value, ts)
    if kind == "list":
        return _list_append(spec, state or (), value, ts)
    if kind == "map":
        key, item = value
        return {**(state or {}), key: item}
    raise ValueError(f"unknown state kind {kind!r}")


def _periodic_add(spec: StateSpec, buckets: dict, n: float, ts: int) -> dict:
    start = ts - ts % spec.bucket
    if start in buckets:
        out = dict(buckets)
        out[start] += n
        return out
    oldest = start - spec.keep * spec.bucket
    out = {b: c for b, c in buckets.items() if b >= oldest}
    out[start] = n
    return out


def _list_append(spec: StateSpec, entries: tuple, value: Any, ts: int) -> tuple:
    oldest = ts - spec.duration if spec.duration else None
    kept = [e for e in entries if oldest is None or e[0] >= oldest][: max(spec.count - 1, 0)]
    return ((ts, value), *kept)


def apply_write(spec: StateSpec, record: Record | None, value: Any, ts: int) -> Record:
    """Apply one write to a stored record, honouring TTL (expired state restarts) and refresh."""
    live = record is not None and ts - record[1] <= spec.ttl
    state = reduce(spec, record[0] if live else None, value, ts)
    if not spec.refresh:
        return (state, ts)
    if live and len(record) == 4 and ts - record[3] < spec.refresh:
        return (state, ts, record[2], record[3])
    return (state, ts, state, ts)


def additive(spec: StateSpec) -> bool:
    """Whether writes in a row to one record of this spec can be applied as one (``apply_writes``)."""
    return spec.kind in ("counter", "periodic") and not spec.refresh


def combines(spec: StateSpec, total: Any, first: int, last: int, value: Any, ts: int) -> bool:
    """Whether a write (``value`` at ``ts``) can join additive writes summing to ``total`` between ``first`` and
    ``last``: integers (sums exact and of the same type in any order), in time order, all within the TTL of
    ``first`` (each write sees the record live) and, periodic, in ``first``'s bucket.

    >>> spec = StateSpec("periodic", bucket=10, keep=3)
    >>> combines(spec, 2, 100, 104, 1, 109), combines(spec, 2, 100, 104, 1, 110), combines(spec, 2, 100, 104, 1.0, 105)
    (True, False, False)
    """
    if type(value) is not int or type(total) is not int or ts < last or ts - first > spec.ttl:
        return False
    return spec.kind != "periodic" or ts - ts % spec.bucket == first - first % spec.bucket


def apply_writes(spec: StateSpec, record: Record | None, total: Any, first: int, last: int) -> Record:
    """``apply_write`` of additive writes in a row (``combines``) at once: their sum applied at ``first``,
    stamped ``last``; the same record as applying them one by one.

    >>> spec = StateSpec("periodic", bucket=10, keep=3)
    >>> one_by_one = apply_write(spec, apply_write(spec, apply_write(spec, None, 1, 100), 1, 103), 2, 107)
    >>> apply_writes(spec, None, 4, 100, 107) == one_by_one
    True
    """
    return (apply_write(spec, record, total, first)[0], last)


def visible(spec: StateSpec, record: Record | None, now: int) -> Any:
    """The state readers see at time ``now``: None if absent or expired."""
    if record is None or now - record[1] > spec.ttl:
        return None
    return record[0] if len(record) == 2 else record[2]


def periodic_sums(buckets: dict | None, bucket: int, periods: tuple[int, ...], now: int) -> list[float]:
    """Per period p: the sum of the p+1 buckets ending with the one holding ``now`` (Metarank's convention).

    Unlike Metarank 0.4, windows are anchored at the reading time, so counts decay when activity stops.
    """
    if not buckets:
        return [0.0] * len(periods)
    current = now - now % bucket
    starts = list(buckets)
    if starts != sorted(starts):
        windows = [current - p * bucket for p in periods]
        return [float(sum([c for b, c in buckets.items() if start <= b <= current])) for start in windows]
    counts = list(buckets.values())  # buckets in time order: each window is a slice, summed in the same order
    end = bisect_right(starts, current)
    return [float(sum(counts[bisect_left(starts, current - p * bucket) : end])) for p in periods]


def list_values(entries: tuple | None, duration: int, now: int) -> list[Any]:
    """Bounded-list values newest first, dropping entries older than ``duration`` at ``now``."""
    if not entries:
        return []
    if not duration:
        return [v for _, v in entries]
    oldest = now - duration
    return [v for ts, v in entries if ts >= oldest]


MEMO_LIMIT = 200_000
"""Entries a per-feature memo holds before it starts over (it pins the state objects it was computed from)."""


class PeriodicSums:
    """``periodic_sums`` with a memo per key: the same state object read in the same bucket gives the
    same sums, and item counters are read by many rankings between two writes. A pure accelerator: the
    memo holds the state object it was computed from and compares identity."""

    __slots__ = ("bucket", "memo", "periods")

    def __init__(self, bucket: int, periods: tuple[int, ...]) -> None:
        self.bucket, self.periods, self.memo = bucket, periods, {}

    def many(self, keys: list, states: list, now: int) -> list[list[float]]:
        """``periodic_sums`` of each key's state at ``now``, memoised."""
        if len(self.memo) > MEMO_LIMIT:
            self.memo.clear()
        bucket, periods, memo = self.bucket, self.periods, self.memo
        current = now - now % bucket
        out = []
        for key, buckets in zip(keys, states, strict=True):
            hit = memo.get(key)
            if hit is None or hit[0] is not buckets or hit[1] != current:
                hit = memo[key] = (buckets, current, periodic_sums(buckets, bucket, periods, now))
            out.append(hit[2])
        return out
