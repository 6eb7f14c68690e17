"""``rate``: normalisation that never divides by zero, the ``shownOnly`` CTR in [0, 1], the two synthetic
impression modes, a field-scoped prior; hand cases (the docstring's worked example among them) and random
event logs through a real Engine."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feature_ops.config import ConfigError, parse_config
from feature_ops.engine import Engine
from feature_ops.events import parse_event, parse_ranking_request
from feature_ops.state import periodic_sums
from feature_ops.store import MemoryStore

T0 = 1_600_000_000_000
CTR = {"name": "ctr", "type": "rate", "top": "click", "bottom": "impression", "bucket": "1d", "periods": [30]}


def config(feature: dict, mode: str = "cascade", enabled: bool = True):
    return parse_config({
        "features": [feature],
        "models": {"m": {"type": "noop"}},
        "bootstrap": {"workdir": "/tmp/rs-rate", "source": {"type": "file", "path": "/tmp/rs-rate-events"},
                      "syntheticImpression": {"enabled": enabled, "mode": mode}},
        "inference": {"source": {"type": "rest"}, "state": {"type": "memory"}},
    }, env={})  # fmt: skip


def item(item_id: str, ts: int, **fields) -> dict:
    fields_list = [{"name": k, "value": v} for k, v in fields.items()]
    return {"event": "item", "id": f"e-{item_id}-{ts}", "timestamp": ts, "item": item_id, "fields": fields_list}


def ranking(rid: str, items: list[str], ts: int) -> dict:
    return {"event": "ranking", "id": rid, "timestamp": ts, "user": "u", "session": "s",
            "items": [{"id": i} for i in items]}  # fmt: skip


def click(item_id: str, ts: int, rid: str | None = None, n: int = 0, kind: str = "click") -> dict:
    event = {"event": "interaction", "id": f"c-{item_id}-{ts}-{n}", "timestamp": ts, "item": item_id,
             "type": kind, "user": "u", "session": "s"}  # fmt: skip
    return event | ({"ranking": rid} if rid else {})


def run(feature: dict, events: list[dict], items: list[str], mode: str = "cascade", ts: int | None = None):
    """Values of the one column per item after the events, and the engine (for its stats)."""
    engine = Engine(config(feature, mode), MemoryStore())
    for event in events:
        engine.process(parse_event(event))
    now = ts or max(e["timestamp"] for e in events) + 1
    request = parse_ranking_request({"id": "q", "timestamp": now, "items": [{"id": i} for i in items]})
    [column] = engine.values(request, online=True)[feature["name"]]
    return column, engine


def approx(values: list[float]):
    return pytest.approx(values, nan_ok=True)


# --- normalize never divides by zero ------------------------------------------------------------------------------


def test_clicks_before_any_impression_with_normalize_give_nan_not_zero_division():
    """The case that crashed both bootstraps: clicks counted, no impression anywhere (prior ratio 0)."""
    events = [click("a", T0), click("a", T0 + 1), click("b", T0 + 2)]
    values, _ = run(CTR | {"normalize": {"weight": 20}}, events, ["a", "b", "c"])
    assert values == approx([math.nan, math.nan, math.nan])


def test_an_item_without_impressions_reads_the_prior():
    events = [ranking("r1", ["a", "b"], T0), click("b", T0 + 1, "r1"), click("x", T0 + 2)]
    # cascade: impressions on a and b; clicks b (joined) and x (no ranking): global 2 clicks / 2 impressions
    values, _ = run(CTR | {"normalize": {"weight": 20}}, events, ["a", "b", "c"])
    assert values == approx([(0 + 20 * 1.0) / (1 + 20), (1 + 20 * 1.0) / (1 + 20), 1.0])


def test_worked_example_of_the_docstring():
    events = []
    for n in range(3):
        events.append(ranking(f"r{n}", ["a", "b"], T0 + 10 * n))
    events += [click("a", T0 + 25, "r2"), click("a", T0 + 26)]
    feature = CTR | {"normalize": {"weight": 20}, "shownOnly": True}
    values, engine = run(feature, events, ["a", "b", "c"], mode="all")
    assert values == approx([(1 + 20 / 6) / 23, (20 / 6) / 23, 1 / 6])
    assert engine.stats["impression"] == 6
    plain, _ = run(CTR, events, ["a", "b", "c"], mode="all")
    assert plain == approx([2 / 3, 0.0, math.nan])


def test_field_scoped_prior_falls_back_to_the_global_rate():
    events = [item("a", T0, genre="news"), item("b", T0, genre="news"), item("c", T0, genre="sport"),
              item("d", T0),
              ranking("r1", ["a", "b", "c", "d"], T0 + 10), click("b", T0 + 11, "r1"), click("c", T0 + 12, "r1")]  # fmt: skip
    feature = CTR | {"normalize": {"weight": 4, "scope": "item.genre"}}
    values, _ = run(feature, events, ["a", "b", "c", "d", "e"], mode="all")
    news, sport, everything = 1 / 2, 1 / 1, 2 / 4
    assert values == approx([
        (0 + 4 * news) / (1 + 4), (1 + 4 * news) / (1 + 4), (1 + 4 * sport) / (1 + 4),
        (0 + 4 * everything) / (1 + 4), everything,
    ])  # fmt: skip


# --- shownOnly and the impression modes --------------------------------------------------------------------------


def test_shown_only_counts_each_joined_click_once():
    events = [
        ranking("r1", ["a", "b", "c"], T0),
        click("b", T0 + 1, "r1"), click("b", T0 + 2, "r1", n=1),  # a repeated click counts once
        click("a", T0 + 3),  # no ranking: not counted
        click("z", T0 + 4, "r1"),  # the ranking does not list z: not counted
        click("c", T0 + 5, "r2"), ranking("r2", ["c", "a"], T0 + 6),  # arrived before its ranking: not counted
    ]  # fmt: skip
    shown, _ = run(CTR | {"shownOnly": True}, events, ["a", "b", "c"])
    every, _ = run(CTR, events, ["a", "b", "c"])
    # cascade: r1 shows a, b; the early click on c does not join r2 (issue 9), so nothing shows c
    assert shown == approx([0 / 1, 1 / 1, math.nan])
    assert every == approx([1 / 1, 2 / 1, math.nan])


@pytest.mark.parametrize(("mode", "impressions"), [("cascade", [1, 1, 0, 0]), ("all", [1, 1, 1, 1])])
def test_impression_modes(mode, impressions):
    events = [ranking("r1", ["a", "b", "c", "d"], T0), click("b", T0 + 1, "r1")]
    feature = {"name": "n", "type": "interaction_count", "interaction": "impression"}
    values, _ = run(feature, events, ["a", "b", "c", "d"], mode=mode)
    assert values == impressions


def test_all_mode_shows_rankings_nobody_clicked():
    events = [ranking("r1", ["a", "b"], T0), ranking("r2", ["a"], T0 + 1)]
    values, engine = run(CTR, events, ["a", "b"], mode="all")
    assert values == [0.0, 0.0] and engine.stats["impression"] == 3


@pytest.mark.parametrize(
    ("normalize", "message"),
    [
        ({"weight": 0}, "features[0] (ctr).normalize.weight: input should be greater than 0, got 0"),
        ({"weight": 5, "scope": "user"}, "features[0] (ctr).normalize.scope: normalize scope must be global or item.<field>, got 'user'"),
    ],
)  # fmt: skip
def test_normalize_errors_name_the_key(normalize, message):
    with pytest.raises(ConfigError) as error:
        config(CTR | {"normalize": normalize})
    assert str(error.value) == f"config: {message}"


# --- random logs ---------------------------------------------------------------------------------------------------

ITEMS = ["a", "b", "c", "d"]
STEP = st.one_of(
    st.tuples(st.just("rank"), st.lists(st.sampled_from(ITEMS), min_size=1, max_size=4, unique=True)),
    st.tuples(st.just("click"), st.sampled_from([*ITEMS, "e"]), st.integers(0, 3), st.booleans()),
    st.tuples(st.just("item"), st.sampled_from(ITEMS), st.sampled_from(["x", "y", ["x", "y"]])),
    st.tuples(st.just("wait"), st.integers(1, 3 * 86_400_000)),
)


def log(steps) -> list[dict]:
    """Events from random steps: rankings, clicks on a recent ranking or none, item fields, time passing."""
    events, ts, rankings = [], T0, []
    for step in steps:
        ts += 1000
        if step[0] == "rank":
            rankings.append(f"r{len(rankings)}")
            events.append(ranking(rankings[-1], step[1], ts))
        elif step[0] == "click":
            rid = rankings[-1 - step[2]] if step[3] and len(rankings) > step[2] else None
            events.append(click(step[1], ts, rid, n=len(events)))
        elif step[0] == "item":
            events.append(item(step[1], ts, genre=step[2]))
        else:
            ts += step[1]
    return events


FEATURES = [
    CTR | {"periods": [0, 3], "normalize": {"weight": 20}},
    CTR | {"periods": [0, 3], "normalize": {"weight": 0.5, "scope": "item.genre"}},
    CTR | {"periods": [0, 3], "scope": "item.genre", "normalize": {"weight": 3}},
    CTR | {"periods": [0, 3]},
]


@settings(max_examples=150, deadline=None)
@given(steps=st.lists(STEP, max_size=40), feature=st.sampled_from(FEATURES), mode=st.sampled_from(["cascade", "all"]),
       shown=st.booleans())  # fmt: skip
def test_random_logs_give_finite_values_and_shown_only_stays_in_unit_interval(steps, feature, mode, shown):
    events = log(steps) or [item("a", T0)]
    engine = Engine(config(feature | {"shownOnly": shown}, mode), MemoryStore())
    for event in events:
        engine.process(parse_event(event))
    request = parse_ranking_request({"id": "q", "timestamp": events[-1]["timestamp"] + 1,
                                     "items": [{"id": i} for i in [*ITEMS, "e"]]})  # fmt: skip
    for column in engine.values(request, online=True)["ctr"]:
        assert all(math.isnan(v) or math.isfinite(v) for v in column)
        if shown:
            assert all(math.isnan(v) or 0.0 <= v <= 1.0 for v in column), column
    if "normalize" in feature:  # NaN only while no impression at all was counted in the period
        shown_anywhere = periodic_sums(engine.reader(request.timestamp).get("ctr_impression_norm", "global"),
                                       86_400_000, (0, 3), request.timestamp)  # fmt: skip
        for column, impressions in zip(engine.values(request, online=True)["ctr"], shown_anywhere, strict=True):
            assert all(not math.isnan(v) for v in column) or impressions == 0
