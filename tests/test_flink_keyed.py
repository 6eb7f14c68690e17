"""The keyed graph's hard cases: a hot global key every interaction writes, at P = 2; a local cluster."""

import gzip
import json
from pathlib import Path

import pytest

from feature_ops.config import parse_config
from feature_ops.routing import bucket_of
from jobs.embedded import bootstrap_embedded
from jobs.flink.bootstrap import bootstrap_flink
from jobs.flink.cluster import LocalCluster
from jobs.flink.keyed import LOCAL_EXCHANGE
from jobs.generate import generate

pytestmark = pytest.mark.flink
MIN = 60_000
T0 = 1_600_000_000_000


def config(workdir: Path, events: Path, parallelism: int):
    features = [
        {"name": "clicks_everywhere", "type": "interaction_count", "interaction": "click", "scope": "global"},
        {"name": "global_ctr", "type": "rate", "top": "click", "bottom": "impression", "scope": "global",
         "bucket": "1h", "periods": [1, 24]},
        {"name": "item_ctr", "type": "rate", "top": "click", "bottom": "impression", "bucket": "1h",
         "periods": [24], "normalize": {"weight": 5}},
    ]  # fmt: skip
    return parse_config({
        "features": features,
        "models": {"xgboost": {"type": "lambdamart", "path": str(workdir / "m"), "backend": {"type": "xgboost"},
                               "weights": {"click": 1}, "features": [f["name"] for f in features]}},
        "bootstrap": {"workdir": str(workdir), "parallelism": parallelism,
                      "source": {"type": "file", "path": str(events)}},
        "inference": {"source": {"type": "rest"}, "state": {"type": "memory"}},
    }, env={})  # fmt: skip


def hot_log() -> list[dict]:
    """60 rankings of 6 items, each followed by clicks: every click and impression writes the key 'global'."""
    events, t = [], T0
    for r in range(60):
        items = [f"i{(r + k) % 17}" for k in range(6)]
        events.append({"event": "ranking", "id": f"r{r}", "timestamp": t, "user": f"u{r % 5}", "session": f"s{r % 5}",
                       "items": [{"id": i} for i in items]})  # fmt: skip
        for k in range(r % 4 + 1):
            t += MIN
            events.append({"event": "interaction", "id": f"c{r}-{k}", "timestamp": t, "ranking": f"r{r}",
                           "item": items[(r * 7 + k * 3) % 6], "type": "click", "user": f"u{r % 5}",
                           "session": f"s{r % 5}"})  # fmt: skip
        t += MIN
    return events


@pytest.mark.parametrize("by_reference", [True, False], ids=["by-reference", "by-value"])
def test_a_hot_global_key_written_by_every_interaction_keeps_flink_equal_to_embedded(tmp_path, monkeypatch,
                                                                                   by_reference):  # fmt: skip
    """By value (``RANKSTREAM_LOCAL_EXCHANGE=0``) a MiniCluster takes the path between TaskManagers: records
    pickled, answers as writes to the gather's copies."""
    if not by_reference:
        monkeypatch.setenv(LOCAL_EXCHANGE, "0")
    (tmp_path / "events").mkdir()
    (tmp_path / "events" / "hot.jsonl").write_text("\n".join(json.dumps(e) for e in hot_log()) + "\n")
    embedded = bootstrap_embedded(config(tmp_path / "embedded", tmp_path / "events", 1))
    flink = bootstrap_flink(config(tmp_path / "flink", tmp_path / "events", 2), batch_size=16)
    assert flink.stats == embedded.stats and flink.stats["clickthroughs"] == 60
    for path in ("dataset/xgboost.parquet", "values/values.jsonl.gz", "values/sessions.jsonl.gz"):
        assert (tmp_path / "flink" / path).read_bytes() == (tmp_path / "embedded" / path).read_bytes(), path
    values = [json.loads(line) for line in gzip.decompress((tmp_path / "flink/values/values.jsonl.gz").read_bytes()).splitlines()]
    hot = [v for v in values if v["id"] == "global" and v["state"] == "clicks_everywhere"]
    assert hot and hot[0]["record"][0] == 150 and bucket_of("global") == 3  # every click, one bucket
    assert sorted(flink.subtasks) == [0, 1]


def test_on_a_local_cluster_of_two_taskmanagers_the_bootstrap_writes_the_embedded_bytes(tmp_path):
    """``--parallelism 2`` runs on two TaskManager JVMs (one Python interpreter each) started for the run and
    stopped after it: both work, the outputs are the embedded bytes, no cluster process is left."""
    generate(tmp_path / "data", items=60, users=20, rankings=120, ranking_size=8)
    events = tmp_path / "data" / "events"
    embedded = bootstrap_embedded(config(tmp_path / "embedded", events, 1))
    flink = bootstrap_flink(config(tmp_path / "flink", events, 2), batch_size=64, local_cluster=True)
    assert flink.stats == embedded.stats and sorted(flink.subtasks) == [0, 1] and min(flink.subtasks.values()) > 100
    for path in ("dataset/xgboost.parquet", "values/values.jsonl.gz", "values/sessions.jsonl.gz"):
        assert (tmp_path / "flink" / path).read_bytes() == (tmp_path / "embedded" / path).read_bytes(), path
    assert not list((tmp_path / "flink").glob(".staging-*"))  # the cluster's directory went with the staging


def test_a_local_cluster_starts_its_taskmanagers_and_stops_exactly_its_processes(tmp_path):
    with LocalCluster(2, tmp_path / "cluster") as cluster:
        assert cluster._registered() == 2
        pids = cluster._pids()
        assert len(pids) == 3 and all(Path(f"/proc/{p}").exists() for p in pids)  # JobManager + 2 TaskManagers
    assert not any(Path(f"/proc/{p}").exists() for p in pids) and not list((tmp_path / "cluster" / "pids").glob("*"))
