"""No training row's feature value depends on an interaction of its own ranking (issue 9 finding 1), for random
event sequences: out of order, interactions before and after their ranking, expired sessions, repeated clicks."""

from __future__ import annotations

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feature_ops.config import parse_config
from feature_ops.engine import Engine
from feature_ops.events import parse_event
from feature_ops.store import MemoryStore

MIN = 60_000
CONFIG = parse_config(yaml.safe_load("""
features:
  - {name: clicks, type: interaction_count, interaction: click, scope: item}
  - {name: session_clicks, type: interaction_count, interaction: click, scope: session}
  - {name: liked, type: interacted_with, interaction: click, field: item.genre, scope: user}
  - {name: ctr, type: rate, top: click, bottom: impression, bucket: 1h, periods: [1]}
  - {name: shown_ctr, type: rate, top: click, bottom: impression, bucket: 1h, periods: [1], shownOnly: true}
  - {name: purchases, type: window_count, interaction: purchase, bucket: 1h, periods: [2]}
models:
  m: {type: lambdamart, path: /tmp/m, backend: {type: xgboost}, weights: {click: 1, purchase: 2},
      features: [clicks, session_clicks, liked, ctr, shown_ctr, purchases]}
bootstrap: {workdir: /tmp/unused, source: {type: file, path: /tmp/unused}}
inference: {source: {type: rest}, state: {type: memory}}
"""), env={})
ITEMS = ["a", "b", "c", "d"]
RANKINGS = ["r0", "r1", "r2"]


@st.composite
def event_logs(draw) -> list[dict]:
    """Up to 3 rankings (unique ids) and 25 other events; timestamps unique (minute * MIN + index), in any order."""
    specs = draw(st.lists(st.tuples(
        st.sampled_from(["item", "interaction", "interaction", "interaction"]), st.integers(0, 90),
        st.sampled_from(ITEMS), st.sampled_from([*RANKINGS, None]), st.sampled_from(["click", "impression", "purchase"]),
        st.sampled_from(["u1", "u2"]),
    ), max_size=25))  # fmt: skip
    rankings = draw(st.lists(st.tuples(st.integers(0, 90), st.permutations(ITEMS), st.sampled_from(["u1", "u2"])),
                             min_size=1, max_size=len(RANKINGS)))  # fmt: skip
    events: list[dict] = []
    for n, (kind, minute, item, rid, kind_, user) in enumerate(specs):
        ts = minute * MIN + n
        if kind == "item":
            events.append({"event": "item", "id": f"e{n}", "timestamp": ts, "item": item,
                           "fields": [{"name": "genre", "value": draw(st.sampled_from(["x", "y"]))}]})
        else:
            events.append({"event": "interaction", "id": f"i{n}", "timestamp": ts, "item": item, "type": kind_,
                           "user": user, "session": f"{user}-s", "ranking": rid})
    for rid, (minute, items, user) in zip(RANKINGS, rankings, strict=False):
        at = draw(st.integers(0, len(events)))
        events.insert(at, {"event": "ranking", "id": rid, "timestamp": minute * MIN + 500, "user": user,
                           "session": f"{user}-s", "items": [{"id": i} for i in items[:3]]})
    return events


def replay(events: list[dict], stop_at: str | None = None):
    """(engine, clickthroughs) after every event, or the engine just before ranking ``stop_at``."""
    out: list = []
    engine = Engine(CONFIG, MemoryStore(), emit=out.append)
    for raw in events:
        event = parse_event(raw)
        if event.kind == "ranking" and event.id == stop_at:
            return engine, event
        engine.process(event)
    engine.finish()
    return engine, out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=event_logs())
def test_removing_a_rankings_own_interactions_leaves_its_row_values_unchanged(events):
    _, clickthroughs = replay(events)
    for ct in clickthroughs:
        joined = set(ct.interactions)
        without = [e for e in events if not (e["event"] == "interaction" and e["ranking"] == ct.ranking.id
                                             and (e["item"], e["type"], e["timestamp"]) in joined)]  # fmt: skip
        engine, ranking = replay(without, stop_at=ct.ranking.id)
        assert repr(engine.values(ranking, online=False)) == repr(ct.values)  # repr: NaN-safe
