"""Issue 9's hand cases (``tests/hand_cases.py``) on the embedded engine and through ``/rank?explain=true``,
and the findings that are about configs or single functions: name collisions, numeric field values,
Unicode tokens, bracketed zones, open sessions in the standalone API."""

from __future__ import annotations

import math

import orjson
import pytest
import yaml
from starlette.testclient import TestClient

from feature_ops.config import ConfigError, parse_config
from feature_ops.engine import Engine
from feature_ops.events import parse_event, parse_ranking_request
from feature_ops.features.base import field_strings
from feature_ops.features.local_time import local_datetime
from feature_ops.featureset import FeatureSet
from feature_ops.parsers.text import tokenize
from feature_ops.store import MemoryStore
from jobs.cli import main
from jobs.embedded import bootstrap_embedded
from jobs.workdir import read_item_fields, read_sessions, read_values
from serving.app import create_app
from serving.resources import load_resources
from tests.hand_cases import CASES, HandCase, config, one_log

IDS = [c.id for c in CASES]


def same(actual: dict[str, list], expected: dict[str, list]) -> bool:
    """Equal column by column, NaN equal to NaN (the API writes NaN as null)."""
    def norm(v):
        return "nan" if v is None or (isinstance(v, float) and math.isnan(v)) else round(v, 9)
    return {k: [norm(v) for v in vs] for k, vs in actual.items()} == {k: [norm(v) for v in vs] for k, vs in expected.items()}


def embedded_row(case: HandCase):
    """(engine, r1's values by column, r1's labels) after the case's events."""
    out: list = []
    engine = Engine(parse_config(config(case), env={}), MemoryStore(), emit=out.append)
    for raw in case.events:
        engine.process(parse_event(raw))
    engine.finish()
    [ct] = [ct for ct in out if ct.ranking.id == "r1"]
    columns = {}
    for feature in engine.features.features:
        columns.update(zip(feature.columns(), ct.values[feature.name], strict=True))
    return engine, columns, ct.labels({"click": 1.0})


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_embedded_training_row(case):
    engine, values, labels = embedded_row(case)
    assert same({k: values[k] for k in case.values}, case.values), values
    if case.labels is not None:
        assert labels == case.labels
    assert {k: engine.stats[k] for k in case.stats} == case.stats


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_rank_explain_serves_the_training_row_values(case):
    cfg = parse_config(config(case), env={})
    engine = Engine(cfg, MemoryStore())
    at = next(i for i, e in enumerate(case.events) if e["event"] == "ranking" and e["id"] == "r1")
    for raw in case.events[:at]:
        engine.process(parse_event(raw))
    resources = load_resources(cfg, values=list(engine.latest()), item_fields=list(engine.item_fields()))
    request = {k: v for k, v in case.events[at].items() if k != "event"}
    with TestClient(create_app(cfg, resources)) as client:
        items = client.post("/rank/noop?explain=true", json=request).json()["items"]
    served = {column: [it["features"][column] for it in items] for column in case.values}
    assert same(served, case.values), served


# --- finding 3: names that collide with another feature's states or columns --------------------------------------

BASE = {
    "models": {"noop": {"type": "noop"}},
    "bootstrap": {"workdir": "/tmp/unused", "source": {"type": "file", "path": "/tmp/unused"}},
    "inference": {"source": {"type": "rest"}, "state": {"type": "memory"}},
}
CTR = {"name": "ctr", "type": "rate", "top": "click", "bottom": "impression", "periods": [7]}
LIKED = {"name": "liked", "type": "interacted_with", "interaction": "click", "field": "item.genre", "scope": "user"}


@pytest.mark.parametrize(
    ("features", "message"),
    [
        ([CTR, {"name": "ctr_click", "type": "interaction_count", "interaction": "click"}],
         "feature 'ctr_click' collides with the state 'ctr_click' of feature 'ctr' (rate); rename one of them"),
        ([{"name": "liked_genre", "type": "string", "source": "item.genre", "values": ["a"]}, LIKED],
         "feature 'liked_genre' collides with the state 'liked_genre' of feature 'liked' (interacted_with); "
         "rename one of them"),
        ([CTR, {"name": "ctr_7", "type": "number", "source": "item.x"}],
         "feature 'ctr_7' collides with the column 'ctr_7' of feature 'ctr' (rate); rename one of them"),
        ([{**CTR, "name": "x", "top": "y_click"}, {**CTR, "name": "x_y"}],
         "features 'x' (rate) and 'x_y' (rate) both have a state named 'x_y_click'; rename one of them"),
    ],
    ids=["rate state", "interacted_with state", "rate column", "two derived states"],
)
def test_colliding_names_are_rejected_at_config_time(features, message):
    with pytest.raises(ConfigError) as e:
        parse_config({**BASE, "features": features}, env={}, where="config.yml")
    assert str(e.value) == f"config.yml: {message}"


def test_names_that_only_look_alike_are_accepted():
    parse_config({**BASE, "features": [CTR, LIKED, {"name": "ctr_clicks", "type": "interaction_count",
                                                     "interaction": "click"}]}, env={})  # fmt: skip


