"""The built-in baselines: point-in-time popularity and smoothed CTR in every dataset row (hand case), the
train table's rows for them, and ``/rank`` serving them as fallback models (``type: popularity | ctr``)."""

from __future__ import annotations

import gzip
import math
from collections import Counter

import orjson
import pytest
from starlette.testclient import TestClient

from feature_ops.baselines import dataset_columns
from feature_ops.config import ConfigError, parse_config
from feature_ops.dataset import DatasetSchema, clickthrough_rows
from feature_ops.engine import Engine
from feature_ops.events import parse_event, parse_ranking_request
from feature_ops.featureset import FeatureSet
from feature_ops.store import MemoryStore
from jobs.embedded import bootstrap_embedded
from jobs.workdir import read_values
from serving.app import create_app
from serving.resources import load_resources
from tests.conftest import config_dict

T0, MIN = 1_600_000_000_000, 60_000
WEIGHTS = {"click": 1.0, "like": 2.0}


def config(models: dict | None = None, features: list | None = None):
    return parse_config({
        "features": features or [{"name": "pos", "type": "position", "position": 0}],
        "models": models or {"m": {"type": "lambdamart", "path": "/tmp/rs-m", "backend": {"type": "xgboost"},
                                   "weights": WEIGHTS, "features": ["pos"]}},
        "bootstrap": {"workdir": "/tmp/rs-baselines", "source": {"type": "file", "path": "/tmp/rs-b-events"}},
        "inference": {"source": {"type": "rest"}, "state": {"type": "memory"}},
    }, env={})  # fmt: skip


def ranking(rid: str, items: list[str], ts: int) -> dict:
    return {"event": "ranking", "id": rid, "timestamp": ts, "user": "u", "session": "s",
            "items": [{"id": i} for i in items]}  # fmt: skip


def interaction(item: str, rid: str | None, ts: int, kind: str = "click") -> dict:
    event = {"event": "interaction", "id": f"{kind}-{item}-{ts}", "timestamp": ts, "item": item, "type": kind,
             "user": "u", "session": "s"}  # fmt: skip
    return event | ({"ranking": rid} if rid else {})


def test_dataset_rows_carry_point_in_time_popularity_and_smoothed_ctr():
    cfg = config()
    rows = []
    engine = Engine(cfg, MemoryStore())
    schema = DatasetSchema.for_model("m", engine.features, ["pos"], dataset_columns(WEIGHTS))
    engine.emit = lambda ct: rows.append(clickthrough_rows(ct, schema, WEIGHTS))
    events = [
        ranking("r1", ["a", "b", "c"], T0), interaction("b", "r1", T0 + 1), interaction("b", "r1", T0 + 2, "like"),
        interaction("c", None, T0 + 3),  # a click without a ranking: popularity, not the CTR
        ranking("r2", ["a", "b", "c"], T0 + 60 * MIN), interaction("a", "r2", T0 + 60 * MIN + 1),
        ranking("r3", ["c", "b", "a"], T0 + 120 * MIN), interaction("c", "r3", T0 + 120 * MIN + 1),
    ]  # fmt: skip
    for event in events:
        engine.process(parse_event(event))
    engine.finish()
    assert schema.columns == ("pos",) and schema.value_columns == ("pos", "baseline_clicks", "baseline_ctr")
    by_ranking = {row["ranking"][0]: row for row in rows}
    assert by_ranking["r1"]["baseline_clicks"] == [0, 0, 0]
    assert all(math.isnan(v) for v in by_ranking["r1"]["baseline_ctr"])  # nothing shown anywhere yet
    # before r2: b clicked in r1 (impressions a, b), c clicked without a ranking; prior 1/2
    assert by_ranking["r2"]["baseline_clicks"] == [0, 1, 1]
    assert by_ranking["r2"]["baseline_ctr"] == pytest.approx([10 / 21, 11 / 21, 10 / 20])
    # before r3 (c, b, a): a clicked at the top of r2 (impression a); 2 joined clicks over 3 impressions
    prior = 2 / 3
    assert by_ranking["r3"]["baseline_clicks"] == [1, 1, 1]
    assert by_ranking["r3"]["baseline_ctr"] == pytest.approx([20 * prior / 20, (1 + 20 * prior) / 21,
                                                              (1 + 20 * prior) / 22])  # fmt: skip


