"""Table tests for the stateless and latest-value feature types: boolean, string, word_count, vector,
relevancy, position, random, item_age, local_time.

Values are driven through a real Engine over a MemoryStore, so state specs, namespaces and writes are
exercised as in a bootstrap; config errors are checked through ``parse_config`` with their exact text.
"""

from __future__ import annotations

import math
import pickle

import pytest
import yaml
from pydantic import TypeAdapter

from feature_ops.codec import decode, encode
from feature_ops.config import ConfigError, parse_config
from feature_ops.engine import Engine
from feature_ops.events import parse_event, parse_ranking_request
from feature_ops.features import AnyFeatureConfig, build_feature
from feature_ops.features.item_age import epoch_seconds
from feature_ops.features.random_ import stable_uniform
from feature_ops.featureset import ColumnReader, FeatureSet, RecordReader
from feature_ops.store import MemoryStore

T0 = 1_600_000_000_000  # 2020-09-13T12:26:40Z
ADAPTER = TypeAdapter(AnyFeatureConfig)


def base_config(feature: dict) -> dict:
    return {
        "features": [feature],
        "models": {"m": {"type": "noop"}},
        "bootstrap": {"workdir": "/tmp/rs-work", "source": {"type": "file", "path": "/tmp/rs-events"}},
        "inference": {"source": {"type": "rest"}, "state": {"type": "memory"}},
    }


def field_list(fields: dict | None) -> list[dict]:
    return [{"name": k, "value": v} for k, v in (fields or {}).items()]


def item(item_id: str, ts: int = T0, **fields) -> dict:
    return {"event": "item", "id": f"e-{item_id}-{ts}", "timestamp": ts, "item": item_id, "fields": field_list(fields)}


def user(user_id: str, ts: int = T0, **fields) -> dict:
    return {"event": "user", "id": f"u-{user_id}-{ts}", "timestamp": ts, "user": user_id, "fields": field_list(fields)}


def request(items, ts: int = T0 + 1000, fields: dict | None = None, rid: str = "r1", **extra) -> dict:
    rows = []
    for it in items:
        if isinstance(it, str):
            rows.append({"id": it})
        else:
            it = dict(it)
            if "fields" in it:
                it["fields"] = field_list(it["fields"])
            rows.append(it)
    return {"id": rid, "timestamp": ts, "items": rows, "fields": field_list(fields), **extra}


def run(feature: dict, events: list[dict], req: dict, online: bool = False) -> list[list[float]]:
    config = parse_config(base_config(feature))
    engine = Engine(config, MemoryStore())
    for e in events:
        engine.process(parse_event(e))
    return engine.values(parse_ranking_request(req), online=online)[feature["name"]]


def plain(columns):
    """NaN -> None, so tables can be compared with ==."""
    return [[None if isinstance(v, float) and math.isnan(v) else v for v in col] for col in columns]


def config_error(feature: dict) -> str:
    with pytest.raises(ConfigError) as e:
        parse_config(base_config(feature))
    return str(e.value)


# ---- config parsing ----------------------------------------------------------------------------------------

YAML_CASES = [
    ("{name: b, type: boolean, source: item.in_stock}", {"scope": None}, ["b"]),
    ("{name: b, type: boolean, field: user.vip, scope: user}", {"scope": "user"}, ["b"]),
    ("{name: g, type: string, source: item.genre, values: [a, b]}", {"encode": "index"}, ["g"]),
    ("{name: g, type: string, source: item.genre, values: [a, b], encode: onehot}", {"encode": "onehot"}, ["g_a", "g_b"]),
    ("{name: w, type: word_count, source: item.title}", {}, ["w"]),
    ("{name: v, type: vector, source: item.p}", {"reduce": ["min", "max", "size", "avg"]}, ["v_min", "v_max", "v_size", "v_avg"]),
    ("{name: v, type: vector, field: item.p, reduce: [first, vector3, euclidean_distance]}", {}, ["v_first", "v_0", "v_1", "v_2", "v_euclidean_distance"]),
    ("{name: r, type: relevancy}", {}, ["r"]),
    ("{name: p, type: position, position: 5}", {"position": 5}, ["p"]),
    ("{name: x, type: random}", {"seed": 0}, ["x"]),
    ("{name: x, type: random, seed: 7}", {"seed": 7}, ["x"]),
    ("{name: a, type: item_age, source: item.release_date, scope: item}", {"scope": "item"}, ["a"]),
    ("{name: a, type: item_age, field: metadata.release_date}", {}, ["a"]),
    ("{name: t, type: local_time, source: ranking.localts, parse: day_of_month}", {"parse": "day_of_month"}, ["t"]),
]


