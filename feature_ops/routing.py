"""The engine split by scope id: a router, state parts owning the scope ids of one bucket each, a gather.

The embedded ``Engine`` applies every event to all feature state in one total order. Split over P workers:

* the **router** (one, sees every event in input order) runs the engine's clock, sessions, clickthroughs and
  item field join, and the pure extractors; it never holds feature state. Each write goes to the bucket of
  its scope id (``bucket_of``); each ranking becomes one read per bucket holding a key it reads, in place.
  A ranking's values are a ``ValuesRef`` until the gather has computed them;
* a **state part** per bucket applies its writes and answers its reads in the order the router produced
  them (``apply_ops``): a read sees exactly the records the embedded engine would read at that event;
* the **gather** computes a ranking's values with ``FeatureSet.values`` over the records of all its parts
  (``ranking_values``), the same code as embedded;
* the **reassembly** hands the router's clickthroughs on in the router's order as their values arrive.

Keys that only a first read can name (``rate`` over ``item.<field>`` reads an item's field value, then the
counters of that value) are named by the router from its copy of those states (``dependent_states``), so
every ranking needs one read round.
"""

from __future__ import annotations

import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import Any

from feature_ops.clickthrough import Clickthrough, Pending
from feature_ops.config import Config
from feature_ops.engine import Engine
from feature_ops.events import Event, RankingEvent
from feature_ops.featureset import ColumnReader, FeatureSet, RecordReader
from feature_ops.state import apply_write, visible
from feature_ops.store import Store

BUCKETS = 128
"""Scope ids hash into this many buckets, Flink's ``maxParallelism``: fixed, so state restores at any P."""

WriteOp = tuple[str, str, Any, int]
"""(state, scope id, value, timestamp): one feature write."""
ReadOp = tuple[int, list[tuple[str, tuple[str, ...]]]]
"""(ranking ref, [(scope id, states read for it)]): one ranking's reads in one bucket."""
Answer = tuple[int, list[tuple]]
"""(ranking ref, [(scope id, states, their records (None: absent), stamp)]): what a read found."""


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
        ops, bucket, ts, replicas = self.ops, self.bucket, event.timestamp, self.replicas
        for state, sid, value in self.features.writes(event):
            b = bucket(sid)
            part = ops.get(b)
            if part is None:
                part = ops[b] = []
            part.append((state, sid, value, ts))
            if state in replicas:
                ns, spec = replicas[state]
                self.store.put(ns, sid, apply_write(spec, self.store.get(ns, sid), value, ts))

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
    """One bucket's answers to reads: ``(scope id, states, records, stamp)`` entries, reused until a write to
    the scope id. An entry already sent to a gather key goes there again without its records (``None``): the
    gather keeps what each key received (records cross the JVM boundary once per change, not per read)."""

    def __init__(self, limit: int = 200_000) -> None:
        self.by_sid: dict[str, dict[tuple, tuple]] = {}
        self.sent: dict[int, dict[tuple, int]] = {}
        self.stamp, self.limit = 0, limit

    def answer(self, entry: tuple, to: int) -> tuple:
        """``entry`` as sent to gather key ``to``: without its records (None) if that key has them already,
        and with ``...`` for each record unchanged since the entry that key has (records are immutable: a
        write replaces the object)."""
        sent = self.sent.get(to)
        if sent is None or len(sent) > self.limit:
            sent = self.sent[to] = {}
        key = (entry[0], entry[1])
        known = sent.get(key)
        sent[key] = (entry[3], entry[2])
        if known is None:
            return entry
        if known[0] == entry[3]:
            return (entry[0], entry[1], None, entry[3])
        changed = tuple([... if new is old else new for new, old in zip(entry[2], known[1], strict=True)])
        return (entry[0], entry[1], changed, entry[3])

    def written(self, sid: str) -> None:
        self.by_sid.pop(sid, None)

    def entry(self, store: Store, namespaces: dict[str, str], sid: str, states: tuple[str, ...]) -> tuple:
        known = self.by_sid.get(sid)
        if known is None:
            if len(self.by_sid) > self.limit:
                self.by_sid.clear()
            known = self.by_sid[sid] = {}
        entry = known.get(states)
        if entry is None:
            self.stamp += 1
            records = tuple([store.get(namespaces[state], sid) for state in states])
            entry = known[states] = (sid, states, records, self.stamp)
        return entry


