"""The engine's clickthrough logic on hand-written cases: point-in-time values, joins, cascade, timeouts."""

import math
from dataclasses import replace

import orjson
import yaml

from feature_ops.config import parse_config
from feature_ops.engine import Engine, summary
from feature_ops.events import parse_event
from feature_ops.sessions import session_from_json, sessions_to_json
from feature_ops.store import MemoryStore

MIN = 60_000
CONFIG = yaml.safe_load("""
features:
  - {name: popularity, type: number, source: item.popularity}
  - {name: clicks, type: interaction_count, interaction: click, scope: item}
  - {name: impressions, type: interaction_count, interaction: impression, scope: item}
models:
  m:
    type: lambdamart
    path: /tmp/m.model
    backend: {type: xgboost}
    weights: {click: 1, purchase: 3}
    features: [popularity, clicks, impressions]
bootstrap:
  workdir: /tmp/wd
  source: {type: file, path: /tmp/none}
inference:
  source: {type: rest}
  state: {type: memory}
""")


def run(events, config=CONFIG):
    out = []
    engine = Engine(parse_config(config, env={}), MemoryStore(), emit=out.append)
    for e in events:
        engine.process(parse_event(e))
    engine.finish()
    return engine, out


def item(i, ts, pop):
    return {"event": "item", "id": f"e{i}{ts}", "timestamp": ts, "item": i, "fields": [{"name": "popularity", "value": pop}]}


def ranking(rid, ts, items):
    return {"event": "ranking", "id": rid, "timestamp": ts, "user": "u", "session": "s", "items": [{"id": i} for i in items]}


def click(rid, ts, i, kind="click"):
    return {"event": "interaction", "id": f"c{rid}{ts}{i}", "timestamp": ts, "ranking": rid, "user": "u", "session": "s", "type": kind, "item": i}


def test_values_are_captured_when_the_ranking_arrives():
    _, out = run([item("a", 0, 1), ranking("r1", 10, ["a", "b"]), item("a", 20, 99), click("r1", 30, "a")])
    [ct] = out
    [popularity] = ct.values["popularity"]
    assert popularity[0] == 1.0 and math.isnan(popularity[1])
    assert ct.labels({"click": 1}) == [1.0, 0.0]


def test_cascade_impressions_up_to_the_deepest_click_feed_features():
    engine, out = run([
        ranking("r1", 0, ["a", "b", "c", "d"]), click("r1", 10, "c"), click("r1", 20, "a"),
        ranking("r2", 40 * MIN, ["a", "b", "c", "d"]), click("r2", 41 * MIN, "d"),
    ])
    first, second = out
    assert second.values["impressions"] == [[1.0, 1.0, 1.0, 0.0]]
    assert second.values["clicks"] == [[1.0, 0.0, 1.0, 0.0]]
    assert engine.stats["impression"] == 3 + 4


def test_interaction_before_its_ranking_counts_in_features_but_is_not_its_label():
    """Issue 9 finding 1: k1 (ts 900) names r1 (ts 1000) but is processed first. Its write is in r1's captured
    values, so as r1's label it would leak: it is counted, not joined, and injects no impressions."""
    engine, out = run([click("r1", 900, "b"), ranking("r1", 1000, ["a", "b", "c"]), click("r1", 1100, "a")])
    [ct] = out
    assert ct.values["clicks"] == [[0.0, 1.0, 0.0]]
    assert ct.labels({"click": 1}) == [1.0, 0.0, 0.0]
    assert [(i, t) for i, t, _ in ct.interactions] == [("a", "click")]
    assert engine.stats["interactions before their ranking"] == 1 and engine.stats["impression"] == 1


def test_a_ranking_reusing_an_open_rankings_id_closes_it_first():
    """Otherwise r1's click (written after the first r1 captured its values) would label the second r1,
    whose values count it."""
    engine, out = run([ranking("r1", 0, ["a", "b"]), click("r1", 1, "b"), ranking("r1", 2, ["b", "a"]),
                       click("r1", 3, "a")])  # fmt: skip
    assert [(ct.ranking.timestamp, ct.values["clicks"], ct.labels({"click": 1})) for ct in out] == [
        (0, [[0.0, 0.0]], [0.0, 1.0]), (2, [[1.0, 0.0]], [0.0, 1.0]),
    ]  # fmt: skip
    assert engine.stats["rankings reusing an open ranking's id"] == 1


def test_events_older_than_the_clock_are_counted_out_of_order():
    """Issue 9 finding 2: the interactions file read before the rankings file. Events apply in arrival order,
    so r1 (ts 1000) counts clicks stamped 2000 and 4000; the count tells the bootstrap summary to sort."""
    engine, out = run([
        click("r1", 2000, "b"), click("r2", 4000, "b"),  # 1-interactions.jsonl
        ranking("r1", 1000, ["a", "b"]), ranking("r2", 3000, ["a", "b"]),  # 2-rankings.jsonl
    ])
    assert out == [] and engine.stats["events out of order"] == 2
    assert engine.stats["interactions before their ranking"] == 2
    request = parse_event(ranking("r9", 1000, ["a", "b"]))
    assert engine.values(request, online=False)["clicks"] == [[0.0, 2.0]]  # documented: not as of ts 1000
    assert summary(engine.stats) == [
        "2 interactions arrived before their ranking: they count in features, not as its labels",
        "2 events arrived out of order (timestamp before an earlier event's): rankings may count events stamped "
        "after them; sort the input by time first: rankstream sort <input> --out <file>",
    ]


