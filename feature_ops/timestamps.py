"""The plausible range of event times (``bootstrap.timestamps``): events outside it are bad lines in the
bootstrap, ``validate`` and ``sort``, and rejected events (400) in the API's ``/feedback``.

```yaml
bootstrap:
  timestamps:
    min: 2000-01-01T00:00:00Z   # default; ISO-8601 with a zone, or epoch millis
    maxAhead: 1d                # default: not after the wall clock + 1 day
    max: 2030-01-01T00:00:00Z   # optional: a fixed upper bound instead of now + maxAhead
```
"Now" is the wall clock when a bootstrap, ``validate`` or ``sort`` starts, and when the API receives a
``/feedback`` body. One event at year 9999 (or in microseconds) can so never move the engine's clock.

>>> window = TimestampPolicy().window(now=1_700_000_000_000)
>>> window.check(1_650_000_000_000) is None
True
>>> window.check(1_650_000_000_000_000)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
feature_ops.events.EventError: field 'timestamp' 1650000000000000 (after year 9999) is after the allowed maximum ...
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, PlainSerializer, model_validator

from feature_ops.events import EPOCH, EventError, timestamp_millis
from feature_ops.types import STRICT, Duration, format_duration

KEY = "bootstrap.timestamps"
Y2000 = 946_684_800_000


def iso(millis: int) -> str | None:
    """``2004-10-28T23:41:18.916Z`` for epoch millis, or None outside years 1-9999."""
    try:
        moment = EPOCH + timedelta(milliseconds=millis)
    except OverflowError:
        return None
    return moment.isoformat(timespec="milliseconds" if millis % 1000 else "seconds").replace("+00:00", "Z")


def _instant(value: object) -> int:
    millis = None if isinstance(value, float) else timestamp_millis(value)
    if millis is None or iso(millis) is None:
        raise ValueError(f"expected an ISO-8601 datetime with a zone or epoch millis, got {value!r}")
    return millis


Instant = Annotated[int, BeforeValidator(_instant), PlainSerializer(iso, return_type=str)]


class TimestampPolicy(BaseModel):
    """``bootstrap.timestamps``: events before ``min`` or after ``max`` (default: now + ``maxAhead``) are bad."""

    model_config = STRICT
    min: Instant = Y2000
    maxAhead: Duration = 86_400_000
    max: Instant | None = None

    @model_validator(mode="after")
    def _ordered(self) -> TimestampPolicy:
        if self.max is not None and self.max <= self.min:
            raise ValueError(f"max {iso(self.max)} must be after min {iso(self.min)}")
        return self

    def window(self, now: int | None = None) -> TimeWindow:
        """The allowed range at ``now`` (epoch millis; default: the wall clock)."""
        if self.max is not None:
            return TimeWindow(self.min, self.max, f"{KEY}.max", f"raise {KEY}.max")
        now = time.time_ns() // 1_000_000 if now is None else now
        ahead = format_duration(self.maxAhead)
        return TimeWindow(self.min, now + self.maxAhead, f"now + {ahead}",
                          f"raise {KEY}.maxAhead or set {KEY}.max")


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """``low <= timestamp <= high``; ``check`` says which bound an event broke and how to accept it."""

    low: int
    high: int
    high_origin: str = f"{KEY}.max"
    high_fix: str = f"raise {KEY}.max"

    def check(self, millis: int) -> None:
        if millis > self.high:
            raise EventError(f"{_shown(millis)} is after the allowed maximum {iso(self.high)} ({self.high_origin})"
                             f"{self._unit_hint(millis)}; {self.high_fix} to accept it")
        if millis < self.low:
            raise EventError(f"{_shown(millis)} is before the allowed minimum {iso(self.low)} ({KEY}.min)"
                             f"{self._unit_hint(millis)}; lower {KEY}.min to accept it")

    def _unit_hint(self, millis: int) -> str:
        plausible = max(self.low, Y2000)
        if millis > self.high and plausible <= millis // 1000 <= self.high:
            return "; it looks like microseconds (timestamps are epoch millis)"
        if millis < self.low and plausible <= millis * 1000 <= self.high:
            return "; it looks like seconds (timestamps are epoch millis)"
        return ""


def _shown(millis: int) -> str:
    when = iso(millis)
    if when is None:
        when = "after year 9999" if millis > 0 else "before year 1"
    return f"field 'timestamp' {millis} ({when})"
