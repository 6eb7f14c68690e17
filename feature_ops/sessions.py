"""Open clickthrough sessions as JSON: what a standalone API needs to continue the bootstrap's sessions.

One object per session: ``{"ranking": <the ranking event>, "interactions": [[item, type, ts], ...],
"deepest", "expires", "flushed"}``. The values captured when the ranking arrived are left out: only a
bootstrap writes training rows, and it has written these sessions' rows already (``flushed``). Sessions
without a ranking (interactions that named a ranking not seen yet) are left out too: they never join.

>>> from feature_ops.events import RankingEvent, RankItem
>>> ranking = RankingEvent("r1", 1000, [RankItem("a", 0.5), RankItem("b", label=2.0)], "u", "s", {"q": ("x",)})
>>> pending = Pending(ranking, None, [("a", "click", 1100)], deepest=0, expires=1_801_100, flushed=True)
>>> session_from_json(session_to_json("r1", pending)) == ("r1", pending)
True
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from feature_ops.clickthrough import Pending
from feature_ops.events import FieldValue, RankingEvent, parse_event


def session_to_json(ranking_id: str, pending: Pending) -> dict[str, Any]:
    return {
        "id": ranking_id,
        "ranking": ranking_to_json(pending.ranking),  # type: ignore[arg-type]
        "interactions": [list(i) for i in pending.interactions],
        "deepest": pending.deepest,
        "expires": pending.expires,
        "flushed": pending.flushed,
    }


def session_from_json(obj: dict[str, Any]) -> tuple[str, Pending]:
    ranking = parse_event(obj["ranking"])
    interactions = [(item, kind, ts) for item, kind, ts in obj["interactions"]]
    return obj["id"], Pending(ranking, None, interactions, obj["deepest"], obj["expires"], obj["flushed"])  # type: ignore[arg-type]


def sessions_to_json(sessions: Iterable[tuple[str, Pending]]) -> Iterator[dict[str, Any]]:
    """``session_to_json`` of every session that has its ranking (``Engine.open_sessions`` output)."""
    return (session_to_json(rid, p) for rid, p in sessions if p.ranking is not None)


def ranking_to_json(ranking: RankingEvent) -> dict[str, Any]:
    """The ranking as a Metarank event that ``parse_event`` reads back unchanged."""
    items = []
    for it in ranking.items:
        item: dict[str, Any] = {"id": it.id}
        if it.relevancy is not None:
            item["relevancy"] = it.relevancy
        if it.fields:
            item["fields"] = _fields(it.fields)
        if it.label is not None:
            item["label"] = it.label
        items.append(item)
    out: dict[str, Any] = {"event": "ranking", "id": ranking.id, "timestamp": ranking.timestamp, "items": items}
    if ranking.user is not None:
        out["user"] = ranking.user
    if ranking.session is not None:
        out["session"] = ranking.session
    if ranking.fields:
        out["fields"] = _fields(ranking.fields)
    return out


def _fields(fields: dict[str, FieldValue]) -> list[dict[str, Any]]:
    return [{"name": name, "value": list(v) if isinstance(v, tuple) else v} for name, v in fields.items()]
