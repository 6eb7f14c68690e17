"""State records as JSON-compatible data and compact bytes (versioned; never pickle).

A record ``(state, ts[, shown, shown_ts])`` becomes ``[state, ts[, shown, shown_ts]]`` with each state
encoded by its kind: periodic counters as ``[first bucket start, offset, count, offset, count, ...]`` with
offsets in buckets from the first (4x smaller than start/count pairs), bounded lists as ``[[ts, value], ...]``,
maps as objects, string/number lists as arrays (NaN inside them as null). ``encode``/``decode`` wrap that as versioned JSON bytes.

>>> from feature_ops.state import StateSpec
>>> spec = StateSpec("periodic", bucket=10, keep=3)
>>> decode(spec, encode(spec, ({10: 1, 20: 2}, 25)))
({10: 1, 20: 2}, 25)
"""

from __future__ import annotations

import math
from typing import Any

import orjson

from feature_ops.state import StateSpec

VERSION = b"\x02"


def state_to_json(spec: StateSpec, state: Any) -> Any:
    kind = spec.kind
    if kind == "periodic":
        if not state:
            return []
        first = min(state)
        flat = [first]
        for start, count in sorted(state.items()):
            flat += ((start - first) // spec.bucket, count)
        return flat
    if kind == "list":
        return [[ts, _plain(v)] for ts, v in state]
    if kind == "map":
        return {str(k): _plain(v) for k, v in state.items()}
    return _plain(state)


def state_from_json(spec: StateSpec, data: Any) -> Any:
    kind = spec.kind
    if kind == "periodic":
        if not data:
            return {}
        first, bucket = data[0], spec.bucket
        return {first + data[i] * bucket: data[i + 1] for i in range(1, len(data), 2)}
    if kind == "list":
        return tuple((ts, _tuples(v)) for ts, v in data)
    if kind == "map":
        return {k: _tuples(v) for k, v in data.items()}
    return _tuples(data)


def record_to_json(spec: StateSpec, record: tuple) -> list:
    out = [state_to_json(spec, record[0]), record[1]]
    if len(record) == 4:
        out += [state_to_json(spec, record[2]), record[3]]
    return out


def record_from_json(spec: StateSpec, data: list) -> tuple:
    if len(data) == 4:
        return (state_from_json(spec, data[0]), data[1], state_from_json(spec, data[2]), data[3])
    return (state_from_json(spec, data[0]), data[1])


def encode(spec: StateSpec, record: tuple) -> bytes:
    return VERSION + orjson.dumps(record_to_json(spec, record))


def decode(spec: StateSpec, blob: bytes) -> tuple:
    if blob[:1] != VERSION:
        raise ValueError(f"unsupported state encoding version {blob[:1]!r}")
    return record_from_json(spec, orjson.loads(blob[1:]))


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _tuples(value: Any) -> Any:
    """JSON arrays back to tuples; JSON has no NaN, so a null inside an array is NaN."""
    if isinstance(value, list):
        return tuple(math.nan if v is None else v for v in value)
    return value
