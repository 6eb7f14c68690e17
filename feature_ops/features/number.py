"""``number``: a numeric field of an item, user, ranking or interaction event, as the latest value.

```yaml
- name: popularity
  type: number
  source: item.popularity   # or `field:` (Metarank 0.7 spelling)
  scope: item               # item | user | session | global | ranking; default from the source event
  ttl: 60d
  refresh: 0s
```
Missing values are NaN. Fixes Metarank 0.4.1, which read user/session-scoped values by item id.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, model_validator

from feature_ops.features.base import (
    NAN,
    Feature,
    FeatureConfig,
    RankingContext,
    check_scope,
    field_columns,
    natural_scope,
    scope_id,
    source_value,
)
from feature_ops.types import FieldRefType


class FieldFeatureConfig(FeatureConfig):
    """Shared by features that keep the latest value of one source field."""

    source: FieldRefType = Field(validation_alias=AliasChoices("source", "field"))
    scope: Literal["global", "tenant", "item", "user", "session", "ranking"] | None = None

    @model_validator(mode="after")
    def _scope_fits_source(self):
        check_scope(self.name, self.effective_scope, self.source)
        return self

    @property
    def effective_scope(self) -> str:
        return self.scope or natural_scope(self.source)


class FieldFeature(Feature):
    """Stores ``convert(field value)`` per scope id; subclasses define convert and the column values."""

    config: FieldFeatureConfig

    def __init__(self, config: FieldFeatureConfig) -> None:
        super().__init__(config)
        self.scope = config.effective_scope
        self.source = config.source

    def convert(self, value):
        raise NotImplementedError

    def states(self):
        return {} if self.scope == "ranking" else {self.name: self.spec("scalar")}

    def write_kinds(self):
        return frozenset() if self.scope == "ranking" else frozenset({self.source.event})

    def writes(self, event):
        if self.scope == "ranking":
            return ()
        value = source_value(self.source, event)
        if value is None:
            return ()
        converted = self.convert(value)
        sid = scope_id(self.scope, event)
        return () if converted is None or sid is None else ((self.name, sid, converted),)

    def key_scopes(self):
        return {} if self.scope == "ranking" else {self.name: self.scope}

    def raw_values(self, ctx: RankingContext) -> list:
        return field_columns(self, self.scope, self.source, ctx, self.convert)


class NumberConfig(FieldFeatureConfig):
    type: Literal["number"]


class NumberFeature(FieldFeature):
    """The latest numeric value; NaN when missing or when the field is not a number."""

    type_name = "number"

    def convert(self, value):
        return value if isinstance(value, float) else None

    def values(self, ctx):
        return [[NAN if v is None else v for v in self.raw_values(ctx)]]
