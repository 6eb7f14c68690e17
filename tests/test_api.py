"""The reranking API: every endpoint's success and error cases, Redis outages, the bootstrap replay
parity check and a fuzz of request bodies."""

from __future__ import annotations

import asyncio
import gzip
import math

import numpy as np
import orjson
import pytest
import redis
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from feature_ops.config import parse_config
from feature_ops.engine import Engine
from feature_ops.events import parse_event, parse_ranking_request
from feature_ops.featureset import FeatureSet
from feature_ops.ranker import read_ranker
from feature_ops.store import MemoryStore
from jobs.manifest import file_entry, write_manifest
from jobs.train.command import train_models
from jobs.upload import upload
from jobs.workdir import (
    local_workdir,
    read_dataset,
    read_item_fields,
    read_values,
    write_item_fields,
    write_values,
)
from serving.app import create_app
from serving.redis_store import RedisValueStore
from serving.resources import load_resources
from serving.testing import RedisServer
from tests.conftest import config_dict, with_state

pytestmark = pytest.mark.redis


@pytest.fixture(scope="module")
def events(sample) -> list[dict]:
    with gzip.open(sample.events, "rb") as f:
        return [orjson.loads(line) for line in f]


@pytest.fixture(scope="module")
def trained(sample):
    train_models(sample.config, "xgboost", log=lambda line: None)
    return read_ranker(sample.config.models["xgboost"].path)


def memory_client(config, values) -> TestClient:
    return TestClient(create_app(config, load_resources(config, values=values)))


@pytest.fixture(scope="module")
def client(sample, trained):
    with memory_client(sample.config, list(read_values(sample.workdir, FeatureSet(sample.config.features)))) as c:
        yield c


@pytest.fixture
def fresh(sample, trained):
    """A client whose state the test may change (feedback)."""
    with memory_client(sample.config, list(read_values(sample.workdir, FeatureSet(sample.config.features)))) as c:
        yield c


def request_of(ranking: dict) -> dict:
    return {k: v for k, v in ranking.items() if k != "event"}


@pytest.fixture(scope="module")
def last_ranking(events) -> dict:
    return request_of([e for e in events if e["event"] == "ranking"][-1])


def ids(response) -> list[str]:
    return [it["item"] for it in response.json()["items"]]


# --- /rank -------------------------------------------------------------------------------------------------


def test_noop_keeps_the_request_order(client, last_ranking):
    response = client.post("/rank/noop", json=last_ranking)
    assert response.status_code == 200
    assert ids(response) == [it["id"] for it in last_ranking["items"]]
    assert {it["score"] for it in response.json()["items"]} == {0.0}
    assert response.json()["took"] > 0 and "features" not in response.json()["items"][0]


def test_shuffle_moves_items_less_than_max_position_change(client, last_ranking):
    before = [it["id"] for it in last_ranking["items"]]
    after = ids(client.post("/rank/shuffle", json=last_ranking))
    assert sorted(after) == sorted(before) and after != before
    assert max(abs(before.index(item) - i) for i, item in enumerate(after)) < 3
    assert ids(client.post("/rank/shuffle", json=last_ranking)) == after  # seeded by the ranking id


def test_lambdamart_sorts_by_the_booster_score(client, last_ranking, trained):
    body = client.post("/rank/xgboost?explain=true", json=last_ranking).json()
    scores = [it["score"] for it in body["items"]]
    assert scores == sorted(scores, reverse=True)
    matrix = np.array([[math.nan if v is None else v for v in it["features"].values()] for it in body["items"]])
    assert list(body["items"][0]["features"]) == trained.columns
    np.testing.assert_allclose(trained.score(matrix), scores, rtol=1e-6)


def test_explain_contributions_add_up_to_the_score(client, last_ranking, trained):
    body = client.post("/rank/xgboost?explain=1", json=last_ranking).json()
    matrix = np.array([[math.nan if v is None else v for v in it["features"].values()] for it in body["items"]])
    bias = trained.contributions(matrix)[:, -1]
    for item, b in zip(body["items"], bias, strict=True):
        assert list(item["contributions"]) == trained.columns
        assert sum(item["contributions"].values()) + b == pytest.approx(item["score"], abs=1e-4)


