"""Turn simulated catalog, users and rankings into Metarank JSON events with deterministic ids.

Ids: movies ``m<n>``, users ``u<n>``, rankings ``r<n>`` and interactions ``i<n>`` numbered in time order,
item events ``m<n>-v<k>`` (version k of the movie's metadata), user events ``u<n>-p1``.
"""

from __future__ import annotations

import numpy as np

from jobs.generate_catalog import Catalog, item_fields, item_id
from jobs.generate_sessions import RANKINGS_START_MS, SPAN_MS, START_MS, Ranking
from jobs.generate_users import USER_AGENTS, User

KIND_ORDER = {"item": 0, "user": 1, "ranking": 2, "interaction": 3}
UPDATE_SHARE = 0.15
CATALOG_STEP_MS, PROFILE_OFFSET_MS = 10, 1_800_000


def item_events(rng: np.random.Generator, catalog: Catalog) -> list[dict]:
    """One item event per movie at the start, plus a later popularity update for some movies."""
    events = [_item_event(catalog, i, 1, START_MS + CATALOG_STEP_MS * i, catalog.popularity[i])
              for i in range(catalog.size)]  # fmt: skip
    updated = np.flatnonzero(rng.random(catalog.size) < UPDATE_SHARE)
    times = RANKINGS_START_MS + rng.integers(0, SPAN_MS // 1000, len(updated)) * 1000
    growth = rng.lognormal(0.15, 0.3, len(updated))
    for i, ts, g in zip(updated, times, growth, strict=True):
        events.append(_item_event(catalog, int(i), 2, int(ts), round(float(catalog.popularity[i] * g), 3)))
    return events


def user_events(people: list[User]) -> list[dict]:
    """A profile event (age, gender) for the users who have one."""
    return [
        {
            "event": "user",
            "id": f"{user.id}-p1",
            "timestamp": START_MS + PROFILE_OFFSET_MS + CATALOG_STEP_MS * user.index,
            "user": user.id,
            "fields": [{"name": "age", "value": user.age}, {"name": "gender", "value": user.gender}],
        }
        for user in people
        if user.has_profile
    ]


def ranking_events(ranked: list[Ranking]) -> list[dict]:
    """Ranking events; ``ranked`` is in time order and its index gives the id."""
    return [_ranking_event(n, r) for n, r in enumerate(ranked)]


def interaction_events(ranked: list[Ranking]) -> list[dict]:
    """Clicks and likes, ids numbered by (timestamp, user)."""
    rows = []
    for n, r in enumerate(ranked):
        rows += [(ts, r.user, _interaction(n, r, item, "click", ts)) for ts, item in r.clicks]
        rows += [(ts, r.user, _interaction(n, r, item, "like", ts)) for ts, item in r.likes]
    rows.sort(key=lambda row: row[:2])
    for k, (_, _, event) in enumerate(rows):
        event["id"] = f"i{k + 1}"
    return [event for _, _, event in rows]


def truth_line(n: int, ranking: Ranking) -> dict:
    """The hidden relevance grades of one ranking's movies."""
    grades = {item_id(int(i)): int(g) for i, g in zip(ranking.items, ranking.grades, strict=True)}
    return {"ranking": ranking_id(n), "relevance": grades}


def ranking_id(n: int) -> str:
    return f"r{n + 1}"


def _item_event(catalog: Catalog, item: int, version: int, ts: int, popularity: float) -> dict:
    iid = item_id(item)
    fields = item_fields(catalog, item, popularity)
    return {"event": "item", "id": f"{iid}-v{version}", "timestamp": ts, "item": iid, "fields": fields}


def _ranking_event(n: int, r: Ranking) -> dict:
    fields = [{"name": "query", "value": r.query}] if r.query is not None else []
    fields += [
        {"name": "ua", "value": USER_AGENTS[r.user_agent]},
        {"name": "localtime", "value": r.localtime},
    ]
    items = [
        {"id": item_id(int(i)), "relevancy": float(s)} for i, s in zip(r.items, r.relevancy, strict=True)
    ]
    return {
        "event": "ranking",
        "id": ranking_id(n),
        "timestamp": r.timestamp,
        "user": _user_id(r),
        "session": _session_id(r),
        "fields": fields,
        "items": items,
    }


def _interaction(n: int, r: Ranking, item: int, kind: str, ts: int) -> dict:
    return {
        "event": "interaction",
        "id": "",
        "timestamp": ts,
        "ranking": ranking_id(n),
        "user": _user_id(r),
        "session": _session_id(r),
        "type": kind,
        "item": item_id(item),
    }


def _user_id(r: Ranking) -> str:
    return f"u{r.user + 1}"


def _session_id(r: Ranking) -> str:
    return f"{_user_id(r)}-s{r.session}"
