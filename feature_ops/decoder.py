"""One input line -> one event, or a reported bad line: the decoder every engine shares.

The embedded reader hands it raw bytes (terminator included); the Flink host hands it the text Flink's line
format decoded (terminator removed), for files the pre-scan found safe to read that way. Both reach the same
event or the same message: a UTF-8 byte order mark at the start of a line is dropped, blank lines (only JSON
whitespace) are skipped, invalid UTF-8 is named with its byte and column, JSON errors keep orjson's text.
Events outside the time window are bad lines; events older than one before them are counted.
"""

from __future__ import annotations

from typing import Any

import orjson

from feature_ops.events import Event, EventError, parse_event
from feature_ops.rejects import Rejects
from feature_ops.timestamps import TimeWindow

BOM = "\ufeff"
BLANK = object()
"""``load_json``'s object for a line with nothing to decode."""
_JSON_SPACE = " \t\r\n"


def load_json(raw: bytes | str) -> tuple[Any, str | None]:
    """(JSON value, None), (BLANK, None) or (None, why the line is bad), the slow path of ``LineDecoder``."""
    text = raw
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            return None, f"line is not valid UTF-8 (byte 0x{raw[e.start]:02x} at column {e.start + 1})"
        if text.endswith("\n"):  # the terminator, as Flink's line format drops it
            text = text[:-2] if text.endswith("\r\n") else text[:-1]
    text = text.removeprefix(BOM)
    if not text.strip(_JSON_SPACE):
        return BLANK, None
    try:
        return orjson.loads(text), None
    except orjson.JSONDecodeError as e:
        return None, f"invalid JSON: {e}"


class LineDecoder:
    """Decodes lines in replay order into events; bad ones go to ``rejects`` with their location."""

    def __init__(self, rejects: Rejects, window: TimeWindow | None = None) -> None:
        self.rejects = rejects
        self.window = window
        self.latest: int | None = None

    def __call__(self, raw: bytes | str, location: str) -> Event | None:
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError:
            obj, reason = load_json(raw)
            if reason is not None:
                self.rejects.reject(location, reason)
                return None
            if obj is BLANK:
                return None
        try:
            event = parse_event(obj)
            if self.window is not None:
                self.window.check(event.timestamp)
        except EventError as e:
            self.rejects.reject(location, str(e))
            return None
        if self.latest is not None and event.timestamp < self.latest:
            self.rejects.out_of_order += 1
        else:
            self.latest = event.timestamp
        return event
