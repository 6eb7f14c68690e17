"""``local_time``: a calendar part of a datetime the caller sends with the ranking (the user's local time).

```yaml
- name: local_hour
  type: local_time
  source: ranking.localts   # only ranking fields; an ISO-8601 datetime with offset, e.g. 2021-03-01T18:30:00+02:00
  parse: time_of_day        # time_of_day | day_of_week | day_of_month | month_of_year | year | second
```
Values use the local time as written (the offset is not converted away): ``time_of_day`` is seconds since
midnight / 3600 (0 .. 23.99), ``day_of_week`` 1 .. 7 (Monday = 1), ``day_of_month`` 1 .. 31 (documented
but never implemented by Metarank), ``month_of_year`` 1 .. 12, ``year``, and ``second`` the epoch seconds.
Keeps no state; every item of a request gets the same value. A missing field, or one that is not a
datetime with a zone, gives NaN (Metarank 0.4.1: 0.0).
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Literal

from pydantic import AliasChoices, Field, field_validator

from feature_ops.events import parse_datetime
from feature_ops.features.base import NAN, Feature, FeatureConfig, require_source
from feature_ops.types import FieldRef, FieldRefType


def _time_of_day(t: datetime) -> float:
    return (t.hour * 3600 + t.minute * 60 + t.second) / 3600


PARSERS = {
    "time_of_day": _time_of_day,
    "day_of_week": lambda t: float(t.isoweekday()),
    "day_of_month": lambda t: float(t.day),
    "month_of_year": lambda t: float(t.month),
    "year": lambda t: float(t.year),
    "second": lambda t: float(math.floor(t.timestamp())),
}


class LocalTimeConfig(FeatureConfig):
    type: Literal["local_time"]
    source: FieldRefType = Field(validation_alias=AliasChoices("source", "field"))
    parse: Literal["time_of_day", "day_of_week", "day_of_month", "month_of_year", "year", "second"]

    @field_validator("source")
    @classmethod
    def _ranking_source(cls, source: FieldRef) -> FieldRef:
        return require_source("local_time", source, "ranking")


class LocalTimeFeature(Feature):
    """Parses the request field once per request."""

    type_name = "local_time"
    config: LocalTimeConfig

    def __init__(self, config: LocalTimeConfig) -> None:
        super().__init__(config)
        self.field = config.source.field
        self.part = PARSERS[config.parse]

    def values(self, ctx):
        raw = ctx.request.fields.get(self.field)
        parsed = parse_datetime(raw) if isinstance(raw, str) else None
        value = NAN if parsed is None else self.part(parsed)
        return [[value] * len(ctx.request.items)]