# --- findings 4, 5, 9: the functions behind the cases ------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "strings"),
    [(42.0, ("42",)), ("42", ("42",)), ((42.0,), ("42",)), (42, ("42",)), (4.5, ("4.5",)), (-0.0, ("0",)),
     (("a", 1.0), ("a", "1")), (True, ()), (None, ())],
)
def test_field_strings_names_numbers_like_their_text(value, strings):
    assert field_strings(value) == strings


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("İSTANBUL", ["istanbul"]),
        ("I\u0307STANBUL", ["istanbul"]),  # NFD capital I with dot above
        ("दिन हिन्दी", ["दिन", "हिन्दी"]),  # vowel signs and virama stay in the word
        ("Cafe\u0301", ["café"]),  # NFD e + acute -> NFC é
        ("كَتَبَ الوَلَدُ", ["كَتَبَ", "الوَلَدُ"]),  # Arabic vowel marks
        ("STRASSE Straße", ["strasse", "strasse"]),  # case folding
        ("می\u200cخواهم", ["می\u200cخواهم"]),  # Persian zero-width non-joiner inside a word
        ("\u0301abc", ["abc"]),  # a stray leading mark starts no word
    ],
    ids=["dotted capital I", "NFD dotted I", "Devanagari", "NFD Latin", "Arabic marks", "case folding", "ZWNJ",
         "leading mark"],
)
def test_tokens_keep_combining_marks_and_fold_case(text, tokens):
    assert tokenize(text) == tokens


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("2021-03-01T18:30:00+01:00[Europe/Berlin]", "2021-03-01T18:30:00+01:00"),
        ("2021-03-01T18:30:00Z[Europe/Berlin]", "2021-03-01T19:30:00+01:00"),
        ("2021-07-01T18:30:00+02:00[Europe/Berlin]", "2021-07-01T18:30:00+02:00"),
        ("2021-03-01T18:30:00+01:00", "2021-03-01T18:30:00+01:00"),
        ("2021-03-01T18:30:00+01:00[Nowhere/Zone]", None),
        ("2021-03-01T18:30:00+01:00[Europe]", None),
        ("2021-03-01T18:30:00+01:00[../etc]", None),
        ("2021-03-01T18:30:00[Europe/Berlin]", None),  # no offset: Java's zoned form requires one
    ],
)
def test_local_datetime_accepts_a_region_in_brackets(text, iso):
    parsed = local_datetime(text)
    assert (parsed.isoformat() if parsed else None) == iso


# --- finding 7: the standalone API continues the bootstrap's open sessions ----------------------------------------

T0 = 1_600_000_000_000
SESSION_FEATURES = [
    {"name": "impressions", "type": "interaction_count", "interaction": "impression"},
    {"name": "ctr", "type": "rate", "top": "click", "bottom": "impression", "bucket": "1d", "periods": [1]},
]


def test_standalone_feedback_on_a_ranking_the_bootstrap_left_open_injects_impressions(tmp_path):
    """The bootstrap ends just after r1: a /feedback click on r1's third item impresses all three items in the
    API, as the embedded engine does over the same events."""
    events = [{"event": "ranking", "id": "r1", "timestamp": T0, "user": "u", "session": "s",
               "items": [{"id": "a"}, {"id": "b"}, {"id": "c"}]}]  # fmt: skip
    click = {"event": "interaction", "id": "k", "timestamp": T0 + 1000, "item": "c", "type": "click", "user": "u",
             "session": "s", "ranking": "r1"}  # fmt: skip
    (tmp_path / "events.jsonl").write_text("\n".join(orjson.dumps(e).decode() for e in events) + "\n")
    cfg = parse_config({**BASE, "features": SESSION_FEATURES, "bootstrap": {
        "workdir": str(tmp_path / "wd"), "source": {"type": "file", "path": str(tmp_path / "events.jsonl")}}}, env={})
    bootstrap_embedded(cfg)
    root = tmp_path / "wd"
    resources = load_resources(cfg, values=list(read_values(root, FeatureSet(cfg.features))),
                               item_fields=list(read_item_fields(root)), sessions=list(read_sessions(root)))
    request = {"id": "r2", "timestamp": T0 + 2000, "items": [{"id": "a"}, {"id": "b"}, {"id": "c"}]}
    with TestClient(create_app(cfg, resources)) as client:
        assert client.post("/feedback", json=click).json()["accepted"] == 1
        items = client.post("/rank/noop?explain=true", json=request).json()["items"]
    reference = Engine(cfg, MemoryStore())
    for raw in [*events, click]:
        reference.process(parse_event(raw))
    expected = reference.values(parse_ranking_request(request), online=True)
    assert [it["features"]["impressions"] for it in items] == expected["impressions"][0] == [1.0, 1.0, 1.0]
    assert [it["features"]["ctr_1"] for it in items] == expected["ctr"][0] == [0.0, 0.0, 1.0]


# --- finding 2: the bootstrap summary says how many events arrived out of order ----------------------------------


def test_bootstrap_summary_counts_early_interactions_and_out_of_order_events(tmp_path, capsys):
    features, events, _ = one_log([c for c in CASES if c.id in ("1 interaction before its ranking", "2 out of order input")])
    (tmp_path / "events.jsonl").write_text("\n".join(orjson.dumps(e).decode() for e in events) + "\n")
    raw = {**BASE, "features": features,
           "bootstrap": {"workdir": str(tmp_path / "wd"), "source": {"type": "file", "path": str(tmp_path / "events.jsonl")}}}
    (tmp_path / "config.yml").write_text(yaml.safe_dump(raw))
    assert main(["bootstrap", str(tmp_path / "config.yml"), "--engine", "embedded"]) == 0
    assert capsys.readouterr().out.splitlines()[-2:] == [
        "  1 interaction arrived before their ranking: they count in features, not as its labels",
        "  2 events arrived out of order (timestamp before an earlier event's): rankings may count events stamped "
        "after them; sort the input by time first: rankstream sort <input> --out <file>",
    ]
