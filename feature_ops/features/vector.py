"""``vector``: a list-of-numbers field reduced to a few numbers, e.g. an embedding's stats or its head.

```yaml
- name: price_history
  type: vector
  source: item.prices       # or `field:`; a single number counts as a 1-element list
  scope: item               # item | user | session | global | ranking; default from the source event
  reduce: [min, max, size, avg, vector3]   # default [min, max, size, avg]
```
Reducers: ``first``, ``last``, ``min``, ``max``, ``avg``, ``sum``, ``size``, ``euclidean_distance`` (the L2
norm) and ``vectorN`` (the first N values, padded with NaN). Columns are ``<name>_<reducer>``
(``price_history_min``, ...) and ``<name>_0`` .. ``<name>_<N-1>`` for ``vectorN``. Metarank's ``random``
reducer is not supported: it made training rows unreproducible.

The raw list is stored (as a tuple of floats, so it encodes losslessly) and reduced when ranking. A missing
field gives NaN in every column except ``size``, which is 0.0; an empty list gives size 0.0, sum 0.0 and NaN
elsewhere. A sum, mean or norm beyond the float range (values near 1e308) is NaN too.
"""

from __future__ import annotations

import math
import re
from typing import Literal

from pydantic import Field, field_validator

from feature_ops.features.base import NAN
from feature_ops.features.number import FieldFeature, FieldFeatureConfig

_VECTOR = re.compile(r"vector([1-9][0-9]*)")


def _first(v):
    return v[0] if v else NAN


def _last(v):
    return v[-1] if v else NAN


def _min(v):
    return min(v) if v else NAN


def _max(v):
    return max(v) if v else NAN


def _fsum(values) -> float:
    """``math.fsum``, or ±inf where it raises on overflow (the feature set serves inf as missing)."""
    values = list(values)
    try:
        return math.fsum(values)
    except OverflowError:
        return sum(values)


def _avg(v):
    return _fsum(v) / len(v) if v else NAN


def _sum(v):
    return _fsum(v)


def _size(v):
    return float(len(v))


def _l2(v):
    return math.sqrt(_fsum(x * x for x in v)) if v else NAN


REDUCERS = {
    "first": _first,
    "last": _last,
    "min": _min,
    "max": _max,
    "avg": _avg,
    "sum": _sum,
    "size": _size,
    "euclidean_distance": _l2,
}


class VectorConfig(FieldFeatureConfig):
    type: Literal["vector"]
    reduce: list[str] = Field(default_factory=lambda: ["min", "max", "size", "avg"])

    @field_validator("reduce")
    @classmethod
    def _reduce(cls, reduce: list[str]) -> list[str]:
        if not reduce:
            raise ValueError("reduce must list at least one reducer")
        for r in reduce:
            if r == "random":
                raise ValueError("reducer 'random' is not supported: its values could not be reproduced")
            if r not in REDUCERS and not _VECTOR.fullmatch(r):
                raise ValueError(
                    f"unknown reducer '{r}', expected one of {', '.join(REDUCERS)} or vectorN (e.g. vector4)"
                )
        if len(set(reduce)) < len(reduce):
            raise ValueError(f"reduce lists a reducer twice: {reduce}")
        if sum(1 for r in reduce if _VECTOR.fullmatch(r)) > 1:
            raise ValueError(f"reduce can hold only one vectorN reducer, got {reduce}")
        return reduce


class VectorFeature(FieldFeature):
    """Stores the number list per scope id; reduces it per ranked item."""

    type_name = "vector"
    config: VectorConfig

    def __init__(self, config: VectorConfig) -> None:
        super().__init__(config)
        self.names: list[str] = []
        self.steps: list[tuple[str, object]] = []
        for r in config.reduce:
            m = _VECTOR.fullmatch(r)
            if m:
                n = int(m.group(1))
                self.steps.append(("head", n))
                self.names += [f"{self.name}_{i}" for i in range(n)]
            else:
                self.steps.append(("fn", REDUCERS[r]))
                self.names.append(f"{self.name}_{r}")
        self.missing = tuple(0.0 if c == f"{self.name}_size" else NAN for c in self.names)

    def columns(self):
        return list(self.names)

    def convert(self, value):
        if isinstance(value, float):
            return (value,)
        if isinstance(value, tuple) and all(isinstance(x, float) for x in value):
            return value
        return None

    def reduce(self, vector: tuple) -> tuple:
        out: list[float] = []
        for kind, arg in self.steps:
            if kind == "fn":
                out.append(arg(vector))  # type: ignore[operator]
            else:
                head = list(vector[:arg])  # type: ignore[misc]
                out += head + [NAN] * (arg - len(head))  # type: ignore[operator]
        return tuple(out)

    def values(self, ctx):
        missing, rows = self.missing, []
        last = reduced = None
        for v in self.raw_values(ctx):
            if v is None:
                rows.append(missing)
                continue
            if v is not last:
                last, reduced = v, self.reduce(v)
            rows.append(reduced)
        return [[row[j] for row in rows] for j in range(len(missing))]
