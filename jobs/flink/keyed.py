"""The keyed graph: feature state partitioned by scope id over P subtasks (``feature_ops.routing`` hosted).

::

    lines -> Batcher (p1) -> Router (p1: parse, clock, sessions, extractors, read keys)
      -S-> key_by(bucket of scope id, 128 buckets = maxParallelism) -> StateHost (P): apply writes, answer reads
      -A/G-> key_by(batch) -> GatherHost (P): a batch's read requests + answers -> FeatureSet.values per ranking
      -V-> + router's clickthroughs -C-> + state parts at the end -L-> SinkHost (p1): rows in router order

Every record is a tagged tuple typed ``PICKLED_BYTE_ARRAY``; the router sends one record per bucket with work
per batch (never one per write). Buckets reach their subtask over one channel from the single router, so
every bucket applies its writes and answers its reads in input order at any P. Only Python memory holds a
batch between the router and the sink (gather parts, values waiting for their clickthrough): the bootstrap's
savepoint is taken once the sink has written everything, when nothing is in flight.

Between operators in one interpreter (a TaskManager's, ``jobs.flink.local``) a record goes by reference and
only its marker crosses the JVM; a gather key there gets its answers as the records themselves, so it keeps no
copies to update. At P = 1 (one interpreter) nothing is pickled but the markers; across TaskManagers records
go by value, and the answers as writes to apply to the gather's copies (``Snapshots``).
"""

from __future__ import annotations

import os
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any

from pyflink.common import Row, Types
from pyflink.datastream import (
    DataStream,
    FlatMapFunction,
    KeyedProcessFunction,
    KeyedStream,
    OutputTag,
    RuntimeContext,
)
from pyflink.datastream.state import MapStateDescriptor
from pyflink.java_gateway import get_gateway

from feature_ops.config import Config
from feature_ops.featureset import FeatureSet
from feature_ops.routing import (
    BUCKETS,
    Gather,
    Reassembly,
    RouterEngine,
    Snapshots,
    apply_ops,
    latest_records,
    merge_latest,
)
from feature_ops.store import MemoryStore
from jobs.flink.host import Batcher, engine_error, signal_done
from jobs.flink.local import Exchange, share_interpreter
from jobs.flink.store import MapStateStore
from jobs.flink.timed_batcher import timed_batches


class KeyedRouter(ABC):
    """A job's router: its events into ``self.engine`` (a ``RouterEngine``); ``finish`` writes its own outputs."""

    engine: RouterEngine
    busy: float = 0.0
    """CPU seconds the router host has spent on this router's batches (its thread's, so not the time it waited
    for the shared GIL): the graph's serial part (set by the host)."""

    @abstractmethod
    def process_batch(self, first: int, lines: list[str]) -> None: ...

    @abstractmethod
    def finish(self) -> None: ...


class KeyedSink(ABC):
    """A job's sink: every clickthrough in router order, then the latest state records and the end."""

    busy: float = 0.0
    """CPU seconds the rows operator has spent up to ``finish``: with the router's, the graph's serial part."""

    @abstractmethod
    def add(self, clickthrough) -> None: ...

    @abstractmethod
    def finish(self, latest: list[tuple[str, str, tuple]], subtasks: dict[int, int]) -> None: ...


class KeyedFactory(ABC):
    """What ``engine_graph`` needs to run a job on the keyed graph (picklable, shipped to the operators)."""

    config: Config

    @abstractmethod
    def router(self, store) -> KeyedRouter: ...

    @abstractmethod
    def sink(self) -> KeyedSink: ...

    def state_listener(self) -> Any:
        """Called by every state subtask as ``listener(features, store, ops)`` after a record's ops are applied and
        before they are written through (``store.changed()`` names what they changed; the update job writes those
        records to Redis), after ``listener.open()``; None (the default) when nobody listens."""
        return None


def _map_states(runtime_context: RuntimeContext, namespaces: list[str]) -> dict[str, Any]:
    return {ns: runtime_context.get_map_state(MapStateDescriptor(ns, Types.STRING(), Types.PICKLED_BYTE_ARRAY()))
            for ns in namespaces}  # fmt: skip


def subtask_index(runtime_context: RuntimeContext) -> int:
    """The subtask's index (the Python accessor fails in thread mode on Flink 2.x: ask ``TaskInfo``)."""
    try:
        return int(runtime_context._runtime_context.getTaskInfo().getIndexOfThisSubtask())
    except AttributeError:
        return runtime_context.get_index_of_this_subtask()


