"""Clickthroughs: a ranking, the feature values it was served with, and the interactions that followed.

A ranking opens a session keyed by its id; interactions that name it join while the session is alive
(``maxSessionLength`` after the latest activity, sliding). An interaction processed before its ranking does
not join it (Metarank 0.7 neither): its feature writes are already in the values the ranking captures, so
as a label it would be part of its own features. The engine counts such interactions.
Each interaction deeper than any before injects cascade impressions for the ranked items above it.
Labels come from explicit ``items[].label`` first, else the highest weight among the item's interactions
(unknown types weigh 0).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from feature_ops.events import InteractionEvent, RankingEvent


@dataclass(slots=True)
class Pending:
    """A session in progress: plain data, stored in the engine's state under the ranking id. Without a
    ranking it only remembers interactions that named a ranking not seen yet (counted, never joined)."""

    ranking: RankingEvent | None
    values: dict[str, list] | None
    interactions: list[tuple[str, str, int]] = field(default_factory=list)
    deepest: int = -1
    expires: int = 0
    flushed: bool = False
    """Already written to a dataset by a flush (end of a bootstrap); a continuing job keeps joining it."""


@dataclass(slots=True)
class Clickthrough:
    """A finished session, ready to become training rows."""

    ranking: RankingEvent
    values: dict[str, list]
    interactions: list[tuple[str, str, int]]

    def labels(self, weights: dict[str, float]) -> list[float]:
        best: dict[str, float] = {}
        for item, kind, _ in self.interactions:
            weight = weights.get(kind, 0.0)
            if weight > best.get(item, float("-inf")):
                best[item] = weight
        return [it.label if it.label is not None else best.get(it.id, 0.0) for it in self.ranking.items]

    def has_signal(self) -> bool:
        return bool(self.interactions) or any(it.label is not None for it in self.ranking.items)


def join_interaction(pending: Pending, event: InteractionEvent, session_length: int) -> list[int]:
    """Record an interaction; returns the ranked positions that now count as newly seen (cascade)."""
    pending.interactions.append((event.item, event.type, event.timestamp))
    pending.expires = max(pending.expires, event.timestamp + session_length)
    return deepen(pending, [event.item]) if pending.ranking is not None else []


def open_ranking(ranking: RankingEvent, values: dict | None, session_length: int) -> Pending:
    """A new session for a ranking and the values captured when it arrived."""
    return Pending(ranking, values, expires=ranking.timestamp + session_length)


def deepen(pending: Pending, items: list[str]) -> list[int]:
    """Positions between the previous deepest interaction and the deepest of ``items``, inclusive."""
    ids = [it.id for it in pending.ranking.items]  # type: ignore[union-attr]
    deepest = max((ids.index(i) for i in items if i in ids), default=-1)
    if deepest <= pending.deepest:
        return []
    fresh = list(range(pending.deepest + 1, deepest + 1))
    pending.deepest = deepest
    return fresh


def first_join(pending: Pending, event: InteractionEvent) -> bool:
    """Whether an interaction joins a known ranking that lists its item, as the first of its type on that
    item there (what ``rate``'s ``shownOnly`` counts). Call before ``join_interaction`` records it."""
    ranking = pending.ranking
    if ranking is None or all(it.id != event.item for it in ranking.items):
        return False
    return all(item != event.item or kind != event.type for item, kind, _ in pending.interactions)


def every_position(ranking: RankingEvent) -> list[int]:
    """Every ranked position: the impressions of ``syntheticImpression.mode: all``."""
    return list(range(len(ranking.items)))


def impression(ranking: RankingEvent, position: int, name: str, ts: int) -> InteractionEvent:
    """A synthetic impression of the item at ``position``, with a deterministic id."""
    return InteractionEvent(
        id=f"{ranking.id}#{name}#{position}",
        timestamp=ts,
        item=ranking.items[position].id,
        type=name,
        user=ranking.user,
        session=ranking.session,
        ranking=ranking.id,
        synthetic=True,
    )