@pytest.mark.parametrize(("text", "attrs", "columns"), YAML_CASES)
def test_config_parses_from_yaml(text, attrs, columns):
    config = ADAPTER.validate_python(yaml.safe_load(text))
    for key, expected in attrs.items():
        assert getattr(config, key) == expected
    feature = build_feature(config)
    assert feature.columns() == columns
    dumped = config.model_dump(mode="json", by_alias=True)
    assert ADAPTER.validate_python(dumped) == config


@pytest.mark.parametrize(
    ("feature", "message"),
    [
        (
            {"name": "a", "type": "item_age", "source": "user.birth"},
            "features[0] (a).source: item_age can only use item fields, got 'user.birth'",
        ),
        (
            {"name": "a", "type": "item_age", "source": "interaction:click.ts"},
            "features[0] (a).source: item_age can only use item fields, got 'interaction:click.ts'",
        ),
        (
            {"name": "t", "type": "local_time", "source": "item.ts", "parse": "year"},
            "features[0] (t).source: local_time can only use ranking fields, got 'item.ts'",
        ),
        (
            {"name": "g", "type": "string", "source": "item.genre", "values": []},
            "features[0] (g).values: values must list at least one possible value",
        ),
        (
            {"name": "g", "type": "string", "source": "item.genre", "values": ["a", "a"]},
            "features[0] (g).values: values must be unique, 'a' is listed twice",
        ),
        (
            {"name": "v", "type": "vector", "source": "item.p", "reduce": ["random"]},
            "features[0] (v).reduce: reducer 'random' is not supported: its values could not be reproduced",
        ),
        (
            {"name": "v", "type": "vector", "source": "item.p", "reduce": ["median"]},
            "features[0] (v).reduce: unknown reducer 'median', expected one of first, last, min, max, avg, sum, "
            "size, euclidean_distance or vectorN (e.g. vector4)",
        ),
        (
            {"name": "v", "type": "vector", "source": "item.p", "reduce": ["vector0"]},
            "features[0] (v).reduce: unknown reducer 'vector0', expected one of first, last, min, max, avg, sum, "
            "size, euclidean_distance or vectorN (e.g. vector4)",
        ),
        (
            {"name": "v", "type": "vector", "source": "item.p", "reduce": ["vector2", "vector4"]},
            "features[0] (v).reduce: reduce can hold only one vectorN reducer, got ['vector2', 'vector4']",
        ),
        (
            {"name": "v", "type": "vector", "source": "item.p", "reduce": []},
            "features[0] (v).reduce: reduce must list at least one reducer",
        ),
        (
            {"name": "b", "type": "boolean", "source": "item.x", "scope": "user"},
            "features[0] (b): scope 'user' cannot be filled from source 'item.x' (item events carry no user id)",
        ),
        ({"name": "p", "type": "position"}, "features[0] (p).position: required key is missing"),
        (
            {"name": "t", "type": "local_time", "source": "ranking.ts", "parse": "hour"},
            "features[0] (t).parse: input should be 'time_of_day', 'day_of_week', 'day_of_month', "
            "'month_of_year', 'year' or 'second', got 'hour'",
        ),
        ({"name": "r", "type": "relevancy", "source": "item.x"}, "features[0] (r).source: unknown key"),
    ],
)
def test_bad_config_errors(feature, message):
    assert config_error(feature) == f"config: {message}"


