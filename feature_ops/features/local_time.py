"""``local_time``: a calendar part of a datetime the caller sends with the ranking (the user's local time).

```yaml
- name: local_hour
  type: local_time
  source: ranking.localts   # only ranking fields; an ISO-8601 datetime with offset, e.g. 2021-03-01T18:30:00+02:00
                            # or 2021-03-01T18:30:00+01:00[Europe/Berlin] (Java's zoned form)
  parse: time_of_day        # time_of_day | day_of_week | day_of_month | month_of_year | year | second
```
Values use the local time as written (the offset is not converted away; a region in brackets wins over
the offset, as in Java's ``ZonedDateTime``: the instant is converted to the region's time). ``time_of_day``
is seconds since midnight / 3600 (0 .. 23.99), ``day_of_week`` 1 .. 7 (Monday = 1), ``day_of_month``
1 .. 31 (documented but never implemented by Metarank), ``month_of_year`` 1 .. 12, ``year``, and
``second`` the epoch seconds.
Keeps no state; every item of a request gets the same value. A missing field, or one that is not a
datetime with a zone (an unknown region included), gives NaN (Metarank 0.4.1: 0.0).
"""

from __future__ import annotations

import functools
import math
import re
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import AliasChoices, Field, field_validator

from feature_ops.events import parse_datetime
from feature_ops.features.base import NAN, Feature, FeatureConfig, require_source
from feature_ops.types import FieldRef, FieldRefType


def _time_of_day(t: datetime) -> float:
    return (t.hour * 3600 + t.minute * 60 + t.second) / 3600


_REGION = re.compile(r"(.+)\[([^\[\]]+)\]")


def local_datetime(value: str) -> datetime | None:
    """The zoned datetime a local_time field holds, in its region's time when one is given in brackets.

    >>> local_datetime("2021-03-01T18:30:00Z[Europe/Berlin]").isoformat()
    '2021-03-01T19:30:00+01:00'
    >>> local_datetime("2021-03-01T18:30:00+01:00[Nowhere/Zone]") is None
    True
    """
    match = _REGION.fullmatch(value)
    if match is None:
        return parse_datetime(value)
    parsed, zone = parse_datetime(match.group(1)), _zone(match.group(2))
    return None if parsed is None or zone is None else parsed.astimezone(zone)


@functools.lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError, OSError):  # unknown, malformed, or a directory such as "Europe"
        return None


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
        parsed = local_datetime(raw) if isinstance(raw, str) else None
        value = NAN if parsed is None else self.part(parsed)
        return [[value] * len(ctx.request.items)]
