"""``rate``: the ratio of two interaction counts over sliding periods, e.g. click-through rate.

```yaml
- name: ctr
  type: rate
  top: click            # numerator interaction type
  bottom: impression    # denominator interaction type
  bucket: 24h
  periods: [7, 30]      # one column per period: ctr_7, ctr_30
  scope: item           # item | global | item.<field> (per value of an item field, e.g. item.genre)
  normalize: {weight: 10}   # optional: (w + top) / (w * globalBottom / globalTop + bottom)
```
A period p sums the p+1 newest buckets (Metarank's convention), counted back from the ranking time.
A zero denominator gives NaN, not Metarank 0.4.1's division by zero.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from feature_ops.features.base import GLOBAL_ID, NAN, Feature, PeriodsConfig, RankingContext, field_strings
from feature_ops.state import PeriodicSums, periodic_sums
from feature_ops.types import STRICT


class Normalize(BaseModel):
    model_config = STRICT
    weight: float = Field(gt=0)


class RateConfig(PeriodsConfig):
    type: Literal["rate"]
    top: str
    bottom: str
    scope: str = "item"
    normalize: Normalize | None = None

    @field_validator("scope")
    @classmethod
    def _scope(cls, scope: str) -> str:
        if scope in ("item", "global", "tenant") or (scope.startswith("item.") and len(scope) > 5):
            return scope
        raise ValueError(f"rate scope must be item, global or item.<field>, got '{scope}'")


class RateFeature(Feature):
    """Two periodic counters per scope id; with ``normalize`` two more at global scope."""

    type_name = "rate"
    config: RateConfig

    def __init__(self, config: RateConfig) -> None:
        super().__init__(config)
        self.top, self.bottom = f"{self.name}_{config.top}", f"{self.name}_{config.bottom}"
        self.periods = tuple(config.periods)
        self.field = config.scope[5:] if config.scope.startswith("item.") else None
        self._sums = {state: PeriodicSums(config.bucket, self.periods) for state in (self.top, self.bottom)}

    def columns(self):
        return [f"{self.name}_{p}" for p in self.periods]

    def states(self):
        spec = self.spec("periodic", bucket=self.config.bucket, keep=max(self.periods) + 1)
        out = {self.top: spec, self.bottom: spec}
        if self.config.normalize:
            out.update({f"{self.top}_norm": spec, f"{self.bottom}_norm": spec})
        if self.field:
            out[f"{self.name}_field"] = self.spec("scalar")
        return out

    def write_kinds(self):
        return frozenset({"interaction", "item"} if self.field else {"interaction"})

    def interaction_types(self):
        return frozenset({self.config.top, self.config.bottom})

    def item_fields(self):
        return frozenset([self.field]) if self.field else frozenset()

    def writes(self, event):
        if self.field and event.kind == "item" and self.field in event.fields:
            return ((f"{self.name}_field", event.item, field_strings(event.fields[self.field])),)
        if event.kind != "interaction" or event.type not in (self.config.top, self.config.bottom):
            return ()
        state = self.top if event.type == self.config.top else self.bottom
        out = [(state, sid, 1) for sid in self._ids(event)]
        if self.config.normalize:
            out.append((f"{state}_norm", GLOBAL_ID, 1))
        return out

    def _ids(self, event) -> tuple[str, ...]:
        if self.field:
            return field_strings(event.item_fields.get(self.field))
        return (GLOBAL_ID,) if self.config.scope in ("global", "tenant") else (event.item,)

    def _read_ids(self, ctx: RankingContext, item) -> tuple[str, ...]:
        if self.field:
            own = item.fields.get(self.field)
            return field_strings(own) if own is not None else (ctx.reader.get(f"{self.name}_field", item.id) or ())
        return (GLOBAL_ID,) if self.config.scope in ("global", "tenant") else (item.id,)

    def key_scopes(self):
        if self.field:
            out = {f"{self.name}_field": "item"}
        else:
            out = dict.fromkeys((self.top, self.bottom), self.config.scope)
        if self.config.normalize:
            out.update(dict.fromkeys((f"{self.top}_norm", f"{self.bottom}_norm"), "global"))
        return out

    def dependent_keys(self, ctx):
        if self.field:
            for item in ctx.request.items:
                for sid in self._read_ids(ctx, item):
                    yield self.top, sid
                    yield self.bottom, sid

    def values(self, ctx):
        norm = self._norm_ratio(ctx) if self.config.normalize else None
        items = ctx.request.items
        if self.field:
            ids = [self._read_ids(ctx, item) for item in items]
            tops = [self._sum_ids(ctx, self.top, sids) for sids in ids]
            bottoms = [self._sum_ids(ctx, self.bottom, sids) for sids in ids]
        else:
            flat = ctx.ids(self.config.scope)
            tops = self._sums[self.top].many(flat, ctx.reader.get_many(self.top, flat), ctx.now)
            bottoms = self._sums[self.bottom].many(flat, ctx.reader.get_many(self.bottom, flat), ctx.now)
        if norm is None:
            return [
                [t[i] / b[i] if b[i] else NAN for t, b in zip(tops, bottoms, strict=True)]
                for i in range(len(self.periods))
            ]
        return [
            [self._ratio(t[i], b[i], norm[i]) for t, b in zip(tops, bottoms, strict=True)]
            for i in range(len(self.periods))
        ]

    def _sum_ids(self, ctx: RankingContext, state: str, ids: tuple[str, ...]) -> list[float]:
        sums = self._sums[state].many(ids, ctx.reader.get_many(state, ids), ctx.now)
        if len(sums) == 1:
            return sums[0]
        total = [0.0] * len(self.periods)
        for row in sums:
            for i, v in enumerate(row):
                total[i] += v
        return total

    def _norm_ratio(self, ctx: RankingContext) -> list[float]:
        """Per period: global bottom / global top, the prior's denominator scale."""
        reader, bucket = ctx.reader, self.config.bucket
        tops = periodic_sums(reader.get(f"{self.top}_norm", GLOBAL_ID), bucket, self.periods, ctx.now)
        bottoms = periodic_sums(reader.get(f"{self.bottom}_norm", GLOBAL_ID), bucket, self.periods, ctx.now)
        return [b / t if t else NAN for t, b in zip(tops, bottoms, strict=True)]

    def _ratio(self, top: float, bottom: float, norm: float | None) -> float:
        if norm is None:
            return top / bottom if bottom else NAN
        if math.isnan(norm):
            return NAN
        w = self.config.normalize.weight  # type: ignore[union-attr]
        return (w + top) / (w * norm + bottom)
