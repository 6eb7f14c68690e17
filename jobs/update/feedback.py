"""``inference.source: {type: rest}``: the events the API accepted on ``/feedback``, read from the Redis stream
``<prefix>@feedback`` with the read position in Flink state.

PyFlink has no Python source API, so the reader is a keyed Python operator driven by processing-time timers:
a one-line start file (a bounded FileSource, then an empty monitored directory, so the source never ends)
wakes it once; from then on every timer reads up to ``COUNT`` entries after the position kept in
``ValueState``, emits them and sets the next timer (at once while entries keep coming, ``pollInterval``
later when the stream is idle). Timers and the position are keyed state, so every checkpoint and savepoint
holds them together with the lines emitted before the barrier: a restored job resumes at the entry after
the last one it had handed on, and an entry the API answered 2xx for (XADD before the answer) is read
exactly once into the state (the API can restart at any time: the stream is in Redis, not in the API).
A new reader starts at the beginning of the stream. Entries trimmed away (``inference.feedback.maxLength``)
before the job read them are gone: keep the job running, or the stream long enough.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import redis
from pyflink.common import Types
from pyflink.datastream import DataStream, KeyedProcessFunction, RuntimeContext, StreamExecutionEnvironment
from pyflink.datastream.state import ValueStateDescriptor

from jobs.flink.sources import ordered_file_stream
from jobs.update.engine import RS, US

log = logging.getLogger(__name__)
COUNT = 1000
RETRY_MS = 1000


class StreamReader(KeyedProcessFunction):
    """Keyed by one constant key; see the module docstring."""

    def __init__(self, state, stream: str, poll_ms: int) -> None:
        self.state, self.stream, self.poll_ms = state, stream, poll_ms

    def open(self, runtime_context: RuntimeContext) -> None:
        self._position = runtime_context.get_state(ValueStateDescriptor("position", Types.STRING()))
        self._redis = redis.Redis(host=self.state.host, port=self.state.port, db=self.state.db,
                                  socket_timeout=5.0)  # fmt: skip

    def process_element(self, _start: str, ctx: KeyedProcessFunction.Context) -> Iterator[str]:
        if self._position.value() is None:
            self._position.update("0-0")
        ctx.timer_service().register_processing_time_timer(_now())
        return iter(())

    def on_timer(self, timestamp: int, ctx: KeyedProcessFunction.OnTimerContext) -> Iterator[str]:
        position = self._position.value() or "0-0"
        try:
            reply = self._redis.xread({self.stream: position}, count=COUNT)
        except (redis.ConnectionError, redis.TimeoutError, OSError) as e:
            log.warning("feedback stream %s unreadable, retrying in %d ms: %s", self.stream, RETRY_MS, e)
            ctx.timer_service().register_processing_time_timer(_now() + RETRY_MS)
            return
        entries = reply[0][1] if reply else []
        for entry_id, fields in entries:
            position = entry_id.decode()
            yield f"{RS}{position}{US}{fields.get(b'event', b'').decode('utf-8', 'replace')}"
        if entries:
            self._position.update(position)
        ctx.timer_service().register_processing_time_timer(_now() + (0 if len(entries) == COUNT else self.poll_ms))

    def close(self) -> None:
        if hasattr(self, "_redis"):
            self._redis.close()


def _now() -> int:
    return int(time.time() * 1000)


def _one_key(_line: str) -> int:
    return 0


def feedback_lines(env: StreamExecutionEnvironment, state, poll_ms: int, update_dir: Path) -> DataStream:
    """One line per feedback stream entry, in stream order."""
    start = update_dir / "feedback-start.jsonl"
    start.write_text("start\n")
    control = update_dir / "feedback-control"
    control.mkdir(exist_ok=True)
    stream = f"{state.prefix}@feedback"
    return (
        ordered_file_stream(env, [str(start)], str(control))
        .key_by(_one_key, key_type=Types.INT())
        .process(StreamReader(state, stream, poll_ms), output_type=Types.STRING())
        .name("feedback-stream")
        .uid("feedback-stream-" + stream)
    )
