"""Python operators that host the feature engine: a line batcher and a keyed engine host.

Records between them are ``(shard, first_ordinal, lines)`` tuples typed as
``PICKLED_BYTE_ARRAY`` (typed nested outputs are corrupted in thread mode). A record with
``lines is None`` is the flush marker.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Iterator
from typing import Any

from pyflink.common import Types
from pyflink.datastream import FlatMapFunction, KeyedProcessFunction, RuntimeContext
from pyflink.datastream.state import MapStateDescriptor

from jobs.flink.errors import EngineError
from jobs.flink.store import MapStateStore

FLUSH_MARKER = "\u0000rankstream:flush"
DEFAULT_BATCH_SIZE = 256
DONE_FILE = "_done"

Batch = tuple[int, int, list[str] | None]
EngineFactory = Callable[[Any], Any]


class Batcher(FlatMapFunction):
    """Groups lines into batches of up to ``batch_size``; ``FLUSH_MARKER`` emits the rest + a marker.

    Runs non-keyed at parallelism 1 right after the ordered source, so ``first_ordinal``
    (the 0-based index of a batch's first line in the input) is global.
    Buffered lines are in no checkpoint: only the flush marker makes them durable.
    """

    def __init__(self, batch_size: int = DEFAULT_BATCH_SIZE, shard: int = 0):
        self.batch_size = batch_size
        self.shard = shard

    def open(self, runtime_context: RuntimeContext) -> None:
        self._lines: list[str] = []
        self._next_ordinal = 0

    def flat_map(self, line: str) -> Iterator[Batch]:
        if line == FLUSH_MARKER:
            if self._lines:
                yield self._take()
            yield self.shard, self._next_ordinal, None
            return
        self._lines.append(line)
        if len(self._lines) >= self.batch_size:
            yield self._take()

    def _take(self) -> Batch:
        lines, self._lines = self._lines, []
        first = self._next_ordinal
        self._next_ordinal += len(lines)
        return self.shard, first, lines


class EngineHost(KeyedProcessFunction):
    """Keyed by shard: feeds batches to one engine per shard, state in Flink ``MapState``.

    ``engine_factory(store)`` must be picklable and return an object with
    ``process_batch(first_ordinal, lines) -> list`` and ``finish() -> list``. Every
    namespace becomes one ``MapState<str, PICKLED_BYTE_ARRAY>`` named after it (callers
    salt names with a config hash). The store is flushed after every record. On the flush
    marker the host emits ``finish()``'s outputs, then creates ``done_path`` (if given):
    that file is the completion signal the driver waits for.
    """

    def __init__(self, engine_factory: EngineFactory, namespaces: list[str], done_path: str | None = None):
        self.engine_factory = engine_factory
        self.namespaces = list(namespaces)
        self.done_path = done_path

    def open(self, runtime_context: RuntimeContext) -> None:
        self._states = {
            ns: runtime_context.get_map_state(
                MapStateDescriptor(ns, Types.STRING(), Types.PICKLED_BYTE_ARRAY())
            )
            for ns in self.namespaces
        }
        self._engines: dict[int, tuple[MapStateStore, Any]] = {}

    def _engine(self, shard: int) -> tuple[MapStateStore, Any]:
        if shard not in self._engines:
            store = MapStateStore(self._states)
            self._engines[shard] = (store, self.engine_factory(store))
        return self._engines[shard]

    def process_element(self, batch: Batch, ctx: KeyedProcessFunction.Context) -> Iterator[Any]:
        shard, first, lines = batch
        store, engine = self._engine(shard)
        outputs = self._call(engine, first, lines)
        store.flush()
        yield from outputs
        if lines is None:
            self._signal_done()

    @staticmethod
    def _call(engine: Any, first: int, lines: list[str] | None) -> list:
        try:
            return engine.finish() if lines is None else engine.process_batch(first, lines)
        except Exception as e:
            raise engine_error(e, first, lines is None) from e

    def _signal_done(self) -> None:
        signal_done(self.done_path)


def engine_error(e: Exception, first: int, final: bool) -> EngineError:
    """``e`` raised by an engine's ``finish()`` (``final``) or by the batch starting at input line ``first``."""
    where = "finish()" if final else f"process_batch at input line ordinal {first}"
    trace = "".join(traceback.format_exception(e)).rstrip()
    return EngineError(f"feature engine failed in {where}: {type(e).__name__}: {e}\n{trace}")


def signal_done(done_path: str | None) -> None:
    """Create ``done_path`` atomically (if given): the completion signal the driver waits for."""
    if done_path:
        tmp = done_path + ".tmp"
        with open(tmp, "w") as f:
            f.write("done\n")
        os.replace(tmp, done_path)
