"""One user's browsing history for ``rankstream generate``: sessions, rankings, clicks and likes.

The first-stage order is mostly popularity plus noise (weakly related to what the user wants); clicks follow a
position-based model: a result at 0-based position ``p`` is examined with probability ``(1 + p) ** -EXAM_DECAY``
and clicked, once examined, with a probability that grows with its true relevance grade.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

import numpy as np

from jobs.generate_catalog import GENRES, TITLE_WORDS, Catalog
from jobs.generate_users import SESSION_STREAM, USER_AGENTS, User, grades, relevance_score

START_MS = 1640995200000  # 2022-01-01T00:00:00Z
RANKINGS_START_MS = START_MS + 3_600_000
SPAN_MS = 60 * 86_400_000
SESSION_GAP_MS = 3 * 3_600_000
EXAM_DECAY = 0.4
CLICK_GIVEN_EXAM = np.array([0.07, 0.38, 0.7, 0.88, 0.97])
LIKE_GIVEN_CLICK = np.array([0.0, 0.01, 0.03, 0.08, 0.15])
QUERY_BONUS = 0.8


@dataclass
class Ranking:
    """A ranking before ids are assigned: ``items`` in first-stage order, clicks/likes as (ts, item)."""

    timestamp: int
    user: int
    session: int
    query: str | None
    user_agent: int
    localtime: str
    items: np.ndarray
    relevancy: np.ndarray
    grades: np.ndarray
    clicks: list[tuple[int, int]] = field(default_factory=list)
    likes: list[tuple[int, int]] = field(default_factory=list)


def simulate_user(seed: int, user: User, catalog: Catalog, rankings: int, size: int) -> list[Ranking]:
    """All ``rankings`` of one user, grouped into sessions hours apart, rankings minutes apart."""
    rng = np.random.default_rng([seed, SESSION_STREAM, user.index])
    utility = relevance_score(user, catalog)
    sessions = _session_sizes(rng, rankings)
    starts = np.sort(rng.integers(0, SPAN_MS, len(sessions))) + RANKINGS_START_MS
    out: list[Ranking] = []
    ready_at = 0
    for k, (count, start) in enumerate(zip(sessions, starts, strict=True)):
        ua = user.user_agent if rng.random() < 0.85 else int(rng.integers(0, len(USER_AGENTS)))
        ts = max(int(start), ready_at) // 1000 * 1000
        for _ in range(count):
            ranking = _ranking(rng, user, catalog, utility, size, ts, k + 1, ua)
            out.append(ranking)
            ts = (_last_event(ranking) + int(rng.integers(60_000, 600_000))) // 1000 * 1000
        ready_at = ts + SESSION_GAP_MS
    return out


def _session_sizes(rng: np.random.Generator, rankings: int) -> list[int]:
    sizes = []
    while rankings > 0:
        sizes.append(min(rankings, int(rng.geometric(0.4))))
        rankings -= sizes[-1]
    return sizes


def _ranking(
    rng: np.random.Generator,
    user: User,
    catalog: Catalog,
    utility: np.ndarray,
    size: int,
    ts: int,
    session: int,
    ua: int,
) -> Ranking:
    """One ranking: query, candidates in first-stage order, their true grades, then the user's clicks."""
    query, matches = _query(rng, user, catalog)
    items = _candidates(rng, catalog, matches, size)
    match = matches[items] if matches is not None else np.zeros(size, dtype=bool)
    first_stage = 0.9 * catalog.z_pop[items] + 0.5 * match + rng.normal(0, 0.8, size)
    order = np.argsort(-first_stage, kind="stable")
    items, match, first_stage = items[order], match[order], first_stage[order]
    graded = grades(utility[items] + QUERY_BONUS * match)
    localtime = _localtime(ts, user.utc_offset_min)
    ranking = Ranking(ts, user.index, session, query, ua, localtime, items, np.round(first_stage, 4), graded)
    _click(rng, ranking)
    return ranking


def _query(rng: np.random.Generator, user: User, catalog: Catalog) -> tuple[str | None, np.ndarray | None]:
    """No query (browsing), a genre the user likes, or words from a popular movie's title."""
    kind = rng.random()
    if kind < 0.45:
        return None, None
    if kind < 0.75:
        genre = int(rng.choice(len(GENRES), p=user.genre_weight / user.genre_weight.sum()))
        return GENRES[genre], catalog.genre_matrix[:, genre]
    source = int(rng.choice(catalog.size, p=catalog.popularity / catalog.popularity.sum()))
    words = catalog.title_words[source]
    begin = int(rng.integers(0, len(words)))
    phrase = words[begin : begin + int(rng.integers(1, 3))]
    matches = catalog.word_matrix[:, phrase].all(axis=1)
    return " ".join(TITLE_WORDS[w] for w in phrase), matches


def _candidates(
    rng: np.random.Generator, catalog: Catalog, matches: np.ndarray | None, size: int
) -> np.ndarray:
    """``size`` distinct movies drawn without replacement with weight sqrt(popularity), query matches first.

    Uses the Gumbel top-k trick: sorting log-weights plus Gumbel noise samples without replacement.
    """
    keys = 0.5 * np.log(catalog.popularity) + rng.gumbel(size=catalog.size)
    if matches is not None:
        keys = keys + np.where(matches, 1e6, 0.0)
    return np.argsort(-keys, kind="stable")[:size]


def _click(rng: np.random.Generator, ranking: Ranking) -> None:
    """Scan top-down: clicks seconds apart in position order, then likes on some clicked movies."""
    positions = np.arange(len(ranking.items))
    examined = rng.random(len(positions)) < (1.0 + positions) ** -EXAM_DECAY
    clicked = examined & (rng.random(len(positions)) < CLICK_GIVEN_EXAM[ranking.grades])
    ts = ranking.timestamp
    for pos in np.flatnonzero(clicked):
        ts += int(rng.integers(2_000, 25_000))
        ranking.clicks.append((ts, int(ranking.items[pos])))
    for pos in np.flatnonzero(clicked):
        if rng.random() < LIKE_GIVEN_CLICK[ranking.grades[pos]]:
            ts += int(rng.integers(5_000, 60_000))
            ranking.likes.append((ts, int(ranking.items[pos])))


def _last_event(ranking: Ranking) -> int:
    return max([ranking.timestamp] + [ts for ts, _ in ranking.clicks + ranking.likes])


def _localtime(ts: int, offset_min: int) -> str:
    zone = UTC if offset_min == 0 else timezone(timedelta(minutes=offset_min))
    return datetime.fromtimestamp(ts / 1000, tz=zone).isoformat(timespec="seconds")