def test_explain_on_noop_shows_every_configured_feature_without_contributions(client, last_ranking, sample):
    item = client.post("/rank/noop?explain=true", json=last_ranking).json()["items"][0]
    assert list(item["features"]) == FeatureSet(sample.config.features).columns([f.name for f in sample.config.features])
    assert "contributions" not in item


def test_unknown_items_and_visitors_rank_with_missing_values(client):
    body = {"id": "r-new", "timestamp": 1_700_000_000_000, "user": "nobody", "items": [{"id": "zz1"}, {"id": "zz2"}]}
    response = client.post("/rank/xgboost?explain=true", json=body)
    assert response.status_code == 200
    assert response.json()["items"][0]["features"]["popularity"] is None


def test_request_fields_override_stored_item_fields(client, last_ranking):
    body = {**last_ranking, "items": [{"id": last_ranking["items"][0]["id"], "fields": [{"name": "popularity", "value": 123.5}]}]}
    item = client.post("/rank/noop?explain=true", json=body).json()["items"][0]
    assert item["features"]["popularity"] == 123.5


RANK_ERRORS = [
    ("/rank/noop", b"{", 400, "request body is not valid JSON: unexpected end of data: line 1 column 2 (char 1)"),
    ("/rank/noop", b"", 400, "request body is empty: send a ranking request as a JSON object"),
    ("/rank/noop", b"[1]", 400, "request must be a JSON object, got list"),
    ("/rank/noop", b'{"id":"r","timestamp":1}', 400,
     "field 'items' must be a non-empty list of {id, relevancy?, fields?, label?}"),
    ("/rank/noop", b'{"id":"r","timestamp":"yesterday","items":[{"id":"a"}]}', 400,
     'field \'timestamp\' must be epoch millis or ISO-8601, got "yesterday"'),
    ("/rank/noop", b'{"id":"r","timestamp":1,"items":[{"id":"a"},{"id":7}]}', 400,
     "field 'items[1].id' must be a non-empty string, got 7"),
    ("/rank/noop?explain=maybe", b'{"id":"r","timestamp":1,"items":[{"id":"a"}]}', 400,
     "query parameter 'explain' must be true or false, got 'maybe'"),
    ("/rank/nope", b'{"id":"r","timestamp":1,"items":[{"id":"a"}]}', 404, "model 'nope' is not configured"),
]  # fmt: skip


@pytest.mark.parametrize(("path", "body", "status", "message"), RANK_ERRORS)
def test_rank_errors(client, path, body, status, message):
    response = client.post(path, content=body)
    assert (response.status_code, response.json()) == (status, {"error": message})


@pytest.mark.parametrize(
    ("method", "path", "status", "message"),
    [("get", "/rank/noop", 405, "Method Not Allowed"), ("get", "/nothing", 404, "Not Found")],
)
def test_routing_errors_are_json(client, method, path, status, message):
    response = getattr(client, method)(path)
    assert (response.status_code, response.json()) == (status, {"error": message})


def test_body_above_max_body_bytes_is_413(sample, trained):
    config = with_state(sample.config, {"type": "memory"}, maxBodyBytes=100)
    with memory_client(config, []) as small:
        big = {"id": "r", "timestamp": 1, "items": [{"id": f"item{i}"} for i in range(20)]}
        expected = {"error": "request body is larger than inference.maxBodyBytes (100 bytes)"}
        for path in ("/rank/noop", "/feedback"):
            response = small.post(path, json=big)
            assert (response.status_code, response.json()) == (413, expected)
        chunked = small.post("/rank/noop", content=iter([orjson.dumps(big)]))  # no content-length header
        assert (chunked.status_code, chunked.json()) == (413, expected)