# ---- values through the engine -------------------------------------------------------------------------------

BOOL = {"name": "b", "type": "boolean", "source": "item.in_stock"}
BOOL_USER = {"name": "b", "type": "boolean", "source": "user.vip", "scope": "user"}
BOOL_RANKING = {"name": "b", "type": "boolean", "source": "ranking.mobile", "scope": "ranking"}
WORDS = {"name": "w", "type": "word_count", "source": "item.title"}
IDX = {"name": "g", "type": "string", "source": "item.genre", "values": ["drama", "comedy", "action"]}
ONEHOT = {**IDX, "encode": "onehot"}
VEC = {"name": "v", "type": "vector", "source": "item.p"}
VEC_ALL = {**VEC, "reduce": ["first", "last", "sum", "euclidean_distance", "vector3", "size"]}

VALUE_CASES = [
    # boolean: latest value wins; non-bool and missing are NaN; per-item request field overrides
    ("bool", BOOL, [item("a", in_stock=True), item("b", in_stock=True), item("b", T0 + 1, in_stock=False)],
     request(["a", "b", "c"]), [[1.0, 0.0, None]]),
    ("bool non-bool", BOOL, [item("a", in_stock="yes"), item("b", in_stock=1)], request(["a", "b"]), [[None, None]]),
    ("bool override", BOOL, [item("a", in_stock=True)],
     request([{"id": "a", "fields": {"in_stock": False}}, "b"]), [[0.0, None]]),
    # scope honoured at read time: user-scoped value read by the request's user, not by item id
    ("bool user scope", BOOL_USER, [user("u1", vip=True), user("a", vip=False)],
     request(["a", "b"], user="u1"), [[1.0, 1.0]]),
    ("bool user unknown", BOOL_USER, [user("u1", vip=True)], request(["a"], user="u2"), [[None]]),
    ("bool no user", BOOL_USER, [user("u1", vip=True)], request(["a"]), [[None]]),
    ("bool ranking scope", BOOL_RANKING, [], request(["a", "b"], fields={"mobile": True}), [[1.0, 1.0]]),
    # word_count
    ("words", WORDS, [item("a", title="The  Dark Knight "), item("b", title=""), item("c", title=3)],
     request(["a", "b", "c", "d"]), [[3.0, 0.0, None, None]]),
    # string, index encoding: 1-based position of the first value
    ("index", IDX, [item("a", genre="comedy"), item("b", genre=["action", "drama"]), item("c", genre="noir"),
                    item("d", genre=[])],
     request(["a", "b", "c", "d", "e"]), [[2.0, 3.0, 0.0, 0.0, 0.0]]),
    ("index override", IDX, [item("a", genre="comedy")], request([{"id": "a", "fields": {"genre": "drama"}}]),
     [[1.0]]),
    # string, one-hot: multi-hot for lists, unknown ignored, missing all zero
    ("onehot", ONEHOT, [item("a", genre="comedy"), item("b", genre=["action", "noir", "drama"]), item("c", genre=2)],
     request(["a", "b", "c", "d"]),
     [[0.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]]),
    # vector, default reducers [min, max, size, avg]
    ("vector", VEC, [item("a", p=[3, 1, 2]), item("b", p=5), item("c", p=[]), item("d", p=["x"])],
     request(["a", "b", "c", "d", "e"]),
     [[1.0, 5.0, None, None, None], [3.0, 5.0, None, None, None], [3.0, 1.0, 0.0, 0.0, 0.0],
      [2.0, 5.0, None, None, None]]),
    ("vector all", VEC_ALL, [item("a", p=[3, 4]), item("c", p=[])], request(["a", "c", "e"]),
     [[3.0, None, None], [4.0, None, None], [7.0, 0.0, None], [5.0, None, None],
      [3.0, None, None], [4.0, None, None], [None, None, None], [2.0, 0.0, 0.0]]),
    # relevancy: from the request only
    ("relevancy", {"name": "r", "type": "relevancy"}, [],
     request([{"id": "a", "relevancy": 0.5}, "b", {"id": "c", "relevancy": 2}]), [[0.5, None, 2.0]]),
    # item_age: seconds since the item time, signed
    ("item_age iso", {"name": "a", "type": "item_age", "source": "item.d"},
     [item("a", d="2020-09-13T12:26:40Z"), item("b", d="2020-09-13T14:26:40+02:00"), item("c", d="2020-09-13")],
     request(["a", "b", "c"], ts=T0 + 60_000), [[60.0, 60.0, 60.0 + 44_800.0]]),
    ("item_age numbers", {"name": "a", "type": "item_age", "source": "item.d"},
     [item("a", d=1_600_000_000), item("b", d="1600000100"), item("c", d="soon"), item("d", d=True)],
     request(["a", "b", "c", "d", "e"], ts=T0 + 60_000), [[60.0, -40.0, None, None, None]]),
    ("item_age latest", {"name": "a", "type": "item_age", "source": "item.d"},
     [item("a", d=1_599_000_000), item("a", T0 + 1, d=1_600_000_000)], request(["a"], ts=T0 + 10_000), [[10.0]]),
]


