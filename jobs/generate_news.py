"""The ``news`` scenario of ``rankstream generate``: a feed of short-lived articles shown in random order.

* Articles: a topic, a source, a length, a publish time spread over the span and a lifetime of hours to a few
  days, after which they leave the feed; a hidden appeal shared by every reader.
* Users: tastes for a few topics; visits spread over the span, a few feed views per visit.
* A feed view (ranking) shows ``size`` live articles, the newest ones and a random draw of the others, in
  shuffled order: there is no position bias, each shown article is looked at with the same probability.
* A look becomes a click with a probability growing with the article's true relevance grade (0-3) for the
  user: taste for its topic, its appeal, its freshness.
* About ``OUTSIDE_SHARE`` of all clicks come from elsewhere (shared links, other pages): they name no ranking.

The truth file holds each shown article's grade, as for the RankLens-like scenario.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from jobs.generate_sessions import RANKINGS_START_MS, START_MS

TOPICS = ("politics", "world", "business", "tech", "science", "health", "sports", "entertainment", "culture",
          "travel", "food", "local")  # fmt: skip
SOURCES = 25
HOUR, DAY = 3_600_000, 86_400_000
SPAN_MS, WARMUP_MS = 21 * DAY, 2 * DAY
LOOK, OUTSIDE_SHARE = 0.6, 0.3
CLICK_GIVEN_LOOK = np.array([0.01, 0.08, 0.3, 0.6])
GRADE_CUTS = np.array([1.0, 1.9, 2.6])
NEWEST_SHARE = 0.4
VIEW_STREAM, USER_STREAM, ARTICLE_STREAM, OUTSIDE_STREAM = 3, 4, 5, 6


@dataclass(frozen=True)
class Articles:
    topic: np.ndarray
    source: np.ndarray
    words: np.ndarray
    published: np.ndarray
    expires: np.ndarray
    appeal: np.ndarray


@dataclass
class View:
    """One feed view: its time, user, session, the shown articles in display order and their grades."""

    timestamp: int
    user: int
    session: int
    items: np.ndarray
    grades: np.ndarray
    clicks: list[tuple[int, int]]


def make_articles(rng: np.random.Generator, n: int) -> Articles:
    published = START_MS + rng.integers(0, (WARMUP_MS + SPAN_MS) // 1000, n) * 1000
    lifetime = np.clip(rng.lognormal(np.log(30 * HOUR), 0.6, n), 4 * HOUR, 6 * DAY).astype(np.int64)
    return Articles(
        topic=rng.choice(len(TOPICS), n, p=_weights(rng, len(TOPICS))),
        source=rng.integers(0, SOURCES, n),
        words=np.round(rng.lognormal(6.2, 0.5, n)).astype(np.int64),
        published=published,
        expires=published + lifetime,
        appeal=rng.normal(0, 0.7, n),
    )


def simulate(seed: int, articles: Articles, users: int, views: int, size: int) -> list[View]:
    """Every feed view, in time order; each user's visits come from their own seeded stream."""
    rng = np.random.default_rng([seed, VIEW_STREAM])
    per_user = rng.multinomial(views, _weights(rng, users, 0.9))
    out: list[View] = []
    for user, count in enumerate(per_user):
        out += _user_views(np.random.default_rng([seed, USER_STREAM, user]), user, articles, int(count), size)
    out.sort(key=lambda v: (v.timestamp, v.user))
    return out


def outside_clicks(seed: int, articles: Articles, views: list[View]) -> list[tuple[int, int, int, int]]:
    """(timestamp, user, session, article) of clicks without a ranking: about ``OUTSIDE_SHARE`` of all clicks,
    on live articles drawn by appeal, shortly after a view of the same visit."""
    rng = np.random.default_rng([seed, OUTSIDE_STREAM])
    ratio = OUTSIDE_SHARE / (1 - OUTSIDE_SHARE)
    out = []
    for view in views:
        for _ in range(rng.poisson(ratio * len(view.clicks))):
            ts = view.timestamp + int(rng.integers(30, 900)) * 1000
            live = np.flatnonzero((articles.published <= ts) & (ts < articles.expires))
            if not len(live):
                continue
            weights = np.exp(articles.appeal[live])
            out.append((ts, view.user, view.session, int(rng.choice(live, p=weights / weights.sum()))))
    return out


