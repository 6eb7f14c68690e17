"""Issue 9's hand cases: tiny event logs and the training row each must give for its ranking ``r1``.

Every case runs on the embedded engine (``tests/test_feature_hand_cases.py``), through ``/rank?explain=true``
at r1's moment (same file) and in the Flink bootstrap (``tests/test_flink_bootstrap.py``, all cases in one
log: ``one_log`` renames each case's features, ids and sessions and shifts it into its own time window).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

H, D = 3_600_000, 86_400_000
FM = {"type": "field_match", "rankingField": "ranking.query", "itemField": "item.title",
      "method": {"type": "ngram", "n": 3}}  # fmt: skip


@dataclass(frozen=True)
class HandCase:
    id: str
    features: list[dict]
    events: list[dict]
    values: dict[str, list[float]]
    """r1's training row: column -> one value per ranked item."""
    labels: list[float] | None = None
    stats: dict[str, int] = field(default_factory=dict)
    """Engine counts the case pins (the Flink job must report the same)."""


def item(i: str, ts: int, **fields) -> dict:
    return {"event": "item", "id": f"e-{i}-{ts}", "timestamp": ts, "item": i,
            "fields": [{"name": k, "value": v} for k, v in fields.items()]}  # fmt: skip


def ranking(rid: str, ts: int, items: list[str], **fields) -> dict:
    return {"event": "ranking", "id": rid, "timestamp": ts, "user": "u", "session": "s",
            "items": [{"id": i} for i in items], "fields": [{"name": k, "value": v} for k, v in fields.items()]}


def act(i: str, ts: int, kind: str = "click", rid: str | None = None) -> dict:
    return {"event": "interaction", "id": f"x-{i}-{ts}-{kind}", "timestamp": ts, "item": i, "type": kind,
            "user": "u", "session": "s", "ranking": rid}


CASES = [
    HandCase(  # finding 1: k1 names r1 but comes first; its writes are in r1's values, so it is not r1's label
        "1 interaction before its ranking",
        [{"name": "clicks", "type": "interaction_count", "interaction": "click", "scope": "item"},
         {"name": "session_clicks", "type": "interaction_count", "interaction": "click", "scope": "session"},
         {"name": "liked", "type": "interacted_with", "interaction": "click", "field": "item.genre", "scope": "user"}],
        [item("a", 0, genre="x"), item("b", 0, genre="y"), act("b", 900, rid="r1"), ranking("r1", 1000, ["a", "b"]),
         act("a", 1100, rid="r1")],
        {"clicks": [0.0, 1.0], "session_clicks": [1.0, 1.0], "liked": [0.0, 1.0]},
        labels=[1.0, 0.0], stats={"interactions before their ranking": 1},
    ),
    HandCase(  # finding 2: events apply in arrival order, so r1 (ts 1000) counts the click at ts 4000: counted
        "2 out of order input",
        [{"name": "clicks", "type": "interaction_count", "interaction": "click", "scope": "item"}],
        [act("b", 4000), ranking("r1", 1000, ["a", "b"]), act("a", 1100, rid="r1")],
        {"clicks": [0.0, 1.0]},
        labels=[1.0, 0.0], stats={"events out of order": 2},
    ),
    HandCase(  # finding 4: cat 42 (a number) is the value "42", as "42" and [42] are
        "4 numeric item fields",
        [{"name": "liked", "type": "interacted_with", "interaction": "click", "field": "item.cat", "scope": "user"},
         {"name": "catctr", "type": "rate", "top": "click", "bottom": "impression", "bucket": "1d", "periods": [1],
          "scope": "item.cat"}],
        [item("a", 0, cat=42), item("b", 0, cat="42"), item("c", 0, cat=[42]), item("d", 0, cat=7),
         item("e", 0, cat=42.5), act("a", 100, "impression"), act("a", 101), ranking("r1", 1000, list("abcde")),
         act("d", 1100, rid="r1")],
        {"liked": [1.0, 1.0, 1.0, 0.0, 0.0], "catctr_1": [1.0, 1.0, 1.0, math.nan, math.nan]},
        labels=[0.0, 0.0, 0.0, 1.0, 0.0],
    ),
    HandCase(  # finding 5: case folding and NFC; combining marks stay in their words
        "5 field_match dotted capital I",
        [{"name": "match", **FM}],
        [item("t1", 0, title="İSTANBUL"), item("t2", 0, title="हिन्दी"), ranking("r1", 1000, ["t1", "t2"], query="istanbul"),
         act("t1", 1100, rid="r1")],
        {"match": [1.0, 0.0]},
    ),
    HandCase(
        "5 field_match combining marks",
        [{"name": "match", **FM}],
        [item("t2", 0, title="हिन्दी"), item("t3", 0, title="Cafe\u0301 दिन"),
         ranking("r1", 1000, ["t2", "t3"], query="दिन café"), act("t3", 1100, rid="r1")],
        {"match": [0.0, 1.0]},
    ),
    HandCase(  # finding 8: the item's genre does not expire while its counters and lists live
        "8 item field values outlive ttl",
        [{"name": "liked", "type": "interacted_with", "interaction": "click", "field": "item.genre", "scope": "user",
          "ttl": "2d"},
         {"name": "genre_ctr", "type": "rate", "top": "click", "bottom": "impression", "bucket": "1d", "periods": [7],
          "scope": "item.genre", "ttl": "2d"}],
        [item("a", 0, genre="drama"), item("b", 0, genre="drama"), item("c", 0, genre="comedy"),
         act("a", 3 * D, "impression"), act("a", 3 * D + 1), ranking("r1", 3 * D + 60_000, ["a", "b", "c"]),
         act("c", 3 * D + 61_000, rid="r1")],
        {"liked": [1.0, 1.0, 0.0], "genre_ctr_7": [1.0, 1.0, math.nan]},
    ),
    HandCase(  # finding 9: a region in brackets (Java's zoned form); 18:30+01:00 is 18:30 in Berlin
        "9 local_time with a region",
        [{"name": "hour", "type": "local_time", "source": "ranking.time", "parse": "time_of_day"},
         {"name": "dow", "type": "local_time", "source": "ranking.time", "parse": "day_of_week"}],
        [ranking("r1", 1000, ["a"], time="2021-03-01T18:30:00+01:00[Europe/Berlin]"), act("a", 1100, rid="r1")],
        {"hour": [18.5], "dow": [1.0]},
    ),
    HandCase(  # finding 9: refresh publishes at a write; the click at 10 min never is (no later write)
        "9 refresh has no staleness bound",
        [{"name": "clicks", "type": "interaction_count", "interaction": "click", "refresh": "1h"}],
        [act("a", 0), act("a", 600_000), ranking("r1", 5 * H, ["a"]), act("a", 5 * H + 1, rid="r1")],
        {"clicks": [1.0]},
    ),
    HandCase(  # finding 9: a ranking's own fields are written after it captures values: r1 shows r0's country
        "9 ranking-sourced session field",
        [{"name": "country", "type": "string", "source": "ranking.country", "scope": "session",
          "values": ["de", "fr"], "encode": "onehot"}],
        [ranking("r0", 0, ["a"], country="de"), ranking("r1", 1000, ["a"], country="fr"), act("a", 1100, rid="r1")],
        {"country_de": [1.0], "country_fr": [0.0]},
    ),
]