@pytest.mark.parametrize(("feature", "events", "req", "expected"), [c[1:] for c in VALUE_CASES],
                         ids=[c[0] for c in VALUE_CASES])
def test_values(feature, events, req, expected):
    assert plain(run(feature, events, req)) == expected


LOCAL = "2021-03-01T18:30:36+02:00"  # a Monday; 16:30:36Z


@pytest.mark.parametrize(
    ("parse", "value", "expected"),
    [
        ("time_of_day", LOCAL, 18.51),
        ("time_of_day", "2021-03-01T23:59:59-05:00", 23.9997),
        ("time_of_day", "2021-03-01T00:00:00Z", 0.0),
        ("day_of_week", LOCAL, 1.0),
        ("day_of_week", "2021-03-07T23:00:00-10:00", 7.0),
        ("day_of_month", LOCAL, 1.0),
        ("day_of_month", "2021-01-31T10:00:00Z", 31.0),
        ("month_of_year", LOCAL, 3.0),
        ("year", LOCAL, 2021.0),
        ("second", LOCAL, 1614616236.0),
        ("second", "2021-03-01T16:30:36.900Z", 1614616236.0),
        ("year", "2021-03-01T18:30:36", None),  # no zone: not a Metarank zoned datetime
        ("year", "yesterday", None),
        ("year", 5, None),
        ("year", None, None),
    ],
)
def test_local_time(parse, value, expected):
    feature = {"name": "t", "type": "local_time", "source": "ranking.localts", "parse": parse}
    fields = None if value is None else {"localts": value}
    columns = plain(run(feature, [], request(["a", "b"], fields=fields)))
    if expected is None:
        assert columns == [[None, None]]
    else:
        assert columns[0][0] == columns[0][1] == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize(("online", "expected"), [(False, [[0.0, 1.0, 2.0]]), (True, [[4.0, 4.0, 4.0]])])
def test_position(online, expected):
    feature = {"name": "p", "type": "position", "position": 4}
    assert run(feature, [], request(["a", "b", "c"]), online=online) == expected


