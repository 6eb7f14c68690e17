"""``item_age``: seconds since an item's timestamp field (e.g. its release or publish date).

```yaml
- name: release_date
  type: item_age
  source: item.release_date   # or `field:`; only item fields
  scope: item                 # optional, item is the only scope
```
The field may be an ISO-8601 datetime (``2021-03-01T00:00:00Z``; without a zone it is read as UTC), a
number of unix seconds, or a numeric string. The item's time is stored as epoch seconds; the value is
``request timestamp - item time`` in seconds, signed (negative for items dated in the future), where
Metarank took the absolute value. Missing, unparseable or non-finite fields (``"1e400"``, ``"inf"``) are
NaN. A per-item field of the same name in the ranking request overrides the stored time.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Literal

from pydantic import AliasChoices, Field, field_validator

from feature_ops.features.base import NAN, FeatureConfig, require_source
from feature_ops.features.number import FieldFeature
from feature_ops.types import FieldRef, FieldRefType


class ItemAgeConfig(FeatureConfig):
    type: Literal["item_age"]
    source: FieldRefType = Field(validation_alias=AliasChoices("source", "field"))
    scope: Literal["item"] = "item"

    @field_validator("source")
    @classmethod
    def _item_source(cls, source: FieldRef) -> FieldRef:
        return require_source("item_age", source, "item")

    @property
    def effective_scope(self) -> str:
        return "item"


def epoch_seconds(value) -> float | None:
    """Unix seconds of a number, a numeric string or an ISO-8601 datetime; None if it is none of them."""
    if isinstance(value, float):
        return value
    if not isinstance(value, str):
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


class ItemAgeFeature(FieldFeature):
    """Stores the item's epoch seconds; ages them against the request time."""

    type_name = "item_age"

    def convert(self, value):
        seconds = epoch_seconds(value)
        return seconds if seconds is not None and math.isfinite(seconds) else None

    def values(self, ctx):
        now = ctx.request.timestamp / 1000
        return [[NAN if v is None else now - v for v in self.raw_values(ctx)]]
