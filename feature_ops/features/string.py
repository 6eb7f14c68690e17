"""``string``: a categorical field (a string or a list of strings), one-hot or index encoded.

```yaml
- name: genre
  type: string
  source: item.genres       # or `field:`
  scope: item               # item | user | session | global | ranking; default from the source event
  values: [drama, comedy, action]
  encode: onehot            # onehot | index (default index, as in Metarank 0.4.1)
```
``onehot`` gives one column per value, ``genre_drama``, ``genre_comedy``, ``genre_action``: 1.0 for every
value the field holds (multi-hot for lists), unknown values ignored, all 0.0 when missing.
``index`` gives one categorical column ``genre``: the 1-based position in ``values`` of the field's first
value, 0.0 when missing or unknown. A per-item field of the same name in the request overrides the state.
"""

from __future__ import annotations

from typing import Literal

from pydantic import field_validator

from feature_ops.features.number import FieldFeature, FieldFeatureConfig


class StringConfig(FieldFeatureConfig):
    type: Literal["string"]
    values: list[str]
    encode: Literal["index", "onehot"] = "index"

    @field_validator("values")
    @classmethod
    def _values(cls, values: list[str]) -> list[str]:
        if not values:
            raise ValueError("values must list at least one possible value")
        seen: set[str] = set()
        for value in values:
            if value in seen:
                raise ValueError(f"values must be unique, '{value}' is listed twice")
            seen.add(value)
        return values


class StringFeature(FieldFeature):
    """Stores the string, or the tuple of strings, per scope id."""

    type_name = "string"
    config: StringConfig

    def __init__(self, config: StringConfig) -> None:
        super().__init__(config)
        self.onehot = config.encode == "onehot"
        self.categorical = not self.onehot  # type: ignore[misc]
        self.index = {v: i for i, v in enumerate(config.values)}

    def columns(self):
        if self.onehot:
            return [f"{self.name}_{v}" for v in self.config.values]
        return [self.name]

    def convert(self, value):
        if isinstance(value, str):
            return value
        if isinstance(value, tuple) and all(isinstance(v, str) for v in value):
            return value
        return None

    def values(self, ctx):
        raw = self.raw_values(ctx)
        index = self.index
        if not self.onehot:
            return [[_first_index(index, v) for v in raw]]
        columns = [[0.0] * len(raw) for _ in index]
        for row, value in enumerate(raw):
            if value is None:
                continue
            for v in (value,) if isinstance(value, str) else value:
                col = index.get(v)
                if col is not None:
                    columns[col][row] = 1.0
        return columns


def _first_index(index: dict[str, int], value) -> float:
    if value is None:
        return 0.0
    if not isinstance(value, str):
        if not value:
            return 0.0
        value = value[0]
    col = index.get(value)
    return 0.0 if col is None else col + 1.0
