"""Shared config value types: durations, source field references and paths, each with one validator.

>>> TypeAdapter(Duration).validate_python("30m")
1800000
>>> TypeAdapter(FieldRefType).validate_python("interaction:click.count")
FieldRef(event='interaction', field='count', interaction='click')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from pydantic import BeforeValidator, ConfigDict, PlainSerializer, TypeAdapter

STRICT = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False)  # no .inf/.nan numbers

_DURATION = re.compile(r"([0-9]+)\s*(ms|s|m|h|d|w)")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


def parse_duration(value: object) -> int:
    """Milliseconds of a duration like '30m', '90d', '1h'. Plain integers are seconds (as in Metarank)."""
    if isinstance(value, bool):
        raise ValueError(f"duration is in wrong format: {value!r}, expected e.g. 30s, 30m, 1h, 90d")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"duration must not be negative, got {value!r}")
        return value * 1000
    if isinstance(value, str):
        m = _DURATION.fullmatch(value.strip())
        if m:
            return int(m.group(1)) * _UNIT_MS[m.group(2)]
    raise ValueError(f"duration is in wrong format: {value!r}, expected e.g. 30s, 30m, 1h, 90d")


def parse_positive_duration(value: object) -> int:
    """A duration that must be above zero (a TTL, a session length): '0s' or -5 make no sense there."""
    negative = isinstance(value, int) and not isinstance(value, bool) and value < 0
    millis = 0 if negative else parse_duration(value)
    if millis == 0:
        raise ValueError(f"duration must be positive, got {value!r}")
    return millis


def format_duration(millis: int) -> str:
    for unit in ("w", "d", "h", "m", "s"):
        if millis and millis % _UNIT_MS[unit] == 0:
            return f"{millis // _UNIT_MS[unit]}{unit}"
    return f"{millis}ms" if millis else "0s"


Duration = Annotated[int, BeforeValidator(parse_duration), PlainSerializer(format_duration, return_type=str)]
PositiveDuration = Annotated[
    int, BeforeValidator(parse_positive_duration), PlainSerializer(format_duration, return_type=str)
]

_FIELD = re.compile(r"(item|metadata|user|ranking)\.([a-zA-Z0-9_\-]+)")
_INTERACTION_FIELD = re.compile(r"interaction:([a-zA-Z0-9_\-]+)\.([a-zA-Z0-9_\-]+)")


@dataclass(frozen=True, slots=True)
class FieldRef:
    """A field of an event type: ``item.title``, ``user.age``, ``ranking.query``, ``interaction:click.price``."""

    event: str
    field: str
    interaction: str | None = None

    def __str__(self) -> str:
        if self.interaction:
            return f"interaction:{self.interaction}.{self.field}"
        return f"{self.event}.{self.field}"


def parse_field_ref(value: object) -> FieldRef:
    if isinstance(value, FieldRef):
        return value
    text = str(value)
    m = _FIELD.fullmatch(text)
    if m:
        event = "item" if m.group(1) == "metadata" else m.group(1)
        return FieldRef(event, m.group(2))
    m = _INTERACTION_FIELD.fullmatch(text)
    if m:
        return FieldRef("interaction", m.group(2), m.group(1))
    raise ValueError(
        f"cannot decode source field '{text}': expected <event>.<field> with event item, user, ranking "
        "or interaction:<type>"
    )


FieldRefType = Annotated[FieldRef, BeforeValidator(parse_field_ref), PlainSerializer(str, return_type=str)]


def normalize_path(value: object) -> str:
    """Metarank MPath: ``s3://bucket/key`` stays, ``file:///x`` -> ``/x``, ``file://x`` -> ``x``, else as given."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"path must be a non-empty string, got {value!r}")
    if value.startswith("file://"):
        return value[len("file://") :]
    if value.startswith("s3://") and not re.fullmatch(r"s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?", value):
        raise ValueError(f"invalid S3 path {value!r}, expected s3://bucket/key")
    return value


PathStr = Annotated[str, BeforeValidator(normalize_path)]

__all__ = [
    "STRICT", "Duration", "FieldRef", "FieldRefType", "PathStr", "PositiveDuration", "TypeAdapter", "format_duration",
]
