"""``interaction_count``: how many interactions of one type happened in a scope.

```yaml
- name: visitor_click_count
  type: interaction_count
  interaction: click
  scope: session          # item | user | session | global
```
Missing counts are 0 (a count of nothing), not NaN.
"""

from __future__ import annotations

from typing import Literal

from feature_ops.features.base import Feature, FeatureConfig, scope_id


class InteractionCountConfig(FeatureConfig):
    type: Literal["interaction_count"]
    interaction: str
    scope: Literal["item", "user", "session", "global", "tenant"] = "item"


class InteractionCounter(Feature):
    """Counts interactions of ``config.interaction`` under one state per ``config.scope`` id."""

    def __init__(self, config) -> None:
        super().__init__(config)
        self.scope = config.scope

    def write_kinds(self):
        return frozenset({"interaction"})

    def interaction_types(self):
        return frozenset({self.config.interaction})

    def writes(self, event):
        if event.kind != "interaction" or event.type != self.config.interaction:
            return ()
        sid = scope_id(self.scope, event)
        return () if sid is None else ((self.name, sid, 1),)

    def key_scopes(self):
        return {self.name: self.scope}


class InteractionCountFeature(InteractionCounter):
    """A counter per scope id, incremented by each interaction of the configured type."""

    type_name = "interaction_count"
    config: InteractionCountConfig

    def states(self):
        return {self.name: self.spec("counter")}

    def values(self, ctx):
        counts = ctx.reader.get_many(self.name, ctx.ids(self.config.scope))
        return [[float(n) if n else 0.0 for n in counts]]