def apply_ops(features: FeatureSet, store: Store, ops: Iterable, snapshots: Snapshots | None = None,
              to: int = 0) -> list[Answer]:  # fmt: skip
    """Apply a bucket's writes and answer its reads, in order (a ``WriteOp`` has 4 fields, a ``ReadOp`` 2),
    for gather key ``to``; ``snapshots``: the bucket's (a fresh one answers every read in full)."""
    snapshots = Snapshots() if snapshots is None else snapshots
    targets, namespaces, get, put = features.write_targets, features.namespaces, store.get, store.put
    answers: list[Answer] = []
    for op in ops:
        if len(op) == 4:
            state, sid, value, ts = op
            ns, spec = targets[state]
            put(ns, sid, apply_write(spec, get(ns, sid), value, ts))
            snapshots.written(sid)
        else:
            ref, reads = op
            entry, answer = snapshots.entry, snapshots.answer
            answers.append((ref, [answer(entry(store, namespaces, sid, states), to) for sid, states in reads]))
    return answers


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
    then computes each ranking's values. Parts arrive in any order, but each bucket's in the order it sent
    them: an entry sent without records (``Snapshots.answer``) resolves, on arrival, to the records its gather
    key received with that stamp, and an entry seen before keeps the records object received first (feature
    memos key on record identity). Holds the latest records of every entry it was sent, per gather key."""

    def __init__(self, features: FeatureSet) -> None:
        self.features = features
        self.pending: dict[int, list] = {}
        self.seen: dict[int, dict[tuple, tuple]] = {}

    def requests(self, batch: int, requests: list[tuple], parts: int) -> list:
        entry = self._entry(batch)
        entry[0], entry[1] = requests, parts
        return self._done(batch, entry)

    def answers(self, batch: int, answers: list[Answer], key: int) -> list:
        entry = self._entry(batch)
        seen = self.seen.setdefault(key, {})
        entry[2].extend((ref, self._records(entries, seen)) for ref, entries in answers)
        entry[3] += 1
        return self._done(batch, entry)

    def _entry(self, batch: int) -> list:
        entry = self.pending.get(batch)
        if entry is None:
            entry = self.pending[batch] = [None, None, [], 0]
        return entry

    @staticmethod
    def _records(entries: list[tuple], seen: dict[tuple, tuple]) -> dict[tuple, tuple]:
        out = {}
        for sid, states, records, stamp in entries:
            key = (sid, states)
            known = seen.get(key)
            if known is not None and known[1] == stamp:
                records = known[0]
            elif records is None:
                raise RuntimeError(f"gather: no records for {key} stamp {stamp}: parts of a bucket out of order")
            else:
                if known is not None and ... in records:
                    records = tuple([old if new is ... else new for new, old in zip(records, known[0], strict=True)])
                seen[key] = (records, stamp)
            out[key] = records
        return out

    def _done(self, batch: int, entry: list) -> list[tuple[int, dict[str, list]]]:
        requests, parts, answers, received = entry
        if requests is None or received < parts:
            return []
        del self.pending[batch]
        by_ref: dict[int, dict[tuple, tuple]] = {}
        for ref, records in answers:
            by_ref.setdefault(ref, {}).update(records)
        return [(ref, ranking_values(self.features, request, dependent, by_ref.get(ref, {})))
                for ref, request, dependent in requests]  # fmt: skip


class Reassembly:
    """The router's clickthroughs, in the router's order, each once its values have arrived."""

    def __init__(self) -> None:
        self.queue: deque[tuple] = deque()
        self.values: dict[int, dict[str, list]] = {}
        self.dropped: set[int] = set()

    def closed(self, items: Iterable[tuple]) -> Iterator[Clickthrough]:
        for item in items:
            if item[0] == "drop":
                if self.values.pop(item[1], None) is None:
                    self.dropped.add(item[1])
            else:
                self.queue.append(item)
        return self._ready()

    def computed(self, values: Iterable[tuple[int, dict[str, list]]]) -> Iterator[Clickthrough]:
        for ref, vals in values:
            if ref in self.dropped:
                self.dropped.discard(ref)
            else:
                self.values[ref] = vals
        return self._ready()

    @property
    def waiting(self) -> int:
        """Clickthroughs still waiting for their values."""
        return len(self.queue)

    def _ready(self) -> Iterator[Clickthrough]:
        queue, values = self.queue, self.values
        while queue and queue[0][2] in values:
            _, ranking, ref, interactions = queue.popleft()
            yield Clickthrough(ranking, values.pop(ref), interactions)
