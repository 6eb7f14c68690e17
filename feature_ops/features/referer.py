"""``referer``: the mediums (search, social, email, ...) a visitor arrived from, as a multi-hot vector.

```yaml
- name: referer_medium
  type: referer
  source: ranking.referer       # user.<f> | ranking.<f> | interaction:<type>.<f>
  scope: session                # user | session (default session)
  internalDomains: [example.com]
```
Every matching event adds its referer's medium to the scope's set. Columns ``<name>_<medium>`` in the fixed
order unknown, search, internal, social, email, paid (Metarank 0.4.1 followed its map's insertion order).
Missing state gives all zeros.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from feature_ops.features.base import (
    Feature,
    FeatureConfig,
    check_scope,
    require_source,
    scope_id,
    source_value,
)
from feature_ops.parsers.referer import MEDIUMS, referer_medium
from feature_ops.types import FieldRefType


class RefererConfig(FeatureConfig):
    type: Literal["referer"]
    source: FieldRefType
    scope: Literal["user", "session"] = "session"
    internalDomains: list[str] = Field(default_factory=list)

    @field_validator("source")
    @classmethod
    def _visitor_source(cls, ref):
        return require_source("referer", ref, "user", "ranking", "interaction")

    @model_validator(mode="after")
    def _scope_fits_source(self):
        check_scope(self.name, self.scope, self.source)
        return self


class RefererFeature(Feature):
    """A map state medium -> True per user or session."""

    type_name = "referer"
    config: RefererConfig

    def __init__(self, config: RefererConfig) -> None:
        super().__init__(config)
        self.scope = config.scope
        self.internal = tuple(config.internalDomains)
        self._columns = [f"{self.name}_{medium}" for medium in MEDIUMS]

    def columns(self):
        return list(self._columns)

    def states(self):
        return {self.name: self.spec("map")}

    def write_kinds(self):
        return frozenset({self.config.source.event})

    def writes(self, event):
        url = source_value(self.config.source, event)
        if not isinstance(url, str):
            return ()
        sid = scope_id(self.scope, event)
        return () if sid is None else ((self.name, sid, (referer_medium(url, self.internal), True)),)

    def key_scopes(self):
        return {self.name: self.scope}

    def values(self, ctx):
        n = len(ctx.request.items)
        sid = getattr(ctx.request, self.scope)
        seen = (ctx.reader.get(self.name, sid) if sid is not None else None) or {}
        return [[1.0] * n if medium in seen else [0.0] * n for medium in MEDIUMS]