def test_random_is_stable_and_uniform():
    feature = {"name": "x", "type": "random", "seed": 3}
    req = request([f"i{n}" for n in range(200)], rid="r7")
    first = run(feature, [], req)
    assert run(feature, [], req, online=True) == first
    assert first[0][5] == stable_uniform(3, "r7", "i5")
    assert all(0.0 <= v < 1.0 for v in first[0])
    assert 0.4 < sum(first[0]) / 200 < 0.6
    assert run({**feature, "seed": 4}, [], req) != first
    assert run(feature, [], {**req, "id": "r8"}) != first


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1_600_000_000.0, 1_600_000_000.0),
        ("1600000000", 1_600_000_000.0),
        ("1.6e9", 1_600_000_000.0),
        ("2020-09-13T12:26:40Z", 1_600_000_000.0),
        ("2020-09-13T12:26:40.5+00:00", 1_600_000_000.5),
        ("not a date", None),
        (True, None),
        (("a",), None),
    ],
)
def test_epoch_seconds(value, expected):
    assert epoch_seconds(value) == expected


# ---- writes and state ---------------------------------------------------------------------------------------

WRITE_CASES = [
    (BOOL, item("a", in_stock=True), [("b", "a", 1.0)]),
    (BOOL, item("a", other=True), []),
    (BOOL_USER, user("u1", vip=False), [("b", "u1", 0.0)]),
    (BOOL_USER, item("a", vip=False), []),
    (BOOL_RANKING, parse_ranking_request(request(["a"], fields={"mobile": True})), []),
    (WORDS, item("a", title="two words"), [("w", "a", 2.0)]),
    (IDX, item("a", genre="drama"), [("g", "a", "drama")]),
    (ONEHOT, item("a", genre=["drama", "x"]), [("g", "a", ("drama", "x"))]),
    (VEC, item("a", p=[1, 2]), [("v", "a", (1.0, 2.0))]),
    (VEC, item("a", p=4), [("v", "a", (4.0,))]),
    ({"name": "a", "type": "item_age", "source": "item.d"}, item("a", d="1600000000"), [("a", "a", 1.6e9)]),
    ({"name": "a", "type": "item_age", "source": "item.d"}, item("a", d="?"), []),
    ({"name": "r", "type": "relevancy"}, item("a", relevancy=1), []),
    ({"name": "t", "type": "local_time", "source": "ranking.ts", "parse": "year"},
     parse_ranking_request(request(["a"], fields={"ts": LOCAL})), []),
]


@pytest.mark.parametrize(("feature", "event", "expected"), WRITE_CASES)
def test_writes(feature, event, expected):
    built = build_feature(ADAPTER.validate_python(feature))
    event = parse_event(event) if isinstance(event, dict) else event
    assert list(built.writes(event)) == expected
    for state, _, _ in expected:
        assert state in built.states()


@pytest.mark.parametrize(
    ("feature", "states"),
    [
        (BOOL, {"b": "scalar"}),
        (BOOL_RANKING, {}),
        (ONEHOT, {"g": "scalar"}),
        (VEC, {"v": "scalar"}),
        ({"name": "a", "type": "item_age", "source": "item.d"}, {"a": "scalar"}),
        ({"name": "r", "type": "relevancy"}, {}),
        ({"name": "p", "type": "position", "position": 1}, {}),
        ({"name": "x", "type": "random"}, {}),
        ({"name": "t", "type": "local_time", "source": "ranking.ts", "parse": "year"}, {}),
    ],
)
def test_states_and_keys(feature, states):
    built = build_feature(ADAPTER.validate_python(feature))
    assert {name: spec.kind for name, spec in built.states().items()} == states
    keys = list(built.keys(parse_ranking_request(request(["a", "b", "a"], user="u1"))))
    assert {k[0] for k in keys} == set(states)
    if states:
        assert len(keys) == len(set(keys)) >= 1


