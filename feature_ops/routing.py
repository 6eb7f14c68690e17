"""The engine split by scope id: a router, state parts owning the scope ids of one bucket each, a gather.

The embedded ``Engine`` applies every event to all feature state in one total order. Split over P workers:

* the **router** (one, sees every event in input order) runs the engine's clock, sessions, clickthroughs and
  item field join, and the pure extractors; it never holds feature state. Each write goes to the bucket of
  its scope id (``bucket_of``); each ranking becomes one read per bucket holding a key it reads, in place.
  A ranking's values are a ``ValuesRef`` until the gather has computed them;
* a **state part** per bucket applies its writes and answers its reads in the order the router produced
  them (``apply_ops``): a read sees exactly the records the embedded engine would read at that event;
* the **gather** computes a ranking's values with ``FeatureSet.values`` over the records of all its parts
  (``ranking_values``), the same code as embedded. It keeps a copy of what it read: a bucket sends a record
  once, then only the writes to it (``Snapshots``), and values go on as float64 bytes (``pack_values``);
* the **reassembly** hands the router's clickthroughs on in the router's order as their values arrive.

Keys that only a first read can name (``rate`` over ``item.<field>`` reads an item's field value, then the
counters of that value) are named by the router from its copy of those states (``dependent_states``), so
every ranking needs one read round.
"""

from __future__ import annotations

import zlib
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from itertools import chain
from typing import Any

from feature_ops.clickthrough import Clickthrough, Pending
from feature_ops.config import Config
from feature_ops.engine import Engine
from feature_ops.events import Event, RankingEvent
from feature_ops.featureset import ColumnReader, FeatureSet, RecordReader
from feature_ops.state import additive, apply_write, apply_writes, combines, visible
from feature_ops.store import Store

BUCKETS = 128
"""Scope ids hash into this many buckets, Flink's ``maxParallelism``: fixed, so state restores at any P."""

WriteOp = tuple
"""(state, scope id, value, timestamp): one feature write; (state, scope id, sum, first, last timestamp):
additive writes in a row to one record (``state.apply_writes``), e.g. a hot global counter's."""
ReadOp = tuple[int, list[tuple[str, tuple[str, ...]]]]
"""(ranking ref, [(scope id, states read for it)]): one ranking's reads in one bucket."""
Answer = tuple[int, list[tuple]]
"""(ranking ref, [entry]): what a read found that its gather key does not hold yet (``Snapshots.answer``)."""


def bucket_of(scope_id: str) -> int:
    """The bucket owning a scope id: stable across processes and runs (``hash`` is salted per process).

    >>> bucket_of("global"), bucket_of("item-1") == bucket_of("item-1")
    (3, True)
    """
    return zlib.crc32(scope_id.encode()) % BUCKETS


class ValuesRef:
    """A ranking's feature values, computed downstream: what the router keeps in the ranking's session."""

    __slots__ = ("seq",)

    def __init__(self, seq: int) -> None:
        self.seq = seq

    def __reduce__(self):
        return ValuesRef, (self.seq,)


