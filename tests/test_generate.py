"""The synthetic RankLens generator: determinism, schema validity, referential integrity and click realism."""

from __future__ import annotations

import gzip
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import numpy as np
import orjson
import pytest

from jobs.generate import GenerateSummary, generate, load_truth

SIZES = {"items": 300, "users": 150, "rankings": 1500, "ranking_size": 24}
REQUIRED = {
    "item": {"id", "timestamp", "item"},
    "user": {"id", "timestamp", "user"},
    "ranking": {"id", "timestamp", "items"},
    "interaction": {"id", "timestamp", "item", "type"},
}
ITEM_FIELDS = {
    "title": str, "genres": list, "actors": list, "director": str, "tags": list, "popularity": float,
    "vote_avg": float, "vote_cnt": int, "budget": int, "runtime": int, "release_date": str, "language": str,
}  # fmt: skip


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> tuple[GenerateSummary, list[dict]]:
    summary = generate(tmp_path_factory.mktemp("ranklens"), seed=7, **SIZES)
    with gzip.open(summary.events_path, "rb") as f:
        return summary, [orjson.loads(line) for line in f]


@pytest.fixture(scope="module")
def events(dataset) -> list[dict]:
    return dataset[1]


@pytest.fixture(scope="module")
def rankings(events) -> dict[str, dict]:
    return {e["id"]: e for e in events if e["event"] == "ranking"}


@pytest.fixture(scope="module")
def clicks(events) -> list[dict]:
    return [e for e in events if e["event"] == "interaction" and e["type"] == "click"]


def _fields(event: dict) -> dict:
    return {f["name"]: f["value"] for f in event.get("fields", [])}


def _bytes(summary: GenerateSummary) -> tuple[bytes, bytes]:
    return summary.events_path.read_bytes(), summary.truth_path.read_bytes()


def test_same_seed_gives_identical_bytes(tmp_path):
    small = {"items": 60, "users": 20, "rankings": 80, "ranking_size": 10}
    first = generate(tmp_path / "a", seed=3, **small)
    second = generate(tmp_path / "b", seed=3, **small)
    other = generate(tmp_path / "c", seed=4, **small)
    assert _bytes(first) == _bytes(second)
    assert _bytes(first)[0] != _bytes(other)[0]
    assert first.counts == second.counts


def test_summary_counts_match_the_file(dataset):
    summary, events = dataset
    assert summary.total == len(events)
    assert summary.counts["ranking"] == SIZES["rankings"]
    assert summary.counts["item"] >= SIZES["items"]
    assert summary.interactions["click"] == sum(e.get("type") == "click" for e in events)
    assert set(summary.interactions) <= {"click", "like"}


def test_events_are_time_ordered_from_2022(events):
    stamps = [e["timestamp"] for e in events]
    assert stamps == sorted(stamps)
    assert stamps[0] == 1640995200000
    assert 50 <= (stamps[-1] - stamps[0]) / 86_400_000 <= 65


def test_every_event_has_the_required_fields(events):
    ids = set()
    for e in events:
        assert REQUIRED[e["event"]] <= set(e), e
        assert isinstance(e["id"], str) and e["id"] and e["id"] not in ids
        ids.add(e["id"])
        assert isinstance(e["timestamp"], int)
        for name in ("item", "user", "session", "ranking", "type"):
            assert name not in e or (isinstance(e[name], str) and e[name])
        for f in e.get("fields", []):
            assert set(f) == {"name", "value"} and f["value"] is not None


def test_item_events_carry_typed_movie_fields(events):
    items = [e for e in events if e["event"] == "item"]
    assert len({e["item"] for e in items}) == SIZES["items"]
    for e in items:
        fields = _fields(e)
        assert {k: type(v) for k, v in fields.items()} == ITEM_FIELDS
        assert 1 <= len(fields["title"].split()) <= 5
        assert (
            1 <= len(fields["genres"]) <= 3 and 2 <= len(fields["actors"]) <= 4 and len(fields["tags"]) <= 4
        )
        assert 1.0 <= fields["vote_avg"] <= 10.0 and fields["popularity"] > 0
        assert datetime.fromisoformat(fields["release_date"]).year >= 1930


def test_user_events_have_age_and_gender(events):
    users = [e for e in events if e["event"] == "user"]
    assert 0.3 * SIZES["users"] <= len(users) <= 0.7 * SIZES["users"]
    assert all(isinstance(_fields(e)["age"], int) and _fields(e)["gender"] for e in users)