def test_untrained_model_is_503_and_unhealthy(sample, tmp_path):
    raw_models = {"other": {**sample.config.models["xgboost"].model_dump(mode="json"), "path": str(tmp_path / "m")}}
    raw = config_dict(sample.config)
    raw["models"].update(raw_models)
    config = parse_config(raw, env={})
    with memory_client(config, []) as c:
        reason = f"model 'other' is not loaded: {tmp_path}/m does not exist: run `rankstream train` first"
        response = c.post("/rank/other", json={"id": "r", "timestamp": 1, "items": [{"id": "a"}]})
        assert (response.status_code, response.json()) == (503, {"error": reason})
        health = c.get("/health")
        assert (health.status_code, health.json()) == (503, {"status": "unavailable", "reasons": [reason]})


# --- /feedback ---------------------------------------------------------------------------------------------

CLICK = {"event": "interaction", "id": "f1", "timestamp": 1_650_000_000_000, "item": "m1", "type": "click", "user": "u1"}
ITEM = {"event": "item", "id": "f2", "timestamp": 1_650_000_000_000, "item": "m1",
        "fields": [{"name": "popularity", "value": 1.5}]}
FEEDBACK = [
    ("one event", orjson.dumps(CLICK), 200, {"accepted": 1, "rejected": 0, "errors": []}),
    ("array", orjson.dumps([CLICK, ITEM]), 200, {"accepted": 2, "rejected": 0, "errors": []}),
    ("ndjson", orjson.dumps(CLICK) + b"\n\n" + orjson.dumps(ITEM) + b"\n", 200,
     {"accepted": 2, "rejected": 0, "errors": []}),
    ("ndjson with bad lines", orjson.dumps(CLICK) + b"\n{oops\n" + orjson.dumps({**CLICK, "event": "x"}), 200,
     {"accepted": 1, "rejected": 2, "errors": [
         "line 2: invalid JSON: unexpected character, expected a string key: line 1 column 2 (char 1)",
         "line 3: event type 'x' is not supported, expected one of: item, metadata, user, ranking, interaction"]}),
    ("array with a bad event", orjson.dumps([CLICK, {**CLICK, "timestamp": None}, 3]), 200,
     {"accepted": 1, "rejected": 2, "errors": [
         "event 2: required field 'timestamp' is missing", "event 3: event must be a JSON object, got number"]}),
    ("all rejected", orjson.dumps({"id": "x"}), 400,
     {"accepted": 0, "rejected": 1, "errors": ["event 1: required field 'event' is missing"]}),
    ("not JSON", b"{nope", 400,
     {"accepted": 0, "rejected": 1, "errors": ["line 1: invalid JSON: unexpected character, expected a string key: line 1 column 2 (char 1)"]}),
    ("empty array", b"[]", 200, {"accepted": 0, "rejected": 0, "errors": []}),
]  # fmt: skip


@pytest.mark.parametrize(("case", "body", "status", "expected"), FEEDBACK, ids=[f[0] for f in FEEDBACK])
def test_feedback_bodies(fresh, case, body, status, expected):
    response = fresh.post("/feedback", content=body)
    assert (response.status_code, response.json()) == (status, expected)


def test_empty_feedback_is_400(client):
    response = client.post("/feedback", content=b"  \n")
    assert (response.status_code, response.json()) == (
        400, {"error": "request body is empty: send one event, a JSON array of events or NDJSON"})  # fmt: skip


def test_standalone_feedback_changes_later_rankings(fresh, last_ranking):
    item = last_ranking["items"][0]["id"]
    ts = last_ranking["timestamp"] + 1000
    ranking = {**last_ranking, "id": "after", "timestamp": ts + 10}

    def clicks():
        body = fresh.post("/rank/noop?explain=true", json=ranking).json()
        return next(it for it in body["items"] if it["item"] == item)["features"]["global_item_click_count"] or 0

    before = clicks()
    events = [{**CLICK, "id": f"c{i}", "item": item, "timestamp": ts + i} for i in range(3)]
    assert fresh.post("/feedback", json=events).json()["accepted"] == 3
    assert clicks() == before + 3