class RouterEngine(Engine):
    """The engine without feature state: writes and reads become per-bucket operations (see the module doc).

    ``take()`` returns and clears what the events since the last call produced: ops per bucket, the read
    requests ``[(ref, ranking, dependent keys)]``, the buckets they read, and for the reassembly ``("ct", ranking, ref, interactions)`` per
    clickthrough and ``("drop", ref)`` per ranking whose session closed without one.
    """

    def __init__(self, config: Config, store: Store) -> None:
        super().__init__(config, store)
        self.emit = self._emitted
        specs = self.features.write_targets
        self.replicas = {state: specs[state] for state in self.features.dependent_states}
        self.additive = {state: spec for state, (_, spec) in specs.items() if additive(spec)}
        self._buckets: dict[str, int] = {}
        self._reads: dict[tuple, tuple] = {}
        self._replicas_reader: RecordReader | None = None
        self._reset()

    @property
    def namespaces(self) -> list[str]:
        """The router's own namespaces: item fields, sessions, clock, and its copies of ``dependent_states``."""
        return [self.fields_ns, self.sessions_ns, self.clock_ns, *(ns for ns, _ in self.replicas.values())]

    def _reset(self) -> None:
        self.ops: dict[int, list] = {}
        self.open_sums: dict[int, dict[tuple[str, str], int]] = {}
        """Bucket -> (state, scope id) -> the index in its ops of a write later additive writes can join
        (until a read in the bucket)."""
        self.requests: list[tuple[int, RankingEvent, dict[str, list[str]]]] = []
        self.read_buckets: set[int] = set()
        self.closed: list[tuple] = []

    def take(self) -> tuple[dict[int, list], list[tuple], set[int], list[tuple]]:
        out = self.ops, self.requests, self.read_buckets, self.closed
        self._reset()
        return out

    def bucket(self, scope_id: str) -> int:
        cache = self._buckets
        b = cache.get(scope_id)
        if b is None:
            if len(cache) > 1_000_000:
                cache.clear()
            b = cache[scope_id] = bucket_of(scope_id)
        return b

    def _apply(self, event: Event) -> None:
        ops, bucket, ts, replicas, sums = self.ops, self.bucket, event.timestamp, self.replicas, self.open_sums
        for state, sid, value in self.features.writes(event):
            b = bucket(sid)
            part = ops.get(b)
            if part is None:
                part = ops[b] = []
            spec = self.additive.get(state)
            if spec is None:
                part.append((state, sid, value, ts))
            else:
                self._add(part, sums.setdefault(b, {}), spec, (state, sid), value, ts)
            if state in replicas:
                ns, spec = replicas[state]
                self.store.put(ns, sid, apply_write(spec, self.store.get(ns, sid), value, ts))

    @staticmethod
    def _add(part: list, sums: dict[tuple[str, str], int], spec, key: tuple[str, str], value: Any, ts: int) -> None:
        """Append an additive write to a bucket's ops, or join it to the open one on its record: a hot key (a
        global counter every impression writes) costs its bucket one op per read of it, not one per write."""
        at = sums.get(key)
        if at is not None:
            op = part[at]
            total, first, last = (op[2], op[3], op[3]) if len(op) == 4 else op[2:]
            if combines(spec, total, first, last, value, ts):
                part[at] = (key[0], key[1], total + value, first, ts)
                return
        sums[key] = len(part)
        part.append((key[0], key[1], value, ts))

    def values(self, request: RankingEvent, online: bool) -> ValuesRef:  # type: ignore[override]
        ref = self._next_ref()
        per: dict[int, list] = {}
        interned = self._reads
        for ids, states in self.features.key_groups(request):
            read = tuple(states)
            read = interned.setdefault(read, read)  # one object: pickled once per record
            for sid in ids:
                per.setdefault(self.bucket(sid), []).append((sid, read))
        dependent = {}
        if self.replicas:
            reader = self._replica_reader(request.timestamp)
            dependent = self.features.dependent_keys(request, reader, request.timestamp)
            for state, sids in dependent.items():
                for sid in sids:
                    per.setdefault(self.bucket(sid), []).append((sid, (state,)))
        for b, reads in per.items():
            self.ops.setdefault(b, []).append((ref, reads))
            self.open_sums.pop(b, None)
        self.read_buckets.update(per)
        self.requests.append((ref, request, dependent))
        return ValuesRef(ref)

    def _replica_reader(self, now: int) -> RecordReader:
        """A reader of the router's copies of ``dependent_states`` at ``now`` (one object, reused like
        ``Engine.reader``'s: built on the first ranking, not per ranking)."""
        reader = self._replicas_reader
        if reader is None:
            getters = {ns: _unreadable(ns) for ns in self.features.namespaces.values()}
            getters.update({ns: partial(self.store.get, ns) for ns, _ in self.replicas.values()})
            reader = self._replicas_reader = RecordReader(self.features, None, now, getters)
        reader.now = now
        return reader

    def _next_ref(self) -> int:
        ref = (self.store.get(self.clock_ns, "refs") or 0) + 1
        self.store.put(self.clock_ns, "refs", ref)
        return ref

    def _emitted(self, ct: Clickthrough) -> None:
        self.closed.append(("ct", ct.ranking, ct.values.seq, ct.interactions))  # type: ignore[attr-defined]

    def _close(self, pending: Pending) -> None:
        before, was_flushed = len(self.closed), pending.flushed
        super()._close(pending)
        if not was_flushed and len(self.closed) == before and isinstance(pending.values, ValuesRef):
            self.closed.append(("drop", pending.values.seq))