KEYED = [
    {"name": "n", "type": "number", "source": "item.n"},
    {"name": "nu", "type": "number", "source": "user.n"},
    {"name": "nr", "type": "number", "source": "ranking.n"},
    {"name": "ic", "type": "interaction_count", "interaction": "click", "scope": "session"},
    {"name": "wg", "type": "window_count", "interaction": "click", "scope": "global", "periods": [1]},
    {"name": "r", "type": "rate", "top": "click", "bottom": "impression", "periods": [1]},
    {"name": "rg", "type": "rate", "top": "click", "bottom": "impression", "periods": [1], "scope": "tenant",
     "normalize": {"weight": 1.0}},
    {"name": "rf", "type": "rate", "top": "click", "bottom": "impression", "periods": [1], "scope": "item.genre"},
    {"name": "iw", "type": "interacted_with", "interaction": "click", "field": ["item.a", "item.b"], "scope": "user"},
    {"name": "ref", "type": "referer", "source": "ranking.ref", "scope": "session"},
    {"name": "fm", "type": "field_match", "rankingField": "ranking.q", "itemField": "item.t",
     "method": {"type": "term"}},
    {"name": "d", "type": "diversity", "source": "item.d"},
]  # fmt: skip


@pytest.mark.parametrize(
    "extra", [{}, {"user": "u1"}, {"user": "u1", "session": "s1"}, {"session": "s1"}], ids=["anon", "user", "both", "session"]
)
@pytest.mark.parametrize("items", [["a", "b", "a"], ["c"]], ids=["duplicates", "one"])
def test_key_groups_are_the_keys_by_scope_ids(items, extra):
    features = FeatureSet([ADAPTER.validate_python(f) for f in KEYED])
    ranking = parse_ranking_request(request(items, **extra))
    groups = features.key_groups(ranking)
    states = [state for _, group in groups for state in group]
    assert len(states) == len(set(states))
    assert all(len(ids) == len(set(ids)) >= 1 for ids, _ in groups)
    assert {(state, sid) for ids, group in groups for state in group for sid in ids} == set(features.keys(ranking))


def test_column_reader_reads_like_the_record_reader():
    features = FeatureSet([ADAPTER.validate_python({"name": "n", "type": "number", "source": "item.n", "ttl": "1s"})])
    now, records = 10_000, {"a": (1.0, 9_500), "b": (2.0, 8_000), "c": (3.0, 9_000, 4.0, 9_000)}
    ids = list(records)
    columns = ColumnReader(features, {"n": (ids, tuple(records.values()))}, now)
    plain_reader = RecordReader(features, lambda ns, sid: records.get(sid), now)
    for scope_ids in (ids, ["a", "a", None, "x", "c"], ("b", "c"), ["x"]):
        assert columns.get_many("n", scope_ids) == plain_reader.get_many("n", scope_ids)
    assert [columns.get("n", sid) for sid in "abcx"] == [1.0, None, 4.0, None]
    assert columns.get_many("n", ids) == [1.0, None, 4.0]


def test_string_index_is_categorical():
    index = build_feature(ADAPTER.validate_python(IDX))
    onehot = build_feature(ADAPTER.validate_python(ONEHOT))
    assert (index.categorical, onehot.categorical) == (True, False)


@pytest.mark.parametrize(
    ("feature", "value", "decoded"),
    [
        (VEC_ALL, (1.0, 2.0), (1.0, 2.0)),
        (ONEHOT, ("drama", "comedy"), ("drama", "comedy")),
        (IDX, "drama", "drama"),
        (BOOL, 1.0, 1.0),
    ],
)
def test_state_survives_codec_and_pickle(feature, value, decoded):
    built = build_feature(ADAPTER.validate_python(feature))
    spec = built.states()[feature["name"]]
    assert decode(spec, encode(spec, pickle.loads(pickle.dumps((value, T0))))) == (decoded, T0)


def test_vector_user_scope_reduces_the_users_list_for_every_item():
    feature = {"name": "v", "type": "vector", "source": "user.p", "scope": "user", "reduce": ["sum", "vector2"]}
    events = [user("u1", p=[1, 2, 3]), user("u2", p=[9])]
    assert run(feature, events, request(["a", "b"], user="u1")) == [[6.0, 6.0], [1.0, 1.0], [2.0, 2.0]]
