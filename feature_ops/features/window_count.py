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

from feature_ops.features.base import PeriodsConfig
from feature_ops.features.interaction_count import InteractionCounter
from feature_ops.state import PeriodicSums


class WindowCountConfig(PeriodsConfig):
    type: Literal["window_count"]
    interaction: str
    scope: Literal["item", "user", "session", "global", "tenant"] = "item"


class WindowCountFeature(InteractionCounter):
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

    def values(self, ctx):
        ids = ctx.ids(self.scope)
        rows = self._sums.many(ids, ctx.reader.get_many(self.name, ids), ctx.now)
        return [[row[i] for row in rows] for i in range(len(self.periods))]