def test_redis_feedback_goes_to_the_stream(sample, redis_db, trained):
    config = with_state(sample.config, {"type": "redis", "host": redis_db.host, "port": redis_db.port})
    with TestClient(create_app(config)) as c:
        assert c.post("/feedback", json=[CLICK, ITEM]).json() == {"accepted": 2, "rejected": 0, "errors": []}
    stream = redis.Redis(host=redis_db.host, port=redis_db.port).xrange("rs@feedback")
    assert [orjson.loads(fields[b"event"]) for _, fields in stream] == [CLICK, ITEM]


# --- /health, /metrics, /openapi.json ------------------------------------------------------------------------


def test_health_ok_when_models_loaded_and_store_answers(client):
    response = client.get("/health")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_metrics_count_requests_feedback_and_latency(fresh, last_ranking):
    fresh.post("/rank/noop", json=last_ranking)
    fresh.post("/rank/nope", json=last_ranking)
    fresh.post("/feedback", content=orjson.dumps(CLICK) + b"\n{}\n")
    text = fresh.get("/metrics").text
    assert 'rankstream_requests_total{endpoint="/rank",model="noop",status="200"} 1.0' in text
    assert 'rankstream_requests_total{endpoint="/rank",model="-",status="404"} 1.0' in text
    assert 'rankstream_request_seconds_count{endpoint="/rank",model="noop"} 1.0' in text
    assert 'rankstream_feedback_events_total{result="accepted"} 1.0' in text
    assert 'rankstream_feedback_events_total{result="rejected"} 1.0' in text
    assert "rankstream_store_errors_total 0.0" in text


def test_openapi_describes_rank_and_feedback_bodies(client):
    spec = client.get("/openapi.json").json()
    rank = spec["paths"]["/rank/{model}"]["post"]
    assert rank["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/RankRequest"}
    assert spec["components"]["schemas"]["RankRequest"]["required"] == ["id", "timestamp", "items"]
    assert "application/x-ndjson" in spec["paths"]["/feedback"]["post"]["requestBody"]["content"]
    assert set(rank["responses"]) == {"200", "400", "401", "404", "413", "431", "503"}


# --- Redis outage ---------------------------------------------------------------------------------------------


def test_redis_down_is_503_and_recovers_without_restarting_the_app(sample, trained, tmp_path, last_ranking):
    with RedisServer(tmp_path / "redis") as server:
        config = with_state(sample.config, {"type": "redis", "host": server.host, "port": server.port})
        upload(config)
        with TestClient(create_app(config)) as c:
            served = c.post("/rank/xgboost", json=last_ranking).json()["items"]
            server.stop()
            down = c.post("/rank/xgboost", json=last_ranking)
            assert down.status_code == 503
            assert down.json()["error"].startswith(f"state store is unreachable: redis 127.0.0.1:{server.port}/0: ")
            assert "Traceback" not in down.text
            health = c.get("/health")
            assert health.status_code == 503 and health.json()["reasons"] == [down.json()["error"]]
            assert c.post("/feedback", json=CLICK).status_code == 503
            assert "rankstream_store_errors_total 2.0" in c.get("/metrics").text
            server.start()
            upload(config)  # no persistence: the restarted server is empty
            assert c.get("/health").status_code == 200
            assert c.post("/rank/xgboost", json=last_ranking).json()["items"] == served


# --- replay: the API serves the feature values the training row had -----------------------------------------