def _unreadable(namespace: str) -> Callable[[str], Any]:
    def get(scope_id: str) -> Any:
        raise KeyError(f"dependent_keys read {namespace!r}, which no feature declares in dependent_states()")

    return get


class Snapshots:
    """One bucket's answers to reads, per gather key: nothing for an entry (scope id, states) the key holds as
    it is, the writes since the version it holds when the bucket still logs them, else the records. The
    writes to a scope id are numbered 1, 2, ...; its version is the number of its latest write (0: none since
    this object started), and ``sent`` remembers the version each gather key holds. A gather key applies what
    it receives in its batches' order (``Gather``), so its copy is the bucket's at every read: records cross
    the JVM boundary once, then only the writes to them."""

    def __init__(self, limit: int = 200_000, log: int = 8) -> None:
        self.limit, self.log = limit, log
        self.logs: dict[str, deque[tuple]] = {}
        """Scope id -> its latest ``log`` writes ``(number, state, value, ts)``, oldest first."""
        self.sent: dict[int, dict[tuple, int]] = {}

    def written(self, op: tuple) -> None:
        """Log a write op (``WriteOp``) just applied."""
        sid = op[1]
        log = self.logs.get(sid)
        if log is None:
            if len(self.logs) > self.limit:
                self.logs, self.sent = {}, {}
            log = self.logs[sid] = deque(maxlen=self.log)
            log.append((1, op))
        else:
            log.append((log[-1][0] + 1, op))

    def answer(self, store: Store, namespaces: dict[str, str], sid: str, states: tuple[str, ...], to: int
               ) -> tuple | None:  # fmt: skip
        """What gather key ``to`` needs to read ``states`` of ``sid`` now: None (it holds them as they are),
        ``(sid, states, None, [(state index, *the write op's value and timestamps)])`` (the writes to apply) or
        ``(sid, states, records)``."""
        sent = self.sent.get(to)
        if sent is None or len(sent) > self.limit:
            sent = self.sent[to] = {}
        key = (sid, states)
        log = self.logs.get(sid)
        version = 0 if log is None else log[-1][0]
        known = sent.get(key)
        if known == version:
            return None
        sent[key] = version
        if known is not None and log[0][0] <= known + 1:  # type: ignore[index]
            delta = [(states.index(op[0]), *op[2:]) for n, op in log  # type: ignore[union-attr]
                     if n > known and op[0] in states]  # fmt: skip
            return (sid, states, None, delta) if delta else None
        return sid, states, tuple([store.get(namespaces[state], sid) for state in states])


def apply_ops(features: FeatureSet, store: Store, ops: Iterable, snapshots: Snapshots | None = None,
              to: int = 0, full: bool = False) -> list[Answer] | None:  # fmt: skip
    """Apply a bucket's writes and answer its reads, in order (a ``WriteOp`` has 4 or 5 fields, a ``ReadOp`` 2),
    for gather key ``to``: ``(ranking ref, entries)`` for the reads with an entry (``Snapshots.answer``),
    None if ``ops`` had no read (the gather counts one answer per bucket that had); ``snapshots``: the
    bucket's, which logs the writes. Without ``snapshots``, or with ``full`` (the gather key gets the records by
    reference, ``jobs.flink.local``), every read is answered with its records: ``(sid, states, records)``."""
    targets, namespaces, get, put = features.write_targets, features.namespaces, store.get, store.put
    written = None if snapshots is None else snapshots.written
    if full or snapshots is None:
        answer = None
        if snapshots is not None:
            snapshots.sent.pop(to, None)  # what ``to`` held is not known any more: a later answer sends records
    else:
        answer = snapshots.answer
    getters: dict[tuple[str, ...], list[Callable[[str], Any]]] = {}
    answers: list[Answer] = []
    reads = False
    for op in ops:
        if len(op) == 4:
            state, sid, value, ts = op
            ns, spec = targets[state]
            put(ns, sid, apply_write(spec, get(ns, sid), value, ts))
            if written is not None:
                written(op)
        elif len(op) == 5:
            state, sid, total, first, last = op
            ns, spec = targets[state]
            put(ns, sid, apply_writes(spec, get(ns, sid), total, first, last))
            if written is not None:
                written(op)
        else:
            ref, keys = op
            reads = True
            if answer is None:
                entries = []
                for sid, states in keys:
                    gets = getters.get(states)
                    if gets is None:
                        gets = getters[states] = [store.getter(namespaces[state]) for state in states]
                    entries.append((sid, states, tuple([g(sid) for g in gets])))
            else:
                entries = [e for sid, states in keys if (e := answer(store, namespaces, sid, states, to)) is not None]
            if entries:
                answers.append((ref, entries))
    return answers if reads else None


