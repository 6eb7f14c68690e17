"""``POST /feedback``: split a body into events, validate each, and hand the accepted ones to a sink.

A body is one JSON event, a JSON array of events, or newline-delimited JSON (one event per line).
Each event is checked with ``feature_ops.events.parse_event``; rejected ones are reported as
``"line 3: <why>"`` (NDJSON) or ``"event 3: <why>"`` (a single event or an array; 1-based).

Sinks: with Redis state, accepted events are appended to the ``<prefix>@feedback`` stream for the update
job; with memory state (standalone), the API's own ``Engine`` applies them and the changed state records
are re-encoded into the memory value store, so later /rank calls see them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from feature_ops.config import Config
from feature_ops.engine import Engine
from feature_ops.events import Event, EventError, parse_event
from feature_ops.featureset import FeatureSet
from feature_ops.store import MemoryStore
from feature_ops.timestamps import TimeWindow
from serving.errors import BadRequest
from serving.store import KeyLayout, ValueStore, ttl_items

MAX_ERRORS = 100


@dataclass
class Parsed:
    events: list[tuple[Event, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    rejected: int = 0

    def reject(self, where: str, why: str) -> None:
        self.rejected += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(f"{where}: {why}")


def parse_feedback(body: bytes, window: TimeWindow | None = None) -> Parsed:
    """Accepted (event, raw JSON) pairs and the rejected ones' messages; events outside ``window``
    (``bootstrap.timestamps`` at the request's wall clock) are rejected."""
    if not body.strip():
        raise BadRequest("request body is empty: send one event, a JSON array of events or NDJSON")
    out = Parsed()
    for where, raw, error in _documents(body):
        if error is not None:
            out.reject(where, error)
            continue
        try:
            event = parse_event(raw)
            if window is not None:
                window.check(event.timestamp)
            out.events.append((event, raw))
        except EventError as e:
            out.reject(where, str(e))
    return out


def _documents(body: bytes) -> Iterator[tuple[str, Any, str | None]]:
    try:
        whole = orjson.loads(body)
    except orjson.JSONDecodeError:
        whole = None
        lines = body.split(b"\n")
        if len([line for line in lines if line.strip()]) < 2:
            yield "line 1", None, f"invalid JSON: {_json_error(body)}"
            return
        for number, line in enumerate(lines, 1):
            if line.strip():
                yield from _line(number, line)
        return
    docs = whole if isinstance(whole, list) else [whole]
    for number, doc in enumerate(docs, 1):
        yield f"event {number}", doc, None


def _line(number: int, line: bytes) -> Iterator[tuple[str, Any, str | None]]:
    try:
        yield f"line {number}", orjson.loads(line), None
    except orjson.JSONDecodeError:
        yield f"line {number}", None, f"invalid JSON: {_json_error(line)}"


def _json_error(data: bytes) -> str:
    try:
        orjson.loads(data)
    except orjson.JSONDecodeError as e:
        return str(e)
    return "unknown error"


class StreamSink:
    """Appends accepted events (as compact JSON) to the store's feedback stream."""

    def __init__(self, store: ValueStore) -> None:
        self.store = store

    def accept(self, events: list[tuple[Event, Any]]) -> None:
        if events:
            self.store.append_feedback([orjson.dumps(raw) for _, raw in events])


class DirtyStore(MemoryStore):
    """A MemoryStore that remembers which (namespace, id) keys were written since the last ``drain``."""

    def __init__(self) -> None:
        super().__init__()
        self.dirty: set[tuple[str, str]] = set()

    def put(self, namespace: str, key: str, value: Any) -> None:
        super().put(namespace, key, value)
        self.dirty.add((namespace, key))

    def drain(self) -> set[tuple[str, str]]:
        dirty, self.dirty = self.dirty, set()
        return dirty


class EngineSink:
    """Standalone mode: applies events with the shared Engine and republishes the changed records, one
    request at a time (requests run on worker threads; the engine is not thread-safe)."""

    def __init__(self, config: Config, store: ValueStore, layout: KeyLayout, seed, item_fields=(), sessions=()) -> None:
        self.state = DirtyStore()
        self.engine = Engine(config, self.state)
        self.features: FeatureSet = self.engine.features
        self.states = {ns: state for state, ns in self.features.namespaces.items()}
        self.store, self.layout = store, layout
        for state, sid, record in seed:
            self.state.put(self.features.namespaces[state], sid, record)
        self.clock = max((r[1] for ns in self.state.data.values() for r in ns.values()), default=0)
        self.engine.seed_item_fields(item_fields)
        self.engine.seed_sessions(sessions)
        self.lock = threading.Lock()
        self.publish()

    def accept(self, events: list[tuple[Event, Any]]) -> None:
        with self.lock:
            for event, _ in sorted(events, key=lambda pair: pair[0].timestamp):
                self.engine.process(event)
                self.clock = max(self.clock, event.timestamp)
            self.publish()

    def publish(self) -> int:
        changed = []
        for ns, sid in self.state.drain():
            state = self.states.get(ns)
            if state is not None:
                changed.append((state, sid, self.state.get(ns, sid)))
        return self.store.put_many(ttl_items(self.features, self.layout, changed, self.clock))