@pytest.fixture(scope="module")
def replay(sample, events, tmp_path_factory):
    """A ranking from the last fifth of the data that is in the dataset, and the state just before it."""
    rows = read_dataset(sample.workdir, "xgboost").to_pylist()
    in_dataset = {row["ranking"] for row in rows}
    rankings = [i for i, e in enumerate(events) if e["event"] == "ranking" and e["id"] in in_dataset]
    index = rankings[len(rankings) - len(rankings) // 5]
    engine = Engine(sample.config, MemoryStore())
    for event in events[:index]:
        engine.process(parse_event(event))
    root = local_workdir(str(tmp_path_factory.mktemp("replay")))
    write_values(root, engine.features, engine.latest())
    values = "values/values.jsonl.gz"
    write_manifest(root, {"outputs": {values: file_entry(root / values)}})
    ranking = events[index]
    return ranking, [row for row in rows if row["ranking"] == ranking["id"]], root


@pytest.mark.parametrize("state", ["memory", "redis"])
def test_replayed_ranking_gets_its_training_row_values(sample, trained, replay, state, request):
    ranking, rows, root = replay
    values = list(read_values(root, FeatureSet(sample.config.features)))
    if state == "memory":
        client = memory_client(sample.config, values)
    else:
        address = request.getfixturevalue("redis_db")
        config = with_state(sample.config, {"type": "redis", "host": address.host, "port": address.port})
        upload(config.model_copy(update={"bootstrap": config.bootstrap.model_copy(update={"workdir": str(root)})}),
               store=RedisValueStore(address.host, address.port))  # fmt: skip
        client = TestClient(create_app(config))
    with client:
        body = client.post("/rank/xgboost?explain=true", json=request_of(ranking)).json()
    served = {it["item"]: it["features"] for it in body["items"]}
    assert len(rows) == len(ranking["items"]) == len(served)
    compared = 0
    for row in rows:
        for column, value in served[row["item"]].items():
            compared += 1
            if column == "position":  # by design: the real position offline, a constant online
                assert value == 5.0
                continue
            expected = row[column]
            assert (value is None and math.isnan(expected)) or value == pytest.approx(expected, rel=1e-9), (
                row["item"], column, value, expected)  # fmt: skip
    assert compared == len(rows) * len(trained.columns)


# --- fuzz: no body makes the API fail with a 5xx -------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
FIELD = st.fixed_dictionaries({"name": st.sampled_from(["popularity", "genres", "title", "x"]), "value": JSON})
ITEM_LIKE = st.fixed_dictionaries({"id": st.text(max_size=5) | JSON}, optional={"fields": st.lists(FIELD, max_size=3) | JSON, "relevancy": JSON, "label": JSON})
RANKING_LIKE = st.fixed_dictionaries(
    {"id": st.text(max_size=5) | JSON, "timestamp": st.integers(-(2**40), 2**42) | JSON,
     "items": st.lists(ITEM_LIKE, max_size=5) | JSON},
    optional={"user": st.text(max_size=4) | JSON, "session": st.text(max_size=4) | JSON,
              "fields": st.lists(FIELD, max_size=3) | JSON},
)  # fmt: skip
EVENT_LIKE = st.builds(
    lambda kind, body, extra: {**body, "event": kind, **extra},
    st.sampled_from(["item", "user", "ranking", "interaction", "metadata", "other"]),
    RANKING_LIKE,
    st.fixed_dictionaries({}, optional={"item": st.text(max_size=4) | JSON, "type": st.sampled_from(["click", "impression"]) | JSON,
                                        "user": st.text(max_size=4), "ranking": st.text(max_size=4)}),
)  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=JSON | RANKING_LIKE, model=st.sampled_from(["noop", "shuffle", "xgboost"]), explain=st.booleans())
def test_fuzz_rank_never_fails_with_5xx(client, body, model, explain):
    response = client.post(f"/rank/{model}?explain={str(explain).lower()}", content=orjson.dumps(body))
    assert response.status_code < 500, response.text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=JSON | EVENT_LIKE | st.lists(EVENT_LIKE, max_size=3))
def test_fuzz_feedback_never_fails_with_5xx(client, body):
    response = client.post("/feedback", content=orjson.dumps(body))
    assert response.status_code < 500, response.text


