"""Metarank-compatible events: item (alias metadata), user, ranking, interaction.

Field values are typed by their JSON shape: bool, float, str, tuple[str, ...] or tuple[float, ...].
Timestamps are epoch milliseconds.

>>> e = parse_event({"event": "item", "id": "1", "timestamp": 1000, "item": "p1",
...                  "fields": [{"name": "color", "value": ["red"]}]})
>>> e.item, e.fields["color"]
('p1', ('red',))
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

FieldValue = bool | float | str | tuple
INT64 = (-(2**63), 2**63 - 1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLI = timedelta(milliseconds=1)


class EventError(ValueError):
    """An event that does not match the schema; the message says which field and why."""


@dataclass(slots=True)
class ItemEvent:
    id: str
    timestamp: int
    item: str
    fields: dict[str, FieldValue] = field(default_factory=dict)
    kind = "item"


@dataclass(slots=True)
class UserEvent:
    id: str
    timestamp: int
    user: str
    fields: dict[str, FieldValue] = field(default_factory=dict)
    kind = "user"


@dataclass(slots=True)
class RankItem:
    id: str
    relevancy: float | None = None
    fields: dict[str, FieldValue] = field(default_factory=dict)
    label: float | None = None


@dataclass(slots=True)
class RankingEvent:
    id: str
    timestamp: int
    items: list[RankItem]
    user: str | None = None
    session: str | None = None
    fields: dict[str, FieldValue] = field(default_factory=dict)
    kind = "ranking"

    def __reduce__(self):
        """Pickled as plain values, items as bare ids when none has more: about a third of the bytes and
        time of the generic form (rankings cross the Flink graph's operators and live in its session state)."""
        items = self.items
        if all(it.relevancy is None and not it.fields and it.label is None for it in items):
            packed: tuple = tuple([it.id for it in items])
        else:
            packed = tuple([(it.id, it.relevancy, it.fields, it.label) for it in items])
        return _unpickle_ranking, (self.id, self.timestamp, packed, self.user, self.session, self.fields)


def _unpickle_ranking(id_: str, timestamp: int, items: tuple, user: str | None, session: str | None, fields: dict
             ) -> RankingEvent:  # fmt: skip
    """``RankingEvent.__reduce__``'s inverse."""
    ranked = [RankItem(it) if isinstance(it, str) else RankItem(*it) for it in items]
    return RankingEvent(id_, timestamp, ranked, user, session, fields)


@dataclass(slots=True)
class InteractionEvent:
    id: str
    timestamp: int
    item: str
    type: str
    user: str | None = None
    session: str | None = None
    ranking: str | None = None
    fields: dict[str, FieldValue] = field(default_factory=dict)
    synthetic: bool = False
    item_fields: dict[str, FieldValue] = field(default_factory=dict)
    """The interacted item's fields at interaction time, attached by the engine's item field store."""
    joined: bool = False
    """Set by the engine: joined a ranking that lists the item, first of its type on that item there."""
    kind = "interaction"


Event = ItemEvent | UserEvent | RankingEvent | InteractionEvent


def parse_event(obj: Any) -> Event:
    """Decode one JSON object into an event, raising EventError with the offending field."""
    if not isinstance(obj, dict):
        raise EventError(f"event must be a JSON object, got {_kind(obj)}")
    kind = obj.get("event")
    if kind is None:
        raise EventError("required field 'event' is missing")
    parser = _PARSERS.get(kind)
    if parser is None:
        raise EventError(
            f"event type '{kind}' is not supported, expected one of: item, metadata, user, ranking, interaction"
        )
    return parser(obj)


def parse_ranking_request(obj: Any) -> RankingEvent:
    """Decode a /rank body: a ranking event without the 'event' discriminator."""
    if not isinstance(obj, dict):
        raise EventError(f"request must be a JSON object, got {_kind(obj)}")
    return _ranking(obj)


def _item(obj: dict) -> ItemEvent:
    return ItemEvent(_id(obj), parse_timestamp(obj), _required_str(obj, "item"), _fields(obj.get("fields")))


def _user(obj: dict) -> UserEvent:
    return UserEvent(_id(obj), parse_timestamp(obj), _required_str(obj, "user"), _fields(obj.get("fields")))


def _ranking(obj: dict) -> RankingEvent:
    items = obj.get("items")
    if not isinstance(items, list) or not items:
        raise EventError("field 'items' must be a non-empty list of {id, relevancy?, fields?, label?}")
    return RankingEvent(
        _id(obj),
        parse_timestamp(obj),
        [_rank_item(it, i) for i, it in enumerate(items)],
        _optional_str(obj, "user"),
        _optional_str(obj, "session"),
        _fields(obj.get("fields")),
    )


def _interaction(obj: dict) -> InteractionEvent:
    return InteractionEvent(
        _id(obj),
        parse_timestamp(obj),
        _required_str(obj, "item"),
        _required_str(obj, "type"),
        _optional_str(obj, "user"),
        _optional_str(obj, "session"),
        _optional_str(obj, "ranking"),
        _fields(obj.get("fields")),
    )


_PARSERS = {"item": _item, "metadata": _item, "user": _user, "ranking": _ranking, "interaction": _interaction}


def _rank_item(obj: Any, index: int) -> RankItem:
    if type(obj) is dict and len(obj) == 2:  # fast path for the common {id, relevancy} item
        item_id, relevancy = obj.get("id"), obj.get("relevancy")
        if type(item_id) is str and item_id and type(relevancy) is float and relevancy - relevancy == 0.0:
            return RankItem(item_id, relevancy)
    where = f"items[{index}]"
    if not isinstance(obj, dict):
        raise EventError(f"field '{where}' must be an object with an 'id', got {_kind(obj)}")
    item_id = obj.get("id")
    if not isinstance(item_id, str) or not item_id:
        raise EventError(f"field '{where}.id' must be a non-empty string, got {_show(item_id)}")
    relevancy = _optional_number(obj, "relevancy", where)
    fields = _fields(obj.get("fields"), where)
    label = _optional_number(obj, "label", where)
    return RankItem(item_id, relevancy, fields, label)


def _optional_number(obj: dict, name: str, where: str) -> float | None:
    value = obj.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EventError(f"field '{where}.{name}' must be a number, got {_show(value)}")
    return _finite(f"{where}.{name}", value)


def _id(obj: dict) -> str:
    value = obj.get("id")
    if value is None:
        raise EventError("required field 'id' is missing")
    if not isinstance(value, str) or not value:
        raise EventError(f"field 'id' must be a non-empty string, got {_show(value)}")
    return value


def _required_str(obj: dict, name: str) -> str:
    value = obj.get(name)
    if value is None:
        raise EventError(f"required field '{name}' is missing")
    if not isinstance(value, str) or not value:
        raise EventError(f"field '{name}' must be a non-empty string, got {_show(value)}")
    return value


def _optional_str(obj: dict, name: str) -> str | None:
    value = obj.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise EventError(f"field '{name}' must be a non-empty string, got {_show(value)}")
    return value


def parse_timestamp(obj: dict) -> int:
    """Epoch millis from a number, a numeric string or an ISO-8601 datetime with a zone."""
    value = obj.get("timestamp")
    if value is None:
        raise EventError("required field 'timestamp' is missing")
    millis = timestamp_millis(value)
    if millis is None:
        raise EventError(f"field 'timestamp' must be epoch millis or ISO-8601, got {_show(value)}")
    if not INT64[0] <= millis <= INT64[1]:
        raise EventError(f"field 'timestamp' {_show(value)} is outside the 64-bit range of epoch millis")
    return millis


def timestamp_millis(value: Any) -> int | None:
    """Epoch millis of a timestamp value, or None if it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if not isinstance(value, str):
        return None
    if value.isascii() and value.isdigit():
        return int(value)
    parsed = parse_datetime(value)
    return None if parsed is None else (parsed - EPOCH) // _MILLI


def parse_datetime(value: str) -> datetime | None:
    """An ISO-8601 datetime that carries a zone ('Z' or an offset), else None."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _fields(raw: Any, where: str = "") -> dict[str, FieldValue]:
    prefix = f"{where}." if where else ""
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise EventError(f"field '{prefix}fields' must be a list of {{name, value}}, got {_kind(raw)}")
    out: dict[str, FieldValue] = {}
    for i, entry in enumerate(raw):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"]:
            raise EventError(f"field '{prefix}fields[{i}]' must be an object with a non-empty 'name'")
        name = entry["name"]
        if "value" not in entry:
            raise EventError(f"field '{prefix}fields[{i}]' ('{name}') has no 'value'")
        out[name] = field_value(name, entry["value"])
    return out


def field_value(name: str, value: Any) -> FieldValue:
    """Type a field value by its JSON shape, as Metarank does."""
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int | float):
        return _finite(name, value)
    if isinstance(value, list):
        if all(isinstance(v, str) for v in value):
            return tuple(value)
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
            return _finite_list(name, value)
        kinds = sorted({_kind(v) for v in value})
        raise EventError(f"field '{name}' is a list of mixed or unsupported types ({', '.join(kinds)})")
    if value is None:
        raise EventError(f"field '{name}' has a null value")
    raise EventError(f"field '{name}' has an unsupported value of type {_kind(value)}")


def _finite(name: str, value: int | float) -> float:
    """JSON has no inf or NaN (orjson rejects 1e400 as invalid JSON); other decoders' ones are rejected too."""
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if math.isfinite(number):
        return number
    raise EventError(f"field '{name}' must be a finite number, got {'NaN' if number != number else _show(value)}")


def _finite_list(name: str, values: list) -> tuple[float, ...]:
    try:
        numbers = tuple(map(float, values))
        if all(map(math.isfinite, numbers)):
            return numbers
    except OverflowError:
        pass
    return tuple(_finite(f"{name}[{i}]", v) for i, v in enumerate(values))


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "number", float: "number", str: "string", list: "list", dict: "object"}.get(
        type(value), type(value).__name__
    )


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    return _kind(value) if isinstance(value, list | dict) or value is None else repr(value)
