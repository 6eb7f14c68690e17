"""``boolean``: a true/false field of an item, user, ranking or interaction event, as 1.0 / 0.0.

```yaml
- name: in_stock
  type: boolean
  source: item.in_stock     # or `field:` (Metarank 0.7 spelling)
  scope: item               # item | user | session | global | ranking; default from the source event
  ttl: 60d
  refresh: 0s
```
The latest value wins. Missing values (and non-boolean fields) are NaN, not Metarank 0.4.1's 0.0.
A per-item field of the same name in the ranking request overrides the stored value.
"""

from __future__ import annotations

from typing import Literal

from feature_ops.features.base import NAN
from feature_ops.features.number import FieldFeature, FieldFeatureConfig


class BooleanConfig(FieldFeatureConfig):
    type: Literal["boolean"]


class BooleanFeature(FieldFeature):
    """Stores 1.0 or 0.0 per scope id."""

    type_name = "boolean"

    def convert(self, value):
        if value is True:
            return 1.0
        return 0.0 if value is False else None

    def values(self, ctx):
        return [[NAN if v is None else v for v in self.raw_values(ctx)]]
