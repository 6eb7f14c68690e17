"""``rate``: the ratio of two interaction counts over sliding periods, e.g. click-through rate.

```yaml
- name: ctr
  type: rate
  top: click            # numerator interaction type
  bottom: impression    # denominator interaction type
  bucket: 24h
  periods: [7, 30]      # one column per period: ctr_7, ctr_30
  scope: item           # item | global | item.<field> (per value of an item field, e.g. item.genre)
  normalize: {weight: 20, scope: global}   # optional prior: (top + weight * prior) / (bottom + weight)
  shownOnly: true       # count a top interaction only if it joined a ranking that showed the item
```
A period p sums the p+1 newest buckets (Metarank's convention), counted back from the ranking time.
Without ``normalize`` a zero denominator gives NaN (missing), not Metarank 0.4.1's division by zero.
With ``scope: item.<field>`` numbers count as their text (``42``, ``"42"`` and ``[42]`` are one value), and
the item's field values never expire (like the item field store clicks are joined with; ``ttl`` applies to
the counters): ``base.FIELD_COPY_TTL``.

``normalize`` smooths toward a prior rate with ``weight`` pseudo-impressions (a Beta prior): the prior is
the rate over every item (``scope: global``) or over the items sharing the item's field value
(``scope: item.<field>``, falling back to the global rate where the field's counts are empty), in the same
period. The denominator is ``bottom + weight > 0``: it never divides by zero. Before anything was counted
at all the prior is unknown and the value is ``top / bottom``, NaN when ``bottom`` is 0. (Metarank 0.4.1
computed ``(weight + top) / (weight * globalBottom / globalTop + bottom)``: weight counted in clicks, and
a zero division with clicks but no impressions yet.)

``shownOnly`` counts a ``top`` interaction only when the engine joined it to a ranking (its session alive)
that lists the item, once per ranking, item and type. Every such item got a synthetic impression in that
ranking (cascade: the clicked item is at or above the deepest click; ``syntheticImpression.mode: all``:
every ranked item), so with ``bottom`` the synthetic impression the rate is in [0, 1]. Clicks without a
ranking in the log, repeated clicks and clicks that arrive before their ranking are not counted.

Worked example, ``weight: 20``, one period. Three rankings each show items a and b (synthetic impressions
on both: mode ``all``); a is clicked twice, once with a ranking and once from a page without one; nothing
else is clicked. Then a: top 1 (``shownOnly``; 2 without), bottom 3; b: top 0, bottom 3. The global
prior is 1 / 6. The value of a is ``(1 + 20 / 6) / (3 + 20) = 0.188``, of b ``(0 + 20 / 6) / 23 = 0.145``,
of an item c never shown ``(0 + 20 / 6) / 20 = 1 / 6``: the prior itself. Unsmoothed, a would read
``1 / 3`` (or ``2 / 3`` counting every click) and c NaN.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from feature_ops.features.base import GLOBAL_ID, NAN, Feature, PeriodsConfig, RankingContext, field_strings
from feature_ops.state import PeriodicSums, periodic_sums
from feature_ops.types import STRICT


def _field_scope(scope: str) -> str | None:
    """The field of an ``item.<field>`` scope, else None."""
    return scope[5:] if scope.startswith("item.") and len(scope) > 5 else None


class Normalize(BaseModel):
    """Smoothing toward a prior rate with ``weight`` pseudo-impressions; ``scope``: global or item.<field>."""

    model_config = STRICT
    weight: float = Field(gt=0)
    scope: str = "global"

    @field_validator("scope")
    @classmethod
    def _scope(cls, scope: str) -> str:
        if scope == "global" or _field_scope(scope):
            return scope
        raise ValueError(f"normalize scope must be global or item.<field>, got '{scope}'")


class RateConfig(PeriodsConfig):
    type: Literal["rate"]
    top: str
    bottom: str
    scope: str = "item"
    normalize: Normalize | None = None
    shownOnly: bool = False

    @field_validator("scope")
    @classmethod
    def _scope(cls, scope: str) -> str:
        if scope in ("item", "global", "tenant") or _field_scope(scope):
            return scope
        raise ValueError(f"rate scope must be item, global or item.<field>, got '{scope}'")


def smoothed(top: float, bottom: float, prior: float, weight: float) -> float:
    """``(top + weight * prior) / (bottom + weight)``; with an unknown (NaN) prior, ``top / bottom``.

    >>> round(smoothed(1, 3, 1 / 6, 20), 4), smoothed(5, 0, 0.0, 20), smoothed(2, 0, math.nan, 20)
    (0.1884, 0.25, nan)
    """
    if math.isnan(prior):
        return top / bottom if bottom else NAN
    return (top + weight * prior) / (bottom + weight)


class RateFeature(Feature):
    """Two periodic counters per scope id; with ``normalize`` two more at global scope (and two per value
    of the prior's field, with ``normalize.scope: item.<field>``)."""

    type_name = "rate"
    config: RateConfig

    def __init__(self, config: RateConfig) -> None:
        super().__init__(config)
        self.top, self.bottom = f"{self.name}_{config.top}", f"{self.name}_{config.bottom}"
        self.periods = tuple(config.periods)
        self.field = _field_scope(config.scope)
        self.prior_field = _field_scope(config.normalize.scope) if config.normalize else None
        self.field_state = {f: f"{self.name}_field" if f == self.field else f"{self.name}_prior_field"
                            for f in (self.field, self.prior_field) if f}  # fmt: skip
        self.norm = {state: f"{state}_norm" for state in (self.top, self.bottom)}
        self.prior = {state: f"{state}_prior" for state in (self.top, self.bottom)}
        counters = [self.top, self.bottom]
        if config.normalize:
            counters += self.norm.values()
        if self.prior_field:
            counters += self.prior.values()
        self._sums = {state: PeriodicSums(config.bucket, self.periods) for state in counters}

    def columns(self):
        return [f"{self.name}_{p}" for p in self.periods]

    def states(self):
        spec = self.spec("periodic", bucket=self.config.bucket, keep=max(self.periods) + 1)
        out = dict.fromkeys(self._sums, spec)
        out.update(dict.fromkeys(self.field_state.values(), self.field_copy_spec()))
        return out

    def write_kinds(self):
        return frozenset({"interaction", "item"} if self.field_state else {"interaction"})

    def interaction_types(self):
        return frozenset({self.config.top, self.config.bottom})

    def item_fields(self):
        return frozenset(self.field_state)

    def writes(self, event):
        if event.kind == "item":
            return tuple((state, event.item, field_strings(event.fields[f]))
                         for f, state in self.field_state.items() if f in event.fields)  # fmt: skip
        if event.kind != "interaction" or event.type not in (self.config.top, self.config.bottom):
            return ()
        top = event.type == self.config.top
        if top and self.config.shownOnly and not event.joined:
            return ()
        state = self.top if top else self.bottom
        out = [(state, sid, 1) for sid in self._ids(event)]
        if self.config.normalize:
            out.append((self.norm[state], GLOBAL_ID, 1))
        if self.prior_field:
            out += [(self.prior[state], v, 1) for v in field_strings(event.item_fields.get(self.prior_field))]
        return out

    def _ids(self, event) -> tuple[str, ...]:
        if self.field:
            return field_strings(event.item_fields.get(self.field))
        return (GLOBAL_ID,) if self.config.scope in ("global", "tenant") else (event.item,)

    def _field_ids(self, ctx: RankingContext, item, field: str) -> tuple[str, ...]:
        own = item.fields.get(field)
        return field_strings(own) if own is not None else (ctx.reader.get(self.field_state[field], item.id) or ())

    def key_scopes(self):
        out = dict.fromkeys(self.field_state.values(), "item")
        if not self.field:
            out.update(dict.fromkeys((self.top, self.bottom), self.config.scope))
        if self.config.normalize:
            out.update(dict.fromkeys(self.norm.values(), "global"))
        return out

    def dependent_states(self):
        return frozenset(self.field_state.values())

    def dependent_keys(self, ctx):
        for field, (top, bottom) in self._by_field().items():
            for item in ctx.request.items:
                for sid in self._field_ids(ctx, item, field):
                    yield top, sid
                    yield bottom, sid

    def _by_field(self) -> dict[str, tuple[str, str]]:
        out = {}
        if self.field:
            out[self.field] = (self.top, self.bottom)
        if self.prior_field:
            out[self.prior_field] = (self.prior[self.top], self.prior[self.bottom])
        return out

    def values(self, ctx):
        if self.field:
            tops, bottoms = self._field_counts(ctx, self.field, self.top, self.bottom)
        else:
            flat = ctx.ids(self.config.scope)
            tops = self._sums[self.top].many(flat, ctx.reader.get_many(self.top, flat), ctx.now)
            bottoms = self._sums[self.bottom].many(flat, ctx.reader.get_many(self.bottom, flat), ctx.now)
        periods = range(len(self.periods))
        if not self.config.normalize:
            return [[t[i] / b[i] if b[i] else NAN for t, b in zip(tops, bottoms, strict=True)] for i in periods]
        weight, priors = self.config.normalize.weight, self._priors(ctx)
        return [
            [smoothed(t[i], b[i], p[i], weight) for t, b, p in zip(tops, bottoms, priors, strict=True)]
            for i in periods
        ]

    def _priors(self, ctx: RankingContext) -> list[list[float]]:
        """Per item, per period: the prior rate (NaN where nothing was counted)."""
        reader, bucket = ctx.reader, self.config.bucket
        top = periodic_sums(reader.get(self.norm[self.top], GLOBAL_ID), bucket, self.periods, ctx.now)
        bottom = periodic_sums(reader.get(self.norm[self.bottom], GLOBAL_ID), bucket, self.periods, ctx.now)
        rates = [t / b if b else NAN for t, b in zip(top, bottom, strict=True)]
        if not self.prior_field:
            return [rates] * len(ctx.request.items)
        tops, bottoms = self._field_counts(ctx, self.prior_field, self.prior[self.top], self.prior[self.bottom])
        return [
            [t[i] / b[i] if b[i] else rates[i] for i in range(len(rates))]
            for t, b in zip(tops, bottoms, strict=True)
        ]

    def _field_counts(self, ctx: RankingContext, field: str, top: str, bottom: str):
        ids = [self._field_ids(ctx, item, field) for item in ctx.request.items]
        return [self._sum_ids(ctx, top, sids) for sids in ids], [self._sum_ids(ctx, bottom, sids) for sids in ids]

    def _sum_ids(self, ctx: RankingContext, state: str, ids: tuple[str, ...]) -> list[float]:
        sums = self._sums[state].many(ids, ctx.reader.get_many(state, ids), ctx.now)
        if len(sums) == 1:
            return sums[0]
        total = [0.0] * len(self.periods)
        for row in sums:
            for i, v in enumerate(row):
                total[i] += v
        return total
