"""``relevancy``: the relevancy score the caller sent with each ranked item (``items[].relevancy``).

```yaml
- name: bm25
  type: relevancy
```
Keeps no state. Items sent without a relevancy get NaN (Metarank 0.4.1 used 0.0). Metarank 0.7 deprecates
this type in favour of a ``number`` feature over a per-item field; both work here.
"""

from __future__ import annotations

from typing import Literal

from feature_ops.features.base import NAN, Feature, FeatureConfig


class RelevancyConfig(FeatureConfig):
    type: Literal["relevancy"]


class RelevancyFeature(Feature):
    """Reads ``relevancy`` of every request item."""

    type_name = "relevancy"

    def values(self, ctx):
        return [[NAN if it.relevancy is None else it.relevancy for it in ctx.request.items]]
