"""The streaming jobs' batcher: batches close on size or on a short processing-time timer.

The bootstrap's ``Batcher`` closes a batch only when it is full (or at the flush marker), and keeps its lines in
Python memory: right for a bounded replay, wrong for a stream, where an event must not wait for 2047 others
and a line waiting for its batch must survive a crash. ``TimedBatcher`` keeps its lines in Flink ``ListState``
(so every checkpoint and savepoint holds them) and closes a batch ``linger_ms`` after its first line at the
latest. It emits the same ``(shard, first_ordinal, lines)`` records as ``Batcher``; ordinals count from the
operator's (re)start, as a stream has no line numbers.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from pyflink.common import Types
from pyflink.datastream import DataStream, KeyedProcessFunction, RuntimeContext
from pyflink.datastream.state import ListStateDescriptor

from jobs.flink.host import FLUSH_MARKER, Batch


class TimedBatcher(KeyedProcessFunction):
    """Keyed by one constant key; see the module docstring."""

    def __init__(self, batch_size: int, linger_ms: int, shard: int = 0) -> None:
        self.batch_size, self.linger_ms, self.shard = batch_size, linger_ms, shard

    def open(self, runtime_context: RuntimeContext) -> None:
        self._lines = runtime_context.get_list_state(ListStateDescriptor("lines", Types.STRING()))
        self._count: int | None = None  # read back from the ListState on first use (after a restore)
        self._next_ordinal = 0

    def process_element(self, line: str, ctx: KeyedProcessFunction.Context) -> Iterator[Batch]:
        if line == FLUSH_MARKER:
            yield from self._take()
            yield self.shard, self._next_ordinal, None
            return
        count = self._buffered() + 1
        self._lines.add(line)
        self._count = count
        if count >= self.batch_size:
            yield from self._take()
        elif count == 1:
            due = int(time.time() * 1000) + self.linger_ms
            ctx.timer_service().register_processing_time_timer(due)

    def on_timer(self, timestamp: int, ctx: KeyedProcessFunction.OnTimerContext) -> Iterator[Batch]:
        yield from self._take()

    def _buffered(self) -> int:
        if self._count is None:
            self._count = sum(1 for _ in self._lines.get() or ())
        return self._count

    def _take(self) -> Iterator[Batch]:
        if not self._buffered():
            return
        lines = list(self._lines.get())
        self._lines.clear()
        self._count = 0
        first = self._next_ordinal
        self._next_ordinal += len(lines)
        yield self.shard, first, lines


def _one_key(_line: str) -> int:
    return 0


def timed_batches(lines: DataStream, batch_size: int, linger_ms: int) -> DataStream:
    """``lines`` into ``(shard, first_ordinal, lines)`` records (PICKLED_BYTE_ARRAY), ``uid("timed-batcher")``."""
    return (
        lines.key_by(_one_key, key_type=Types.INT())
        .process(TimedBatcher(batch_size, linger_ms), output_type=Types.PICKLED_BYTE_ARRAY())
        .name("timed-batcher")
        .uid("timed-batcher")
    )