def test_open_sessions_continue_in_a_fresh_engine_after_a_json_round_trip():
    """Issue 9 finding 7's core: what the standalone API is seeded with joins and impresses like the engine
    that opened the session."""
    events = [ranking("r1", 0, ["a", "b", "c"]), click("r1", 10, "a")]
    config = parse_config(CONFIG, env={})
    first = Engine(config, MemoryStore(), emit=lambda ct: None)
    for e in events:
        first.process(parse_event(e))
    first.flush()
    saved = [orjson.loads(orjson.dumps(obj)) for obj in sessions_to_json(first.open_sessions())]
    second = Engine(config, MemoryStore())
    for state, sid, record in first.latest():  # the feature values, as the API is seeded with them
        second.store.put(second.features.namespaces[state], sid, record)
    second.seed_sessions(session_from_json(obj) for obj in saved)
    assert list(second.open_sessions()) == [("r1", replace(dict(first.open_sessions())["r1"], values=None))]
    second.process(parse_event(click("r1", 20, "c")))
    reference, _ = run([*events, click("r1", 20, "c")])
    request = parse_event(ranking("r2", 30, ["a", "b", "c"]))
    assert second.values(request, online=True)["impressions"] == [[1.0, 1.0, 1.0]]
    assert second.values(request, online=True) == reference.values(request, online=True)


def test_session_slides_with_activity_and_late_interactions_are_lost():
    _, out = run([
        ranking("r1", 0, ["a", "b"]),
        click("r1", 29 * MIN, "a"),
        click("r1", 58 * MIN, "b"),  # within 30m of the previous click: joins (sliding)
        item("z", 200 * MIN, 1),  # advances the clock: r1 closes
        click("r1", 201 * MIN, "a", "purchase"),  # too late
    ])
    [ct] = out
    assert [(i, t) for i, t, _ in ct.interactions] == [("a", "click"), ("b", "click")]


def test_labels_take_the_best_weight_unknown_types_weigh_zero_explicit_labels_win():
    events = [
        {"event": "ranking", "id": "r", "timestamp": 0, "items": [{"id": "a"}, {"id": "b"}, {"id": "c", "label": 2}]},
        click("r", 1, "a"), click("r", 2, "a", "purchase"), click("r", 3, "b", "share"),
    ]
    _, [ct] = run(events)
    assert ct.labels({"click": 1, "purchase": 3}) == [3.0, 0.0, 2.0]


def test_rankings_without_interactions_are_counted_not_emitted():
    engine, out = run([ranking("r1", 0, ["a"]), click("nope", 1, "a")])
    assert out == [] and engine.stats["rankings without interactions"] == 1
    assert engine.stats["interactions without ranking"] == 1


def test_state_survives_a_store_handover_like_a_restore():
    store = MemoryStore()
    config = parse_config(CONFIG, env={})
    first = Engine(config, store)
    first.process(parse_event(ranking("r1", 0, ["a", "b"])))
    out = []
    second = Engine(config, store, emit=out.append)  # fresh engine over the same (restored) store
    second.process(parse_event(click("r1", 10, "b")))
    second.finish()
    assert [ct.ranking.id for ct in out] == ["r1"] and out[0].labels({"click": 1}) == [0.0, 1.0]


def test_a_changed_feature_definition_starts_from_empty_state_others_continue():
    store = MemoryStore()
    first = Engine(parse_config(CONFIG, env={}), store)
    first.process(parse_event(item("a", 0, 7)))
    first.process(parse_event(click("r0", 1, "a")))
    changed = yaml.safe_load(yaml.safe_dump(CONFIG))
    changed["features"][0]["ttl"] = "30d"  # popularity redefined
    second = Engine(parse_config(changed, env={}), store)  # e.g. an update job restored from the savepoint
    request = parse_event(ranking("r1", 2, ["a"]))
    values = second.values(request, online=True)
    assert math.isnan(values["popularity"][0][0]) and values["clicks"] == [[1.0]]
    assert first.features.namespaces["popularity"] != second.features.namespaces["popularity"]


def test_max_parallel_sessions_closes_the_oldest_session_early():
    capped = yaml.safe_load(yaml.safe_dump(CONFIG))
    capped["core"] = {"clickthrough": {"maxParallelSessions": 2}}
    out = []
    engine = Engine(parse_config(capped, env={}), MemoryStore(), emit=out.append)
    for e in [ranking("r1", 0, ["a", "b"]), click("r1", 1, "a"), ranking("r2", 2, ["a"]), click("r2", 3, "a")]:
        engine.process(parse_event(e))
    assert out == []
    engine.process(parse_event(ranking("r3", 4, ["b"])))  # a third open session: r1 (expiring first) closes
    assert [ct.ranking.id for ct in out] == ["r1"]
    engine.process(parse_event(click("r1", 5, "b")))  # too late for r1's row
    engine.finish()
    assert [(ct.ranking.id, ct.labels({"click": 1})) for ct in out] == [("r1", [1.0, 0.0]), ("r2", [1.0])]
