"""What every feature type implements, and the helpers most of them share.

A feature turns events into writes on named states (``writes``), never reading state while doing so, and
turns the visible states plus the ranking request into feature values (``values``), one column per
dimension with one float per ranked item. Missing values are NaN unless the type says otherwise.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol

import orjson
from pydantic import BaseModel, Field, field_validator

from feature_ops.events import Event, FieldValue, RankingEvent
from feature_ops.state import StateSpec
from feature_ops.types import STRICT, Duration, FieldRef, PositiveDuration

NAN = math.nan
Scope = Literal["global", "tenant", "item", "user", "session", "ranking"]
Write = tuple[str, str, Any]
"""(state name, scope id, value): the value's meaning depends on the state kind (see feature_ops.state)."""
Key = tuple[str, str]
"""(state name, scope id)."""

GLOBAL_ID = "global"
FIELD_COPY_TTL = 100 * 365 * 86_400_000
"""TTL of the per-item copies of item field values that key other state (``interacted_with``'s item values,
``rate``'s ``item.<field>``): 100 years, i.e. never. They live like the engine's item field store, which joins
the same values onto interactions, until the next item event replaces them; the feature's ``ttl`` applies to
the state they key (visitor lists, counters)."""
ALL_KINDS = frozenset({"item", "user", "ranking", "interaction"})


class FeatureConfig(BaseModel):
    """Keys every feature type accepts: ``name``, ``ttl`` (default 90d) and ``refresh`` (default 0s)."""

    model_config = STRICT

    name: str
    ttl: PositiveDuration = 90 * 86_400_000
    refresh: Duration = 0

    def config_hash(self) -> str:
        """A short stable hash of this definition; salts state names so a changed feature starts empty."""
        canonical = orjson.dumps(self.model_dump(mode="json", by_alias=True), option=orjson.OPT_SORT_KEYS)
        return hashlib.sha1(canonical).hexdigest()[:8]


class PeriodsConfig(FeatureConfig):
    """Keys of the windowed counters (rate, window_count): ``bucket`` size and ``periods`` in buckets."""

    bucket: Duration = 86_400_000
    periods: list[int] = Field(min_length=1)

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, bucket: int) -> int:
        if bucket <= 0:
            raise ValueError("bucket must be a positive duration, e.g. 1h or 24h")
        return bucket

    @field_validator("periods")
    @classmethod
    def _periods(cls, periods: list[int]) -> list[int]:
        if any(p < 0 for p in periods):
            raise ValueError("periods must be non-negative bucket counts")
        return periods


class StateReader(Protocol):
    def get(self, state: str, scope_id: str) -> Any | None: ...

    def get_many(self, state: str, scope_ids: Sequence[str | None]) -> list[Any | None]: ...


@dataclass(slots=True)
class RankingContext:
    """What ``values`` sees: the request, the visible states as of ``now``, and online/offline mode."""

    request: RankingEvent
    reader: StateReader
    now: int
    online: bool = False
    item_ids: list[str] = field(init=False)
    """The ranked item ids, in request order (shared by every feature: do not modify)."""
    customized: list[int] = field(init=False)
    """Positions of the ranked items that carry their own ``items[].fields`` (overriding stored values)."""

    def __post_init__(self) -> None:
        items = self.request.items
        self.item_ids = [item.id for item in items]
        self.customized = [i for i, item in enumerate(items) if item.fields]

    def ids(self, scope: str) -> list[str | None]:
        """``request_ids(scope, request)``, sharing the item id list (do not modify the result)."""
        return self.item_ids if scope == "item" else request_ids(scope, self.request)


class Feature:
    """Base class of every feature type; subclasses set ``config`` and override what they use."""

    type_name: ClassVar[str]
    categorical: ClassVar[bool] = False

    def __init__(self, config: FeatureConfig) -> None:
        self.config = config
        self.name = config.name

    def columns(self) -> list[str]:
        return [self.name]

    def states(self) -> dict[str, StateSpec]:
        return {}

    def item_fields(self) -> frozenset[str]:
        """Item fields this feature needs attached to interactions (the item field store join)."""
        return frozenset()

    def write_kinds(self) -> frozenset[str]:
        """Event kinds ``writes`` can produce writes for (the engine skips the others)."""
        return frozenset() if type(self).writes is Feature.writes else ALL_KINDS

    def interaction_types(self) -> frozenset[str] | None:
        """Interaction types ``writes`` can produce writes for; None for any (the engine skips the others)."""
        return None

    def writes(self, event: Event) -> Iterable[Write]:
        return ()

    def key_scopes(self) -> dict[str, str]:
        """State -> the scope whose ids ranking reads it for (``request_ids``): what ``keys`` reads."""
        return {}

    def keys(self, request: RankingEvent) -> Iterable[Key]:
        """Every (state, scope id) ``values`` reads; the default follows ``key_scopes``. A feature whose
        keys do not follow from scopes overrides this (``FeatureSet.key_groups`` then asks it per request)."""
        for state, scope in self.key_scopes().items():
            yield from request_keys(state, scope, request)

    def dependent_keys(self, ctx: RankingContext) -> Iterable[Key]:
        """Keys that only the states read first can name (a second read step): e.g. a rate per item field
        value reads the item's field value, then the counters of that value. Hosts that fetch keys ahead
        (the API) fetch these after the first read; hosts reading the store directly need not."""
        return ()

    def dependent_states(self) -> frozenset[str]:
        """The states ``dependent_keys`` reads: a host that names every key ahead (the keyed Flink router)
        keeps a copy of these to name the second step's keys without a second read round."""
        return frozenset()

    def values(self, ctx: RankingContext) -> list[list[float]]:
        raise NotImplementedError(f"{type(self).__name__} must implement values()")

    def spec(self, kind: str, **params: Any) -> StateSpec:
        return StateSpec(kind, ttl=self.config.ttl, refresh=self.config.refresh, **params)  # type: ignore[arg-type]

    def field_copy_spec(self) -> StateSpec:
        """The spec of a per-item copy of item field values used as keys: see ``FIELD_COPY_TTL`` (no refresh
        either, so ranking reads the values interactions were joined with)."""
        return StateSpec("scalar", ttl=FIELD_COPY_TTL)


