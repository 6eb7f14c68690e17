"""An ``s3://`` workdir end to end on moto_server: the Flink bootstrap from S3 input with its savepoint in S3,
train writing the model to S3, upload, the API loading the model from S3, and the update job restoring the
bootstrap's S3 savepoint and checkpointing to S3. One bootstrap (over the first half of a small sample) serves
every test of the module."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from jobs.train import train_models
from jobs.upload import upload
from serving import s3
from serving.testing import ApiServer
from tests.update_helpers import (
    assert_published_like,
    reference,
    s3_sample,
    update_in_thread,
    wait_for_values,
)

pytestmark = [pytest.mark.flink, pytest.mark.redis]


@pytest.fixture(scope="module")
def run(s3_server, redis_server, tmp_path_factory):
    """(config, result, lines, local root): a Flink bootstrap of the first half from S3 into S3, and an
    embedded one of the same events on local disk."""
    from jobs.flink.bootstrap import bootstrap_flink

    root = tmp_path_factory.mktemp("s3-flink")
    config, lines = s3_sample(root, redis_server.port)
    return config, bootstrap_flink(config), lines, root


def test_flink_bootstrap_writes_outputs_and_savepoint_to_s3(run, tmp_path):
    config, result, _, root = run
    workdir = config.bootstrap.workdir
    assert result.savepoint.startswith(f"{workdir}/savepoint/savepoint-")
    assert s3.head(f"{result.savepoint}/_metadata") is not None
    assert assert_published_like(workdir, root / "local", tmp_path)["savepoint"] == result.savepoint


def test_train_upload_and_api_read_the_model_from_s3(run, redis_db):
    config, _, lines, _ = run
    train_models(config, "xgboost", log=lambda line: None)
    model = config.models["xgboost"].path
    assert s3.head(model) is not None and s3.head(f"{model}.meta.json") is not None
    assert upload(config).keys > 0
    ranking = next(
        json.loads(line) for line in reversed(lines) if '"event":"ranking"' in line.replace(" ", "")
    )
    with ApiServer(config) as api:
        response = httpx.post(
            f"{api.url}/rank/xgboost", json={k: v for k, v in ranking.items() if k != "event"}
        )
        health = httpx.get(f"{api.url}/health").json()
    assert response.status_code == 200, response.text
    assert {it["item"] for it in response.json()["items"]} == {it["id"] for it in ranking["items"]}
    assert "xgboost" not in json.dumps(health.get("errors", {})), health


def test_update_restores_the_s3_savepoint_and_checkpoints_to_s3(run, redis_db, tmp_path):
    config, result, lines, _ = run
    first, second = lines[: len(lines) // 2], lines[len(lines) // 2 :]
    upload(config)
    with ApiServer(config) as api, update_in_thread(config) as out:
        for i in range(0, len(second), 40):
            response = httpx.post(f"{api.url}/feedback", content="\n".join(second[i : i + 40]).encode())
            assert response.json()["accepted"] == len(second[i : i + 40])
        wait_for_values(
            redis_db.port, reference(tmp_path, first + second, redis_db.port, db=1), out["failed"]
        )
        workdir = config.bootstrap.workdir
        while not [o for o in s3.listing(f"{workdir}/checkpoints/") if o.uri.endswith("/_metadata")]:
            out["failed"]()
            time.sleep(0.3)
    assert out["say"][0] == f"restoring from bootstrap savepoint: {result.savepoint}"
    stopped = json.loads(s3.read_bytes(s3.join(workdir, "update.json")))
    assert stopped["savepoint"] == out["result"].savepoint and stopped["savepoint"].startswith(
        f"{workdir}/savepoint/"
    )
    assert s3.head(f"{stopped['savepoint']}/_metadata") is not None