@pytest.mark.parametrize(
    ("weights", "columns"),
    [({"click": 1, "like": 2}, {"baseline_clicks": "_baseline_clicks_click", "baseline_ctr": "_baseline_ctr_click"}),
     ({"purchase": 3, "cart": 2, "view": 0}, {"baseline_clicks": "_baseline_clicks_cart", "baseline_ctr": "_baseline_ctr_cart"}),
     ({"view": 0}, {})],
)  # fmt: skip
def test_baselines_count_the_lightest_positive_interaction(weights, columns):
    assert dataset_columns(weights) == columns


def test_fallback_models_parse_and_reserved_names_are_refused():
    cfg = config({"pop": {"type": "popularity"}, "ctr": {"type": "ctr", "interaction": "purchase"}})
    assert [f.name for f in cfg.all_features] == [
        "pos", "_baseline_clicks_click", "_baseline_ctr_click", "_baseline_clicks_purchase", "_baseline_ctr_purchase"
    ]  # fmt: skip
    assert [f.name for f in cfg.features] == ["pos"]
    with pytest.raises(ConfigError) as error:
        config(features=[{"name": "_baseline_x", "type": "position", "position": 0}], models={"n": {"type": "noop"}})
    assert str(error.value) == (
        "config: feature '_baseline_x': names starting with '_baseline_' are reserved for the built-in baselines"
    )


# --- /rank with a fallback model, over the bootstrapped sample --------------------------------------------------


@pytest.fixture(scope="module")
def fallback(sample):
    raw = config_dict(sample.config)
    raw["models"].update(pop={"type": "popularity"}, ctr={"type": "ctr"})
    cfg = parse_config(raw, env={})
    values = list(read_values(sample.workdir, FeatureSet(cfg.all_features)))
    with gzip.open(sample.events, "rb") as f:
        events = [orjson.loads(line) for line in f]
    with TestClient(create_app(cfg, load_resources(cfg, values=values))) as client:
        yield cfg, client, events


def _request(events: list[dict]) -> dict:
    last = [e for e in events if e["event"] == "ranking"][-1]
    return {k: v for k, v in last.items() if k != "event"} | {"timestamp": events[-1]["timestamp"] + 1}


def test_popularity_model_ranks_by_clicks_so_far(fallback):
    _, client, events = fallback
    request = _request(events)
    clicks = Counter(e["item"] for e in events if e["event"] == "interaction" and e["type"] == "click")
    ids = [it["id"] for it in request["items"]]
    expected = sorted(ids, key=lambda i: -clicks[i])  # stable: ties keep the request order
    served = client.post("/rank/pop", json=request).json()["items"]
    assert [row["item"] for row in served] == expected
    assert [row["score"] for row in served] == [clicks[i] for i in expected]


def test_ctr_model_serves_the_offline_value(fallback):
    cfg, client, events = fallback
    request = _request(events)
    engine = Engine(cfg, MemoryStore())
    for event in events:
        engine.process(parse_event(event))
    [offline] = engine.values(parse_ranking_request(request), online=True)["_baseline_ctr_click"]
    served = {row["item"]: row["score"] for row in client.post("/rank/ctr", json=request).json()["items"]}
    ids = [it["id"] for it in request["items"]]
    assert [served[i] for i in ids] == pytest.approx(offline)
    assert all(0 <= v <= 1 for v in offline)


def test_a_site_without_a_trained_model_serves_popularity(tmp_path):
    """Only a fallback model: the bootstrap writes no dataset but keeps the baseline, and /rank serves it."""
    events = [ranking("r1", ["a", "b", "c"], T0), interaction("c", "r1", T0 + 1), interaction("c", None, T0 + 2),
              interaction("b", "r1", T0 + 3)]  # fmt: skip
    (tmp_path / "events").mkdir()
    (tmp_path / "events" / "e.jsonl").write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    raw = config_dict(config({"pop": {"type": "popularity"}}))
    raw["bootstrap"].update(workdir=str(tmp_path / "wd"), source={"type": "file", "path": str(tmp_path / "events")})
    cfg = parse_config(raw, env={})
    result = bootstrap_embedded(cfg)
    assert result.rows == {}
    values = list(read_values(tmp_path / "wd", FeatureSet(cfg.all_features)))
    with TestClient(create_app(cfg, load_resources(cfg, values=values))) as client:
        body = {"id": "q", "timestamp": T0 + 10, "items": [{"id": "a"}, {"id": "b"}, {"id": "c"}, {"id": "d"}]}
        served = client.post("/rank/pop", json=body).json()["items"]
    assert [(row["item"], row["score"]) for row in served] == [("c", 2.0), ("b", 1.0), ("a", 0.0), ("d", 0.0)]  # never clicked: 0, request order