def test_warm_up_ranks_every_loaded_model_once_at_startup(sample, trained):
    resources = load_resources(sample.config, values=list(read_values(sample.workdir, FeatureSet(sample.config.features))))
    assert asyncio.run(resources.warm_up()) == [name for name in sample.config.models]


def test_warm_up_is_skipped_while_the_store_is_down(sample, trained, tmp_path):
    with RedisServer(tmp_path / "redis") as server:
        config = with_state(sample.config, {"type": "redis", "host": server.host, "port": server.port})
        server.stop()
        resources = load_resources(config)
        assert asyncio.run(resources.warm_up()) == []
        resources.close()


def test_rate_per_item_field_value_is_served_as_computed_offline():
    """A second read step: the item's field value first, then the counters of that value."""
    raw = yaml.safe_load("""
features:
  - {name: genre_ctr, type: rate, top: click, bottom: impression, bucket: 1d, periods: [1], scope: item.genre}
models:
  noop: {type: noop}
bootstrap: {workdir: /tmp/unused, source: {type: file, path: /tmp/unused}}
inference: {source: {type: rest}, state: {type: memory}}
""")
    config = parse_config(raw, env={})
    engine = Engine(config, MemoryStore())
    genre = [("a", "drama"), ("b", "drama"), ("c", "comedy")]
    for i, g in genre:
        engine.process(parse_event({"event": "item", "id": f"e{i}", "timestamp": 1, "item": i,
                                    "fields": [{"name": "genre", "value": g}]}))
    for kind, item in [("impression", "a"), ("impression", "b"), ("impression", "c"), ("click", "a")]:
        engine.process(parse_event({"event": "interaction", "id": f"{kind}{item}", "timestamp": 2, "item": item,
                                    "type": kind}))
    request = {"id": "r", "timestamp": 3, "items": [{"id": "b"}, {"id": "c"}, {"id": "x"}]}
    offline = engine.values(parse_ranking_request(request), online=True)["genre_ctr"][0]
    resources = load_resources(config, values=list(engine.latest()))
    served = asyncio.run(resources.pipelines["noop"].rank(parse_ranking_request(request), explain=True))
    online = [item["features"]["genre_ctr_1"] for item in served]
    assert offline[:2] == [0.5, 0.0] and online[:2] == offline[:2] and online[2] is None


def test_standalone_feedback_joins_item_fields_of_bootstrapped_items(tmp_path):
    """interacted_with needs the clicked item's fields: the bootstrap's item field store seeds the API."""
    raw = yaml.safe_load(f"""
features:
  - {{name: liked, type: interacted_with, interaction: click, field: item.genre, scope: user}}
models:
  noop: {{type: noop}}
bootstrap: {{workdir: {tmp_path}, source: {{type: file, path: {tmp_path}}}, timestamps: {{min: 0}}}}
inference: {{source: {{type: rest}}, state: {{type: memory}}}}
""")
    config = parse_config(raw, env={})
    engine = Engine(config, MemoryStore())
    for i, genre in [("a", "drama"), ("b", "drama"), ("c", "comedy")]:
        engine.process(parse_event({"event": "item", "id": f"e{i}", "timestamp": 1, "item": i,
                                    "fields": [{"name": "genre", "value": genre}]}))
    write_values(local_workdir(str(tmp_path)), engine.features, engine.latest())
    write_item_fields(tmp_path, engine.item_fields())
    resources = load_resources(config, values=list(read_values(tmp_path, engine.features)),
                               item_fields=list(read_item_fields(tmp_path)))
    with TestClient(create_app(config, resources)) as c:
        click = {"event": "interaction", "id": "k", "timestamp": 2, "item": "a", "type": "click", "user": "u"}
        assert c.post("/feedback", json=click).json()["accepted"] == 1
        body = c.post("/rank/noop?explain=true", json={"id": "r", "timestamp": 3, "user": "u",
                                                        "items": [{"id": "b"}, {"id": "c"}]}).json()
    assert [it["features"]["liked"] for it in body["items"]] == [1.0, 0.0]