def scope_id(scope: str, event: Event) -> str | None:
    """The id an event contributes to a scope, or None if the event has none (e.g. no session)."""
    if scope in ("global", "tenant"):
        return GLOBAL_ID
    return getattr(event, scope, None) if scope in ("item", "user", "session") else None


def request_ids(scope: str, request: RankingEvent) -> list[str | None]:
    """Per ranked item, the scope id to read for it."""
    if scope == "item":
        return [it.id for it in request.items]
    return [request_scope_id(scope, request)] * len(request.items)


def request_scope_id(scope: str, request: RankingEvent) -> str | None:
    """The one scope id a request reads for every item of a scope other than ``item`` (None if it has none)."""
    if scope in ("global", "tenant"):
        return GLOBAL_ID
    return getattr(request, scope, None) if scope in ("user", "session") else None


def request_keys(state: str, scope: str, request: RankingEvent) -> Iterator[Key]:
    for sid in dict.fromkeys(request_ids(scope, request)):
        if sid is not None:
            yield state, sid


def source_value(source: FieldRef, event: Event) -> FieldValue | None:
    """The source field's value if this event is of the source's type, else None."""
    if event.kind != source.event:
        return None
    if source.interaction is not None and event.type != source.interaction:  # type: ignore[union-attr]
        return None
    return event.fields.get(source.field)


def natural_scope(source: FieldRef) -> str:
    """The scope a field feature uses when none is given: where the source event naturally belongs."""
    return {"item": "item", "user": "user", "ranking": "ranking", "interaction": "item"}[source.event]


_SCOPE_SOURCES = {
    "item": {"item", "interaction"},
    "user": {"user", "ranking", "interaction"},
    "session": {"ranking", "interaction"},
    "global": {"item", "user", "ranking", "interaction"},
    "tenant": {"item", "user", "ranking", "interaction"},
    "ranking": {"ranking"},
}


def require_source(feature_type: str, source: FieldRef, *events: str) -> FieldRef:
    """The source if its event type is one the feature can use, else the error users see, e.g.
    ``local_time can only use ranking fields, got 'item.date'``."""
    if source.event not in events:
        allowed = events[0] if len(events) == 1 else f"{', '.join(events[:-1])} or {events[-1]}"
        raise ValueError(f"{feature_type} can only use {allowed} fields, got '{source}'")
    return source


def check_scope(name: str, scope: str, source: FieldRef) -> None:
    """Reject scope/source pairs where the source event cannot carry an id for the scope."""
    if source.event not in _SCOPE_SOURCES[scope]:
        raise ValueError(
            f"scope '{scope}' cannot be filled from source '{source}' "
            f"({source.event} events carry no {scope} id)"
        )


def field_columns(
    feature: Feature, scope: str, source: FieldRef, ctx: RankingContext, convert
) -> list[Any]:
    """Per ranked item, the converted source value: per-item ranking fields first, then request
    fields (scope ranking), else the stored state of the item's scope id; None where missing."""
    request = ctx.request
    if scope == "ranking":
        shared = request.fields.get(source.field)
        out = [None if shared is None else convert(shared)] * len(request.items)
    else:
        out = ctx.reader.get_many(feature.name, ctx.ids(scope))
    items, name = request.items, source.field
    for i in ctx.customized:
        value = items[i].fields.get(name)
        if value is not None:
            out[i] = convert(value)
    return out


def field_strings(value) -> tuple[str, ...]:
    """A field value as a tuple of strings: how features that key state by field values name them.

    A string or a number is a 1-tuple, a list one string per element; whole numbers lose their ``.0``, so
    ``42``, ``"42"`` and ``[42]`` name the same value. Booleans and missing values name nothing.

    >>> field_strings(42.0), field_strings("42"), field_strings((42.0, "x")), field_strings(4.5)
    (('42',), ('42',), ('42', 'x'), ('4.5',))
    >>> field_strings(True), field_strings(None)
    ((), ())
    """
    if isinstance(value, str):
        return (value,)
    if isinstance(value, tuple):
        return tuple(v if isinstance(v, str) else _number(v) for v in value)
    if isinstance(value, float | int) and not isinstance(value, bool):
        return (_number(value),)
    return ()


def _number(value) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
