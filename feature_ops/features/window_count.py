"""``window_count``: how many interactions of one type happened in a scope over sliding periods.

```yaml
- name: day_item_click_count
  type: window_count
  interaction: click
  bucket: 24h           # bucket size
  periods: [1, 7]       # one column per period: day_item_click_count_1, day_item_click_count_7
  scope: item           # item | user | session | global
```
A period p sums the p+1 newest buckets (Metarank's convention), counted back from the ranking time.
Missing counts are 0 (a count of nothing), not NaN.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from feature_ops.features.base import Feature, FeatureConfig, request_keys, scope_id
from feature_ops.state import PeriodicSums
from feature_ops.types import Duration


class WindowCountConfig(FeatureConfig):
    type: Literal["window_count"]
    interaction: str
    bucket: Duration = 86_400_000
    periods: list[int] = Field(min_length=1)
    scope: Literal["item", "user", "session", "global", "tenant"] = "item"

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, bucket: int) -> int:
        if bucket <= 0:
            raise ValueError("bucket must be a positive duration, e.g. 1h or 24h")
        return bucket

    @field_validator("periods")
    @classmethod
    def _periods(cls, periods: list[int]) -> list[int]:
        if any(p < 0 for p in periods):
            raise ValueError("periods must be non-negative bucket counts")
        return periods


class WindowCountFeature(Feature):
    """A periodic counter per scope id, incremented by each interaction of the configured type."""

    type_name = "window_count"
    config: WindowCountConfig

    def __init__(self, config: WindowCountConfig) -> None:
        super().__init__(config)
        self.periods = tuple(config.periods)
        self.scope = config.scope
        self._columns = [f"{self.name}_{p}" for p in self.periods]
        self._sums = PeriodicSums(config.bucket, tuple(self.periods))

    def columns(self):
        return list(self._columns)

    def states(self):
        return {self.name: self.spec("periodic", bucket=self.config.bucket, keep=max(self.periods) + 1)}

    def write_kinds(self):
        return frozenset({"interaction"})

    def interaction_types(self):
        return frozenset({self.config.interaction})

    def writes(self, event):
        if event.kind != "interaction" or event.type != self.config.interaction:
            return ()
        sid = scope_id(self.scope, event)
        return () if sid is None else ((self.name, sid, 1),)

    def keys(self, request):
        return request_keys(self.name, self.scope, request)

    def values(self, ctx):
        ids = ctx.ids(self.scope)
        rows = self._sums.many(ids, ctx.reader.get_many(self.name, ids), ctx.now)
        return [[row[i] for row in rows] for i in range(len(self.periods))]