def latest_records(features: FeatureSet, store: Store, now: int) -> list[tuple[str, str, tuple]]:
    """(state, scope id, record) of every record visible at ``now`` in one bucket's store."""
    out = []
    for state, ns in features.namespaces.items():
        spec = features.specs[state]
        out.extend((state, sid, record) for sid, record in store.items(ns) if visible(spec, record, now) is not None)
    return out


def merge_latest(parts: Iterable[list[tuple[str, str, tuple]]]) -> list[tuple[str, str, tuple]]:
    """All buckets' ``latest_records`` in ``Engine.latest()``'s order (state, then scope id)."""
    return sorted((r for part in parts for r in part), key=lambda r: (r[0], r[1]))


def ranking_values(features: FeatureSet, request: RankingEvent, dependent: dict[str, list[str]],
                   records: dict[tuple, tuple]) -> dict[str, list]:  # fmt: skip
    """``FeatureSet.values`` of a request as of its timestamp, over ``records``: (scope id, states) -> their
    records, for every key group (``FeatureSet.key_groups``) and dependent key the router asked for."""
    columns: dict[str, tuple[list, Any]] = {}
    for ids, states in features.key_groups(request):
        read, sids = tuple(states), list(ids)
        for state, column in zip(read, zip(*[records[sid, read] for sid in sids], strict=True), strict=True):
            columns[state] = (sids, column)
    for state, sids in dependent.items():
        column = [records[sid, (state,)][0] for sid in sids]
        if state in columns:
            known = columns[state]
            sids, column = [*known[0], *sids], [*known[1], *column]
        columns[state] = (sids, column)
    return features.values(request, ColumnReader(features, columns, request.timestamp), request.timestamp, False)


class Gather:
    """Collects a batch's read requests (from the router) and answers (from every bucket that had reads),
    then computes each ranking's values, packed (``pack_values``).

    A gather key holds a copy of every entry it was answered (``Snapshots.answer``: records, or writes to
    apply to the copy). It applies a batch's answers ranking by ranking while computing the batch, and
    computes its batches in the order the router sent them (each request names the key's batch before it):
    so every ranking reads what its buckets held when they answered it, although parts of later batches may
    arrive first. An entry keeps its records object until a write changes it (feature memos key on record
    identity)."""

    def __init__(self, features: FeatureSet) -> None:
        self.features = features
        self.pack = True
        """Whether values go on packed (``pack_values``); as their dicts when they are passed by reference."""
        self.pending: dict[int, list] = {}
        """Batch -> [requests, parts expected, answers received, parts received, gather key, batch before]."""
        self.held: dict[int, dict[tuple, tuple]] = {}
        self.last: dict[int, int] = {}
        """Gather key -> its batch computed last."""
        self.after: dict[tuple[int, int], int] = {}
        """(gather key, batch) -> the key's batch after it, once its requests are in."""

    def requests(self, batch: int, requests: list[tuple], parts: int, key: int, before: int | None
                 ) -> list[tuple[int, bytes | dict]]:  # fmt: skip
        entry = self._entry(batch)
        entry[0], entry[1], entry[4], entry[5] = requests, parts, key, before
        if before is not None:
            self.after[key, before] = batch
        return self._ready(batch)

    def answers(self, batch: int, answers: list[Answer]) -> list[tuple[int, bytes | dict]]:
        entry = self._entry(batch)
        entry[2].extend(answers)
        entry[3] += 1
        return self._ready(batch)

    def _entry(self, batch: int) -> list:
        entry = self.pending.get(batch)
        if entry is None:
            entry = self.pending[batch] = [None, None, [], 0, None, None]
        return entry

    def _ready(self, batch: int) -> list[tuple[int, bytes | dict]]:
        out: list[tuple[int, bytes | dict]] = []
        entry = self.pending.get(batch)
        while entry is not None and entry[0] is not None and entry[3] >= entry[1]:
            key, before = entry[4], entry[5]
            if before is not None and self.last.get(key) != before:
                break
            del self.pending[batch]
            out.extend(self._compute(entry[0], entry[2], self.held.setdefault(key, {})))
            self.last[key] = batch
            batch = self.after.pop((key, batch), None)  # type: ignore[assignment]
            entry = None if batch is None else self.pending.get(batch)
        return out

    def _compute(self, requests: list[tuple], answers: list[Answer], held: dict[tuple, tuple]
                 ) -> list[tuple[int, bytes | dict]]:  # fmt: skip
        by_ref: dict[int, list[tuple]] = {}
        for ref, entries in answers:
            known = by_ref.get(ref)
            if known is None:
                by_ref[ref] = entries
            else:
                known.extend(entries)
        specs, out = self.features.specs, []
        for ref, request, dependent in requests:
            for entry in by_ref.get(ref, ()):
                if len(entry) == 3:
                    held[entry[0], entry[1]] = entry[2]
                    continue
                sid, states, _, writes = entry
                records = held.get((sid, states))
                if records is None:
                    raise RuntimeError(f"gather: writes for ({sid!r}, {states}) before its records")
                changed = list(records)
                for write in writes:
                    i = write[0]
                    if len(write) == 3:
                        changed[i] = apply_write(specs[states[i]], changed[i], write[1], write[2])
                    else:
                        changed[i] = apply_writes(specs[states[i]], changed[i], *write[1:])
                held[sid, states] = tuple(changed)
            values = ranking_values(self.features, request, dependent, held)
            out.append((ref, pack_values(values) if self.pack else values))
        return out