class RouterHost(KeyedProcessFunction):
    """Keyed by the batcher's single shard: the router, its sessions and item fields in MapState."""

    def __init__(self, factory: KeyedFactory, bucket_keys: list[int], gather_keys: list[int], owners: list[int],
                 exchange: Exchange) -> None:  # fmt: skip
        self.factory, self.bucket_keys, self.gather_keys = factory, bucket_keys, gather_keys
        self.owners, self.exchange = owners, exchange
        """Bucket -> the state subtask owning it; records to operators in this interpreter go by reference."""

    def open(self, runtime_context: RuntimeContext) -> None:
        share_interpreter()
        self.batches = 0
        self.before: dict[int, int] = {}
        """Gather key -> the last batch whose requests went to it."""
        namespaces = RouterEngine(self.factory.config, MemoryStore()).namespaces
        self.store = MapStateStore(_map_states(runtime_context, namespaces))
        self.router = self.factory.router(self.store)

    def process_element(self, batch, ctx: KeyedProcessFunction.Context) -> Iterator[tuple]:
        _, first, lines = batch
        started = time.thread_time()
        try:
            if lines is None:
                self.router.engine.flush()
                self.router.busy += time.thread_time() - started
                self.router.finish()
            else:
                self.router.process_batch(first, lines)
        except Exception as e:
            raise engine_error(e, first, lines is None) from e
        self.store.flush()
        self.batches += 1
        to = self.gather_keys[self.batches % len(self.gather_keys)]
        keys, owners, send = self.bucket_keys, self.owners, self.exchange.send
        records = [(ROWS, send("rows", 0, r)) if r[0] in "CF" else Row(keys[r[1]], send("state", owners[r[1]], r))
                   for r in routed_records(self.router.engine, first, lines is None, to, self.before)]  # fmt: skip
        self.router.busy += time.thread_time() - started
        yield from records


def routed_records(engine: RouterEngine, batch: int, final: bool, to: int, before: dict[int, int]
                   ) -> Iterator[tuple]:  # fmt: skip
    """What the router sends after a batch: ``S`` per bucket with work (every bucket when ``final``), ``C``
    with its closed clickthroughs, and ``F`` at the end. The batch's read requests and how many buckets
    answer them ride with the first bucket's record, whose subtask passes them on to the gather (a union
    of the router's and the buckets' streams cannot be keyed in PyFlink at P > 1), with the batch whose
    requests went to the same gather key before (``before``: gather key -> that batch, updated here). ``to``:
    the gather key of the batch."""
    ops, requests, read_buckets, closed = engine.take()
    previous = before.get(to)
    if requests:
        before[to] = batch
    clock = engine.clock if final else None
    buckets = range(BUCKETS) if final else sorted(ops) or ([0] if requests else [])
    for i, bucket in enumerate(buckets):
        gather = (requests, len(read_buckets), previous) if requests and i == 0 else None
        yield "S", bucket, batch, ops.get(bucket, ()), clock, gather, to
    if closed:
        yield "C", closed
    if final:
        yield ("F",)


class StateHost(KeyedProcessFunction):
    """Keyed by bucket: the feature state of the bucket's scope ids in one MapState per namespace."""

    def __init__(self, config: Config, exchange: Exchange, gather_owners: dict[int, int], listener: Any = None
                 ) -> None:  # fmt: skip
        self.config, self.listener, self.exchange = config, listener, exchange
        self.gather_owners = gather_owners
        """Gather key -> its subtask. A gather subtask in this interpreter (slot sharing puts the one of the
        same index there) gets records by reference (``apply_ops(full=True)``); the others get what their copies
        lack (``Snapshots``), for which the buckets log their writes when some gather subtask has another
        index (without a log, records by value)."""

    def open(self, runtime_context: RuntimeContext) -> None:
        share_interpreter()
        self.features = FeatureSet(self.config.all_features)
        self.states = _map_states(runtime_context, list(self.features.namespaces.values()))
        if self.listener is not None:
            self.listener.open()
        self.stores: dict[int, tuple[MapStateStore, Snapshots | None]] = {}
        self.subtask, self.received = subtask_index(runtime_context), 0
        """This subtask's index and the writes and reads it has applied (the test of the spread reads them)."""
        self.exchange.open("state", self.subtask)
        self.logs = any(owner != self.subtask for owner in self.gather_owners.values())

    def close(self) -> None:
        self.exchange.close()

    def process_element(self, record: tuple, ctx: KeyedProcessFunction.Context) -> Iterator[tuple]:
        _, bucket, batch, ops, final_clock, gather, to = self.exchange.receive(record)
        self.received += len(ops)
        held = self.stores.get(bucket)
        if held is None:
            held = self.stores[bucket] = (MapStateStore(self.states), Snapshots() if self.logs else None)
        store, owner = held[0], self.gather_owners[to]
        answers = apply_ops(self.features, store, ops, held[1], to, self.exchange.local("gather", owner))
        if self.listener is not None:
            self.listener(self.features, store, ops)
        store.flush()
        send = self.exchange.send
        if gather is not None:
            yield Row(to, send("gather", owner, ("G", to, batch, *gather)))
        if answers is not None:
            yield Row(to, send("gather", owner, ("A", to, batch, answers)))
        if final_clock is not None:
            latest = latest_records(self.features, store, final_clock)
            yield ROWS, send("rows", 0, ("L", latest, self.subtask, self.received))


