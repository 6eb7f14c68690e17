"""``position``: the item's position in the request, for position-bias-aware training (PAL style).

```yaml
- name: position
  type: position
  position: 5      # the constant every item gets when ranking online
```
Offline (bootstrap, training rows) the value is the item's 0-based index in the ranking request, so the
model learns how much position alone explains clicks. Online (the API) every item gets the same constant,
which removes the position effect from the scores. Keeps no state.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from feature_ops.features.base import Feature, FeatureConfig


class PositionConfig(FeatureConfig):
    type: Literal["position"]
    position: int = Field(ge=0)


class PositionFeature(Feature):
    """Item index offline, the configured constant online."""

    type_name = "position"
    config: PositionConfig

    def __init__(self, config: PositionConfig) -> None:
        super().__init__(config)
        self.constant = float(config.position)

    def values(self, ctx):
        n = len(ctx.request.items)
        if ctx.online:
            return [[self.constant] * n]
        return [[float(i) for i in range(n)]]