def pack_values(values: dict[str, list]) -> bytes:
    """A ranking's values as float64 bytes, feature by feature, column by column (``unpack_values``): the
    values of a whole batch cross the JVM boundary as a few byte strings, not a million float objects."""
    return array("d", chain.from_iterable(chain.from_iterable(values.values()))).tobytes()


def value_layout(features: FeatureSet) -> list[tuple[str, int]]:
    """(feature name, its number of columns), in ``FeatureSet.values`` order: how ``unpack_values`` reads."""
    return [(f.name, len(f.columns())) for f in features.features]


def unpack_values(layout: list[tuple[str, int]], packed: bytes, items: int) -> dict[str, list]:
    """``pack_values``' input again, for a ranking of ``items`` items."""
    flat = array("d")
    flat.frombytes(packed)
    if len(flat) != items * sum(width for _, width in layout):
        raise ValueError(f"packed values: {len(flat)} floats for {items} items of the layout {layout}")
    floats = flat.tolist()
    out, at = {}, 0
    for name, width in layout:
        out[name] = [floats[at + i * items : at + (i + 1) * items] for i in range(width)]
        at += width * items
    return out


class Reassembly:
    """The router's clickthroughs, in the router's order, each once its values (packed, or their dict) have
    arrived."""

    def __init__(self, features: FeatureSet) -> None:
        self.layout = value_layout(features)
        self.queue: deque[tuple] = deque()
        self.values: dict[int, bytes | dict] = {}
        self.dropped: set[int] = set()

    def closed(self, items: Iterable[tuple]) -> Iterator[Clickthrough]:
        for item in items:
            if item[0] == "drop":
                if self.values.pop(item[1], None) is None:
                    self.dropped.add(item[1])
            else:
                self.queue.append(item)
        return self._ready()

    def computed(self, values: Iterable[tuple[int, bytes | dict]]) -> Iterator[Clickthrough]:
        for ref, packed in values:
            if ref in self.dropped:
                self.dropped.discard(ref)
            else:
                self.values[ref] = packed
        return self._ready()

    @property
    def waiting(self) -> int:
        """Clickthroughs still waiting for their values."""
        return len(self.queue)

    def _ready(self) -> Iterator[Clickthrough]:
        queue, values = self.queue, self.values
        while queue and queue[0][2] in values:
            _, ranking, ref, interactions = queue.popleft()
            got = values.pop(ref)
            got = got if isinstance(got, dict) else unpack_values(self.layout, got, len(ranking.items))
            yield Clickthrough(ranking, got, interactions)