class GatherHost(KeyedProcessFunction):
    """Keyed by gather key (one per subtask, ``gather_keys``): a batch's read requests and answers -> its
    rankings' values."""

    def __init__(self, config: Config, exchange: Exchange) -> None:
        self.config, self.exchange = config, exchange

    def open(self, runtime_context: RuntimeContext) -> None:
        share_interpreter()
        self.gather = Gather(FeatureSet(self.config.all_features))
        self.exchange.open("gather", subtask_index(runtime_context))

    def close(self) -> None:
        self.exchange.close()

    def process_element(self, record: tuple, ctx: KeyedProcessFunction.Context) -> Iterator[tuple]:
        record = self.exchange.receive(record)
        self.gather.pack = not self.exchange.local("rows", 0)
        if record[0] == "G":
            values = self.gather.requests(record[2], record[3], record[4], record[1], record[5])
        else:
            values = self.gather.answers(record[2], record[3])
        if values:
            yield self.exchange.send("rows", 0, ("V", values))


class SinkHost(FlatMapFunction):
    """Parallelism 1: clickthroughs in router order as their values arrive; at the end (the router's ``F``
    and every bucket's latest records) the job's sink finishes and ``done_file`` signals completion."""

    def __init__(self, factory: KeyedFactory, done_file: str | None, exchange: Exchange) -> None:
        self.factory, self.done_file, self.exchange = factory, done_file, exchange

    def open(self, runtime_context: RuntimeContext) -> None:
        share_interpreter()
        self.exchange.open("rows", 0)
        self.sink = self.factory.sink()
        self.reassembly = Reassembly(FeatureSet(self.factory.config.all_features))
        self.latest: list[list] = []
        self.subtasks: dict[int, int] = {}
        self.final = False

    def close(self) -> None:
        self.exchange.close()

    def flat_map(self, record: tuple) -> Iterator[Any]:
        started = time.thread_time()
        record = self.exchange.receive(record)
        tag = record[0]
        if tag == "C":
            ready = self.reassembly.closed(record[1])
        elif tag == "V":
            ready = self.reassembly.computed(record[1])
        else:
            ready = iter(())
            if tag == "L":
                self.latest.append(record[1])
                self.subtasks[record[2]] = max(record[3], self.subtasks.get(record[2], 0))
            else:
                self.final = True
        for clickthrough in ready:
            self.sink.add(clickthrough)
        self.sink.busy += time.thread_time() - started
        if self.final and len(self.latest) == BUCKETS and not self.reassembly.waiting:
            self.sink.finish(merge_latest(self.latest), dict(sorted(self.subtasks.items())))
            self.final, self.latest = False, []
            signal_done(self.done_file)
        return iter(())


ROWS = OutputTag("rows", Types.PICKLED_BYTE_ARRAY())
"""The side output to the rows operator (clickthroughs, the end, every bucket's latest records): no filter
unpickles the main outputs' records only to drop them."""


def _shard(batch: tuple) -> int:
    return batch[0]


class KeyedBatcher(Batcher):
    """``Batcher`` emitting ``Row(shard, batch)`` for ``_keyed``."""

    def flat_map(self, line: str) -> Iterator[Row]:
        for batch in super().flat_map(line):
            yield Row(batch[0], batch)


KEYED = Types.ROW([Types.INT(), Types.PICKLED_BYTE_ARRAY()])
"""What the router and the state subtasks emit: ``Row(key, record)``, keyed by ``_keyed`` on its first field."""


def _keyed(stream: DataStream) -> KeyedStream:
    """``stream`` of ``Row(key, record)`` keyed by the key, what PyFlink's ``key_by`` builds after its own Python
    operator, which unpickles and pickles every record again only to compute the key."""
    j_keyed = stream._j_data_stream.keyBy(get_gateway().jvm.KeyByKeySelector(), Types.ROW([Types.INT()]).get_java_type_info())
    return KeyedStream(j_keyed, Types.PICKLED_BYTE_ARRAY(), stream)