def test_rankings_have_distinct_items_session_and_local_time(rankings):
    for r in rankings.values():
        ids = [it["id"] for it in r["items"]]
        assert len(ids) == len(set(ids)) == SIZES["ranking_size"]
        assert all(isinstance(it["relevancy"], float) for it in r["items"])
        assert r["session"].startswith(r["user"] + "-s")
        fields = _fields(r)
        assert isinstance(fields["ua"], str) and fields.get("query", "x")
        local = datetime.fromisoformat(fields["localtime"])
        assert local.utcoffset() is not None and local.timestamp() * 1000 == r["timestamp"]


def test_ranked_items_were_described_before(events, rankings):
    first_seen = {}
    for e in events:
        if e["event"] == "item":
            first_seen.setdefault(e["item"], e["timestamp"])
    assert all(first_seen[it["id"]] <= r["timestamp"] for r in rankings.values() for it in r["items"])


def test_interactions_reference_earlier_rankings_and_their_items(events, rankings):
    for e in (e for e in events if e["event"] == "interaction"):
        ranking = rankings[e["ranking"]]
        assert e["item"] in {it["id"] for it in ranking["items"]}
        assert (e["user"], e["session"]) == (ranking["user"], ranking["session"])
        assert e["timestamp"] > ranking["timestamp"]


def test_clicks_fall_between_a_ranking_and_the_users_next_one(events):
    """Replaying in file order, each interaction belongs to its user's latest ranking and comes strictly later."""
    last_ranking, clicked_at = {}, {}
    for e in events:
        if e["event"] == "ranking":
            last_ranking[e["user"]] = e["id"]
        elif e["event"] == "interaction":
            assert e["ranking"] == last_ranking[e["user"]]
            assert e["timestamp"] > clicked_at.get(e["user"], 0)
            clicked_at[e["user"]] = e["timestamp"]


def test_about_four_and_a_half_clicks_per_ranking(dataset):
    summary, _ = dataset
    assert 3.5 <= summary.interactions["click"] / summary.counts["ranking"] <= 6.0
    assert summary.interactions.get("like", 0) < 0.2 * summary.interactions["click"]


def test_truth_covers_every_ranked_item(dataset, rankings):
    truth = load_truth(dataset[0].truth_path)
    assert set(truth) == set(rankings)
    for rid, r in rankings.items():
        assert set(truth[rid]) == {it["id"] for it in r["items"]}
        assert all(g in (0.0, 1.0, 2.0, 3.0, 4.0) for g in truth[rid].values())


def _click_table(dataset, rankings, clicks) -> np.ndarray:
    """Rows of (position, grade, clicked) over every ranked item."""
    truth = load_truth(dataset[0].truth_path)
    clicked = defaultdict(set)
    for c in clicks:
        clicked[c["ranking"]].add(c["item"])
    rows = [
        (pos, truth[rid][it["id"]], it["id"] in clicked[rid])
        for rid, r in rankings.items()
        for pos, it in enumerate(r["items"])
    ]
    return np.array(rows, dtype=float)


def test_click_through_rate_decreases_with_position(dataset, rankings, clicks):
    table = _click_table(dataset, rankings, clicks)
    ctr = np.array([table[table[:, 0] == p, 2].mean() for p in range(SIZES["ranking_size"])])
    thirds = ctr.reshape(3, -1).mean(axis=1)
    assert thirds[0] > thirds[1] > thirds[2]
    assert ctr[0] == ctr.max()


def test_relevance_explains_clicks_better_than_position(dataset, rankings, clicks):
    position, grade, clicked = _click_table(dataset, rankings, clicks).T
    by_relevance = np.corrcoef(grade, clicked)[0, 1]
    by_position = np.corrcoef(-position, clicked)[0, 1]
    assert by_relevance > by_position > 0
    assert np.corrcoef(grade, -position)[0, 1] < 0.5


def test_progress_reports_completion(tmp_path):
    calls = []
    generate(
        tmp_path, items=30, users=5, rankings=20, ranking_size=5, progress=lambda d, t: calls.append((d, t))
    )
    assert calls[-1] == (20, 20)


@pytest.mark.parametrize(
    ("sizes", "message"),
    [
        ({"items": 5, "ranking_size": 10}, "ranking_size 10 must not exceed items 5"),
        ({"users": 0}, "must be >= 1"),
    ],
)
def test_bad_sizes_are_rejected(tmp_path: Path, sizes, message):
    with pytest.raises(ValueError, match=message):
        generate(tmp_path, **sizes)


