"""``diversity``: how much an item stands out from the top of the ranking in one item field.

```yaml
- name: price_diversity
  type: diversity
  source: item.price     # a number, string or string-list item field
  top: 20                # compare against the first 20 ranked items
```
Numbers: the item's value minus the median value of the first ``top`` ranked items. Strings and string
lists: the summed frequency of the item's values among the first ``top`` items' values, divided by the
number of values there. NaN when the item has no value (or nothing to compare with).
A per-item ``items[].fields`` value overrides the stored one.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from feature_ops.features.base import NAN, Feature, FeatureConfig, require_source
from feature_ops.types import FieldRefType


class DiversityConfig(FeatureConfig):
    type: Literal["diversity"]
    source: FieldRefType
    top: int = Field(20, gt=0)

    @field_validator("source")
    @classmethod
    def _item_source(cls, ref):
        return require_source("diversity", ref, "item")


class DiversityFeature(Feature):
    """A scalar per item id: the field as a float or a tuple of strings."""

    type_name = "diversity"
    config: DiversityConfig

    def __init__(self, config: DiversityConfig) -> None:
        super().__init__(config)
        self.field = config.source.field
        self.top = config.top

    def states(self):
        return {self.name: self.spec("scalar")}

    def write_kinds(self):
        return frozenset({"item"})

    def writes(self, event):
        if event.kind != "item" or self.field not in event.fields:
            return ()
        value = _convert(event.fields[self.field])
        return () if value is None else ((self.name, event.item, value),)

    def key_scopes(self):
        return {self.name: "item"}

    def values(self, ctx):
        get, name, field = ctx.reader.get, self.name, self.field
        values = []
        for item in ctx.request.items:
            own = item.fields.get(field) if item.fields else None
            values.append(_convert(own) if own is not None else get(name, item.id))
        median = _median([v for v in values[: self.top] if isinstance(v, float)])
        counts, total = _counts(values[: self.top])
        column = []
        for v in values:
            if isinstance(v, float):
                column.append(v - median)
            elif isinstance(v, tuple) and total:
                column.append(sum(counts.get(s, 0) for s in v) / total)
            else:
                column.append(NAN)
        return [column]


def _convert(value) -> float | tuple[str, ...] | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float | str):
        return value if isinstance(value, float) else (value,)
    if isinstance(value, tuple) and value and all(isinstance(v, str) for v in value):
        return value
    return None


def _median(numbers: list[float]) -> float:
    if not numbers:
        return NAN
    numbers.sort()
    mid = len(numbers) // 2
    return numbers[mid] if len(numbers) % 2 else (numbers[mid - 1] + numbers[mid]) / 2


def _counts(values: list) -> tuple[dict[str, int], int]:
    counts: dict[str, int] = {}
    total = 0
    for v in values:
        if isinstance(v, tuple):
            for s in v:
                counts[s] = counts.get(s, 0) + 1
            total += len(v)
    return counts, total