def bucket_keys() -> list[int]:
    """Per bucket, the smallest int key in the Flink key group of the same number (maxParallelism
    ``BUCKETS``; PyFlink's ``key_by`` keys are one-field Rows): each subtask owns a contiguous range of
    buckets, as even as Flink's key group ranges (keyed by the bucket number itself, one of two subtasks
    got 60% of the writes)."""
    jvm = get_gateway().jvm
    assign = jvm.org.apache.flink.runtime.state.KeyGroupRangeAssignment.assignToKeyGroup
    found: dict[int, int] = {}
    key = 0
    while len(found) < BUCKETS:
        row = jvm.org.apache.flink.types.Row(1)
        row.setField(0, key)
        found.setdefault(assign(row, BUCKETS), key)
        key += 1
    return [found[group] for group in range(BUCKETS)]


def gather_keys(parallelism: int, keys: list[int]) -> list[int]:
    """A key (of ``bucket_keys``) of each gather subtask that computes values: batches go to them in turn,
    and a bucket's entries go to a gather key that keeps them (``Snapshots.answer``). At parallelism > 1 every
    subtask but the first: the first shares its slot, so its TaskManager's interpreter, with the
    parallelism-1 operators (router, rows), which are the graph's serial part."""
    ranges = get_gateway().jvm.org.apache.flink.runtime.state.KeyGroupRangeAssignment
    first = [ranges.computeKeyGroupRangeForOperatorIndex(BUCKETS, parallelism, i).getStartKeyGroup()
             for i in range(min(parallelism, 2) - 1, parallelism)]  # fmt: skip
    return [keys[group] for group in first]


def owners(parallelism: int) -> list[int]:
    """Per bucket (= key group, ``bucket_keys``), the index of the subtask owning it at ``parallelism``."""
    ranges = get_gateway().jvm.org.apache.flink.runtime.state.KeyGroupRangeAssignment
    return [ranges.computeOperatorIndexForKeyGroup(BUCKETS, parallelism, group) for group in range(BUCKETS)]


LOCAL_EXCHANGE = "RANKSTREAM_LOCAL_EXCHANGE"
"""Set to 0 to send every record between the graph's operators by value, even inside one interpreter."""


def keyed_graph(lines: DataStream, factory: KeyedFactory, done_file: str | None, *, batch_size: int,
                uid: str, linger_ms: int | None = None) -> DataStream:  # fmt: skip
    """Lines (in input order) -> the keyed graph above; returns the sink's (empty) output stream. With
    ``linger_ms`` (the update job) batches also close that long after their first line (``timed_batches``)."""
    pickled, keys = Types.PICKLED_BYTE_ARRAY(), bucket_keys()
    parallelism = max(lines.get_execution_environment().get_parallelism(), 1)
    owner = owners(parallelism)
    exchange = Exchange(os.environ.get(LOCAL_EXCHANGE, "1") != "0")
    gathers = gather_keys(parallelism, keys)
    if linger_ms is None:
        batches = _keyed(lines.flat_map(KeyedBatcher(batch_size), output_type=KEYED).name("batcher").uid("batcher")
                         .set_parallelism(1))  # fmt: skip
    else:
        batches = timed_batches(lines, batch_size, linger_ms).key_by(_shard, key_type=Types.INT())
    routed = (
        batches
        .process(RouterHost(factory, keys, gathers, owner, exchange), output_type=KEYED)
        .name("router").uid(f"{uid}-router").set_parallelism(1).set_max_parallelism(BUCKETS)
    )

    parts = (
        _keyed(routed)
        .process(StateHost(factory.config, exchange, {key: owner[keys.index(key)] for key in gathers},
                           factory.state_listener()), output_type=KEYED).name("feature-state")
        .uid(f"{uid}-bucket-state").set_max_parallelism(BUCKETS)
    )
    values = (
        _keyed(parts)
        .process(GatherHost(factory.config, exchange), output_type=pickled).name("gather").uid(f"{uid}-gather")
        .set_max_parallelism(BUCKETS)
    )
    return (
        routed.get_side_output(ROWS).set_parallelism(1)  # PyFlink maps side outputs: keep the router's order
        .union(parts.get_side_output(ROWS), values)
        .flat_map(SinkHost(factory, done_file, exchange), output_type=pickled).name("rows").uid(f"{uid}-sink")
        .set_parallelism(1)
    )