# --- the news scenario ------------------------------------------------------------------------------------------

NEWS_SIZES = {"items": 400, "users": 150, "rankings": 2000, "ranking_size": 20}


@pytest.fixture(scope="module")
def news(tmp_path_factory) -> tuple[GenerateSummary, list[dict]]:
    summary = generate(tmp_path_factory.mktemp("news"), seed=7, scenario="news", **NEWS_SIZES)
    with gzip.open(summary.events_path, "rb") as f:
        return summary, [orjson.loads(line) for line in f]


def test_news_is_deterministic_and_time_ordered(tmp_path, news):
    small = {"items": 50, "users": 10, "rankings": 60, "ranking_size": 8}
    first, second = (generate(tmp_path / d, seed=3, scenario="news", **small) for d in "ab")
    assert _bytes(first) == _bytes(second)
    assert _bytes(first)[0] != _bytes(generate(tmp_path / "c", seed=4, scenario="news", **small))[0]
    stamps = [e["timestamp"] for e in news[1]]
    assert stamps == sorted(stamps)
    for e in news[1]:
        assert REQUIRED[e["event"]] <= set(e), e


def test_news_articles_come_and_go(news):
    summary, events = news
    published = {e["item"]: e["timestamp"] for e in events if e["event"] == "item"}
    assert {k: type(v) for k, v in _fields(next(e for e in events if e["event"] == "item")).items()} == {
        "topic": str, "source": str, "words": int, "published": str}  # fmt: skip
    ages = [(r["timestamp"] - published[it["id"]]) / 86_400_000
            for r in (e for e in events if e["event"] == "ranking") for it in r["items"]]  # fmt: skip
    assert min(ages) >= 0 and np.median(ages) < 1.5 and np.quantile(ages, 0.99) < 6.5
    shown_days = defaultdict(set)
    for r in (e for e in events if e["event"] == "ranking"):
        for it in r["items"]:
            shown_days[it["id"]].add(r["timestamp"] // 86_400_000)
    assert np.median([len(days) for days in shown_days.values()]) <= 3  # an article is shown on a few days only


def test_news_has_clicks_without_a_ranking(news):
    summary, events = news
    clicks = [e for e in events if e["event"] == "interaction"]
    assert summary.interactions == {"click": len(clicks)}
    assert 0.22 <= sum("ranking" not in c for c in clicks) / len(clicks) <= 0.38
    rankings = {e["id"]: e for e in events if e["event"] == "ranking"}
    for c in clicks:
        if "ranking" in c:
            assert c["item"] in {it["id"] for it in rankings[c["ranking"]]["items"]}


def test_news_display_order_carries_no_position_bias(news):
    summary, events = news
    rankings = {e["id"]: e for e in events if e["event"] == "ranking"}
    clicks = [e for e in events if e["event"] == "interaction" and "ranking" in e]
    table = _click_table((summary,), rankings, clicks)
    position, grade, clicked = table.T
    halves = [clicked[position < 10].mean(), clicked[position >= 10].mean()]
    assert abs(halves[0] - halves[1]) < 0.2 * np.mean(halves)
    assert abs(np.corrcoef(position, grade)[0, 1]) < 0.05  # shuffled: position says nothing about relevance
    assert np.corrcoef(grade, clicked)[0, 1] > 0.2
    assert set(np.unique(grade)) <= {0.0, 1.0, 2.0, 3.0}


def test_unknown_scenario_is_rejected(tmp_path):
    with pytest.raises(ValueError, match=r"^generate: scenario 'blog' is not one of ranklens, news$"):
        generate(tmp_path, scenario="blog")


def test_cli_generates_the_news_scenario(tmp_path, capsys):
    from jobs.cli import main

    out = tmp_path / "news"
    assert main(["generate", "--scenario", "news", "--out", str(out), "--items", "40", "--users", "8",
                 "--rankings", "30"]) == 0  # fmt: skip
    with gzip.open(out / "events" / "events.jsonl.gz", "rb") as f:
        items = [orjson.loads(line) for line in f if b'"event":"item"' in line]
    assert len(items) == 40 and "topic" in _fields(items[0])
    assert str(out / "events" / "events.jsonl.gz") in capsys.readouterr().out
