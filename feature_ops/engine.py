"""The engine: replays time-ordered events into feature state and finished clickthroughs.

It keeps everything in a ``Store`` (dicts in-process, keyed MapState in Flink), so the same object runs
embedded, inside the Flink operator and behind the API's standalone mode. Per event:

1. advance the clock (the largest timestamp seen) and close sessions that expired before it; an event
   older than the clock is counted as out of order (the engine applies events in arrival order, so a
   ranking may count events stamped after it: sort such input by time first);
2. item events refresh the item field store; interactions get the item's fields attached (the join
   some features need, done here so extractors never read state);
3. rankings capture every feature's values *before* their own writes (what the API would have served);
4. interactions join their ranking's open session, injecting cascade impressions first; one processed
   before its ranking is counted and never joined, as its writes are in the ranking's captured values;
5. every feature's writes are applied to the state records.
"""

from __future__ import annotations

import hashlib
import heapq
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping

from feature_ops.clickthrough import (
    Clickthrough,
    Pending,
    every_position,
    first_join,
    impression,
    join_interaction,
    open_ranking,
)
from feature_ops.config import Config
from feature_ops.events import Event, InteractionEvent, ItemEvent, RankingEvent
from feature_ops.featureset import FeatureSet, RecordReader
from feature_ops.state import apply_write, visible
from feature_ops.store import Store

Emit = Callable[[Clickthrough], None]


def summary(stats: Mapping[str, int]) -> list[str]:
    """What a replay's counts mean for its training rows, one line each (the bootstrap prints them).

    >>> for line in summary({"interactions before their ranking": 1200, "rankings reusing an open ranking's id": 1}):
    ...     print(line)
    1,200 interactions arrived before their ranking: they count in features, not as its labels
    1 ranking reused the id of a ranking still open: the earlier one was closed first
    """
    lines = []
    if n := stats.get("interactions before their ranking", 0):
        lines.append(f"{_count(n, 'interaction')} arrived before their ranking: they count in features, not as its labels")
    if n := stats.get("rankings reusing an open ranking's id", 0):
        lines.append(f"{_count(n, 'ranking')} reused the id of a ranking still open: the earlier one was closed first")
    if n := stats.get("events out of order", 0):
        lines.append(
            f"{_count(n, 'event')} arrived out of order (timestamp before an earlier event's): rankings may count "
            "events stamped after them; sort the input by time first: rankstream sort <input> --out <file>"
        )
    return lines


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