def config(case: HandCase, workdir: str = "/tmp/unused", events: str = "/tmp/unused") -> dict:
    """A config with the case's features, a LambdaMART model over them and a noop model."""
    names = [f["name"] for f in case.features]
    return {
        "features": case.features,
        "models": {
            "m": {"type": "lambdamart", "path": f"{workdir}/m.model", "backend": {"type": "xgboost"},
                  "weights": {"click": 1}, "features": names},
            "noop": {"type": "noop"},
        },  # fmt: skip
        "bootstrap": {"workdir": workdir, "source": {"type": "file", "path": events}},
        "inference": {"source": {"type": "rest"}, "state": {"type": "memory"}},
    }


WINDOW, T0 = 100 * D, 18_500 * D
"""Each case's time window in ``one_log`` (a multiple of every bucket, longer than any case), and where the
first one starts (2020-08-26: the bootstrap rejects 1970 timestamps)."""


def one_log(cases: list[HandCase]) -> tuple[list[dict], list[dict], dict[str, tuple[str, dict[str, str]]]]:
    """(features, events, case id -> (its r1 id, its column -> the combined column)) of every case in one log:
    case k's features, item/ranking/event ids and user/session get the prefix ``c<k>_``, its times
    ``+ T0 + k * WINDOW``."""
    features: list[dict] = []
    events: list[dict] = []
    where = {}
    for k, case in enumerate(cases):
        p = f"c{k}_"
        features += [{**f, "name": p + f["name"]} for f in case.features]
        for e in case.events:
            e = {**e, "id": p + e["id"], "timestamp": e["timestamp"] + T0 + k * WINDOW}
            for key in ("item", "ranking", "user", "session"):
                if e.get(key) is not None:
                    e[key] = p + e[key]
            if "items" in e:
                e["items"] = [{**it, "id": p + it["id"]} for it in e["items"]]
            events.append(e)
        where[case.id] = (p + "r1", {c: p + c for c in case.values})
    return features, events, where