def _user_views(rng: np.random.Generator, user: int, articles: Articles, count: int, size: int) -> list[View]:
    taste = rng.gamma(0.3, size=len(TOPICS))
    taste = taste / taste.max()
    out, session, left = [], 0, count
    while left > 0:
        session += 1
        ts = RANKINGS_START_MS + WARMUP_MS + int(rng.integers(0, SPAN_MS // 1000)) * 1000
        for _ in range(min(left, int(rng.geometric(0.5)))):
            out.append(_view(rng, user, session, ts, articles, taste, size))
            ts = max([ts, *(t for t, _ in out[-1].clicks)]) + int(rng.integers(60, 600)) * 1000
            left -= 1
    return out


def _view(rng: np.random.Generator, user: int, session: int, ts: int, articles: Articles, taste: np.ndarray,
          size: int) -> View:  # fmt: skip
    live = np.flatnonzero((articles.published <= ts) & (ts < articles.expires))
    if not len(live):  # a quiet moment (tiny samples): the latest articles, even if past their lifetime
        live = np.argsort(-np.where(articles.published <= ts, articles.published, 0), kind="stable")[:size]
    newest = live[np.argsort(-articles.published[live], kind="stable")]
    k = min(len(live), size)
    head = newest[: int(NEWEST_SHARE * k)]
    rest = rng.permutation(newest[len(head) :])[: k - len(head)]
    shown = rng.permutation(np.concatenate([head, rest]).astype(np.int64))
    age_days = (ts - articles.published[shown]) / DAY
    utility = 2.0 * taste[articles.topic[shown]] + articles.appeal[shown] - 0.5 * age_days + rng.normal(0, 0.3, k)
    grades = np.searchsorted(GRADE_CUTS, utility, side="right")
    clicked = (rng.random(k) < LOOK) & (rng.random(k) < CLICK_GIVEN_LOOK[grades])
    clicks, t = [], ts
    for pos in rng.permutation(np.flatnonzero(clicked)):
        t += int(rng.integers(3, 40)) * 1000
        clicks.append((t, int(shown[pos])))
    return View(ts, user, session, shown, grades, clicks)


def _weights(rng: np.random.Generator, n: int, sigma: float = 0.6) -> np.ndarray:
    weights = rng.lognormal(0.0, sigma, n)
    return weights / weights.sum()


def news_events(seed: int, items: int, users: int, rankings: int, size: int) -> tuple[list[dict], list[dict]]:
    """(events in no particular order, truth lines) of the scenario: ids ``a<n>`` articles, ``u<n>`` users,
    ``r<n>`` rankings in time order, ``i<n>`` interactions by (timestamp, user)."""
    articles = make_articles(np.random.default_rng([seed, ARTICLE_STREAM]), items)
    views = simulate(seed, articles, users, rankings, size)
    events = [_article_event(articles, a) for a in range(items)]
    clicks = []
    for n, view in enumerate(views):
        events.append({"event": "ranking", "id": f"r{n + 1}", "timestamp": view.timestamp, "user": f"u{view.user + 1}",
                       "session": f"u{view.user + 1}-s{view.session}", "items": [{"id": f"a{a + 1}"} for a in view.items]})  # fmt: skip
        clicks += [(ts, view.user, view.session, a, f"r{n + 1}") for ts, a in view.clicks]
    clicks += [(*click, None) for click in outside_clicks(seed, articles, views)]
    clicks.sort(key=lambda c: (c[0], c[1]))
    for k, (ts, user, session, a, rid) in enumerate(clicks):
        event = {"event": "interaction", "id": f"i{k + 1}", "timestamp": ts, "user": f"u{user + 1}",
                 "session": f"u{user + 1}-s{session}", "type": "click", "item": f"a{a + 1}"}  # fmt: skip
        events.append(event | ({"ranking": rid} if rid else {}))
    truth = [{"ranking": f"r{n + 1}", "relevance": {f"a{a + 1}": int(g) for a, g in zip(v.items, v.grades, strict=True)}}
             for n, v in enumerate(views)]  # fmt: skip
    return events, truth


def _article_event(articles: Articles, a: int) -> dict:
    published = datetime.fromtimestamp(int(articles.published[a]) / 1000, tz=UTC).isoformat().replace("+00:00", "Z")
    fields = {"topic": TOPICS[articles.topic[a]], "source": f"source_{articles.source[a] + 1}",
              "words": int(articles.words[a]), "published": published}  # fmt: skip
    return {"event": "item", "id": f"a{a + 1}-v1", "timestamp": int(articles.published[a]), "item": f"a{a + 1}",
            "fields": [{"name": k, "value": v} for k, v in fields.items()]}  # fmt: skip