class Engine:
    """Feature state plus clickthrough sessions over a store; see the module docstring."""

    def __init__(self, config: Config, store: Store, emit: Emit | None = None) -> None:
        self.config = config
        self.features = FeatureSet(config.all_features)
        self.store = store
        self.emit = emit
        self.session_length = config.core.clickthrough.maxSessionLength
        self.max_sessions = config.core.clickthrough.maxParallelSessions
        impressions = config.bootstrap.syntheticImpression
        self.impression_name = impressions.eventName if impressions.enabled else None
        self.impress_all = impressions.mode == "all"
        self.fields_ns = f"item-fields@{_digest(sorted(self.features.item_fields))}"
        self.sessions_ns = f"clickthrough@{self.features.fingerprint}"
        self.clock_ns = "clock"
        self.stats: Counter[str] = Counter()
        self._heap: list[tuple[int, str]] | None = None
        self._live = 0
        self._reader: RecordReader | None = None
        self._clock: int | None = None

    @property
    def namespaces(self) -> list[str]:
        """Every store namespace this engine uses (the Flink host declares one MapState per namespace)."""
        return [*self.features.namespaces.values(), self.fields_ns, self.sessions_ns, self.clock_ns]

    @property
    def clock(self) -> int:
        if self._clock is None:
            self._clock = self.store.get(self.clock_ns, "now") or 0
        return self._clock

    def process(self, event: Event) -> None:
        self.stats[event.kind] += 1
        if event.timestamp < self.clock:
            self.stats["events out of order"] += 1
        elif event.timestamp > self.clock:
            self._clock = event.timestamp
            self.store.put(self.clock_ns, "now", event.timestamp)
        self._expire(self.clock)
        if event.kind == "interaction":
            self._interaction(event)  # type: ignore[arg-type]
        else:
            if event.kind == "item":
                self._store_item_fields(event)  # type: ignore[arg-type]
            elif event.kind == "ranking":
                self._open_session(event)  # type: ignore[arg-type]
            self._apply(event)
        if self._live > self.max_sessions:
            self._expire(self.clock)

    def finish(self) -> None:
        """Close every open session (end of input, nothing will follow)."""
        self._expire(None)

    def flush(self) -> None:
        """Emit every open session's clickthrough but keep the sessions open: the end of a bootstrap
        whose state a continuing job (restored from its savepoint) may still extend."""
        for rid, pending in sorted(self.store.items(self.sessions_ns), key=lambda kv: (kv[1].expires, kv[0])):
            if not pending.flushed:
                self._close(pending)
                pending.flushed = True
                self.store.put(self.sessions_ns, rid, pending)

    def reader(self, now: int) -> RecordReader:
        """The visible states at ``now`` (one reader object, reused)."""
        if self._reader is None:
            getter = getattr(self.store, "getter", None)
            getters = None if getter is None else {ns: getter(ns) for ns in self.features.namespaces.values()}
            self._reader = RecordReader(self.features, self.store.get, 0, getters)
        self._reader.now = now
        return self._reader

    def values(self, request: RankingEvent, online: bool) -> dict[str, list]:
        """Feature values for a request as of the request's timestamp."""
        return self.features.values(request, self.reader(request.timestamp), request.timestamp, online)

    def latest(self) -> Iterator[tuple[str, str, tuple]]:
        """(state, scope id, record) of every live state record, in a stable order."""
        now = self.clock
        for state, ns in sorted(self.features.namespaces.items()):
            spec = self.features.specs[state]
            for sid, record in sorted(self.store.items(ns)):
                if visible(spec, record, now) is not None:
                    yield state, sid, record

    def item_fields(self) -> Iterator[tuple[str, dict]]:
        """(item id, the fields features join onto its interactions), in a stable order."""
        return iter(sorted(self.store.items(self.fields_ns)))

    def seed_item_fields(self, items) -> None:
        """Restore ``item_fields()`` output, e.g. the bootstrap's, into a fresh engine."""
        for item, fields in items:
            self.store.put(self.fields_ns, item, fields)

    def open_sessions(self) -> Iterator[tuple[str, Pending]]:
        """(ranking id, session) of every session still open, in a stable order: what later interactions can
        still join (the standalone API continues them, ``seed_sessions``)."""
        return iter(sorted(self.store.items(self.sessions_ns), key=lambda kv: kv[0]))

    def seed_sessions(self, sessions: Iterable[tuple[str, Pending]]) -> None:
        """Restore ``open_sessions()`` output into a fresh engine: interactions on those rankings join them
        and inject impressions as they would have in the engine that opened them."""
        self._sessions()  # the heap, before counting what is live
        for rid, pending in sessions:
            self._live += self.store.get(self.sessions_ns, rid) is None
            self._save(rid, pending)

    def _apply(self, event: Event) -> None:
        targets, get, put, ts = self.features.write_targets, self.store.get, self.store.put, event.timestamp
        for state, sid, value in self.features.writes(event):
            ns, spec = targets[state]
            put(ns, sid, apply_write(spec, get(ns, sid), value, ts))

    def _store_item_fields(self, event: ItemEvent) -> None:
        wanted = {k: v for k, v in event.fields.items() if k in self.features.item_fields}
        if wanted:
            old = self.store.get(self.fields_ns, event.item) or {}
            self.store.put(self.fields_ns, event.item, {**old, **wanted})

    def _open_session(self, ranking: RankingEvent) -> None:
        values = self.values(ranking, online=False) if self.emit is not None else None
        previous = self.store.get(self.sessions_ns, ranking.id)
        if previous is None:
            self._live += 1
        elif previous.ranking is None:
            self.stats["interactions before their ranking"] += len(previous.interactions)
        else:
            self.stats["rankings reusing an open ranking's id"] += 1
            self._close(previous)
        self._save(ranking.id, open_ranking(ranking, values, self.session_length))
        if self.impress_all:
            self._impressions(ranking, every_position(ranking), ranking.timestamp)

    def _interaction(self, event: InteractionEvent) -> None:
        if self.features.item_fields:
            event.item_fields = self.store.get(self.fields_ns, event.item) or {}
        if event.ranking is not None and not event.synthetic:
            pending = self.store.get(self.sessions_ns, event.ranking)
            if pending is None:
                pending, self._live = Pending(None, None), self._live + 1
            event.joined = first_join(pending, event)
            fresh = join_interaction(pending, event, self.session_length)
            self._save(event.ranking, pending)
            if pending.ranking is not None and not self.impress_all:
                self._impressions(pending.ranking, fresh, event.timestamp)
        self._apply(event)

    def _impressions(self, ranking: RankingEvent, positions: list[int], ts: int) -> None:
        if self.impression_name is None:
            return
        self.stats["impression"] += len(positions)
        for position in positions:
            self._interaction(impression(ranking, position, self.impression_name, ts))

    def _save(self, ranking_id: str, pending: Pending) -> None:
        self.store.put(self.sessions_ns, ranking_id, pending)
        heapq.heappush(self._sessions(), (pending.expires, ranking_id))

    def _sessions(self) -> list[tuple[int, str]]:
        if self._heap is None:
            self._heap = [(p.expires, rid) for rid, p in self.store.items(self.sessions_ns)]
            self._live = len(self._heap)
            heapq.heapify(self._heap)
        return self._heap

    def _expire(self, now: int | None) -> None:
        heap = self._sessions()
        while heap and (now is None or heap[0][0] < now or self._live > self.max_sessions):
            expires, rid = heapq.heappop(heap)
            pending = self.store.get(self.sessions_ns, rid)
            if pending is None or pending.expires != expires:
                continue
            self.store.delete(self.sessions_ns, rid)
            self._live -= 1
            self._close(pending)

    def _close(self, pending: Pending) -> None:
        if pending.flushed:
            return
        if pending.ranking is None:
            self.stats["interactions without ranking"] += len(pending.interactions)
            return
        ct = Clickthrough(pending.ranking, pending.values or {}, pending.interactions)
        if ct.has_signal():
            self.stats["clickthroughs"] += 1
            if self.emit is not None:
                self.emit(ct)
        else:
            self.stats["rankings without interactions"] += 1


def _digest(parts) -> str:
    return hashlib.sha1(",".join(parts).encode()).hexdigest()[:8]
