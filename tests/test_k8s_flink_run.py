"""The operator's path without an operator: the FlinkDeployments' exact ``job.args`` through Flink's own client
(``flink run`` with the PythonDriver jar the CRs name) against a local standalone cluster of one-slot
TaskManagers. The bootstrap submits to that cluster (no MiniCluster) and writes the embedded bytes; the update
job restores the savepoint the operator names in the cluster's config and ends cleanly when stopped with a
savepoint through the REST API, as the operator does for an upgrade. The S3 variant runs both on one cluster with an
``s3://`` workdir on moto_server, the cluster configured with the S3 plugin and the CR's ``s3.*`` keys only."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
import yaml

from feature_ops.config import load_config
from jobs.embedded import bootstrap_embedded
from jobs.flink.cluster import WHEEL, LocalCluster
from jobs.flink.rest import FlinkRest
from jobs.generate import generate
from jobs.k8s.manifests import (
    PYTHON_DRIVER,
    PYTHON_JAR,
    SCRATCH,
    Target,
    bootstrap_deployment,
    for_config,
    update_deployment,
)
from jobs.manifest import read_manifest
from jobs.upload import upload
from serving import s3
from serving.s3 import is_s3
from serving.testing import ApiServer
from tests.conftest import SAMPLE_SIZES, config_dict, example_config
from tests.update_helpers import (
    assert_published_like,
    copy_workdir,
    make_config,
    reference,
    s3_sample,
    wait_for_values,
    write_config,
)

pytestmark = pytest.mark.flink
OUTPUTS = ["values/values.jsonl.gz", "values/item-fields.jsonl.gz", "values/sessions.jsonl.gz",
           "dataset/xgboost.parquet"]  # fmt: skip


def cr_args(resource: dict, config: Path) -> list[str]:
    """The CR's args with the image's paths swapped for this machine's (interpreter, config file)."""
    import sys

    job = resource["spec"]["job"]
    assert (job["entryClass"], job["jarURI"]) == (PYTHON_DRIVER, PYTHON_JAR)
    swap = {"/opt/venv/bin/python": sys.executable, "/etc/rankstream/config.yml": str(config)}
    return [swap.get(arg, arg) for arg in job["args"]]


def test_the_bootstrap_crs_args_run_on_a_flink_cluster(tmp_path):
    events = generate(tmp_path / "data", seed=11, **SAMPLE_SIZES).events_path
    bootstrap_embedded(example_config(tmp_path / "embedded", events))
    raw = config_dict(example_config(tmp_path / "flink", events))
    (tmp_path / "config.yml").write_text(yaml.safe_dump(raw))
    with LocalCluster(2, tmp_path / "cluster") as cluster:
        command, env = flink_run(cluster, cr_args(bootstrap_deployment(Target(), 2), tmp_path / "config.yml"))
        run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stdout + run.stderr
        jobs = FlinkRest(cluster.rest_port).get("/jobs/overview")["jobs"]
    assert [(j["name"], j["state"]) for j in jobs] == [("rankstream-bootstrap", "FINISHED")]
    assert "bootstrap: 2,339 events, savepoint file:" in run.stdout
    for path in OUTPUTS:
        assert (tmp_path / "flink" / path).read_bytes() == (tmp_path / "embedded" / path).read_bytes(), path
    assert (tmp_path / "flink" / "manifest.json").exists()


def flink_run(cluster: LocalCluster, args: list[str], extra_conf: dict | None = None) -> tuple[list[str], dict]:
    """``flink run`` of the PythonDriver jar the CRs name, and its environment; ``extra_conf`` goes into the
    cluster's config.yaml, where the operator puts what it asks of the job."""
    env = cluster._prepare()
    conf = cluster.root / "conf" / "config.yaml"
    conf.write_text(yaml.safe_dump({**yaml.safe_load(conf.read_text()), **(extra_conf or {})}))
    env["JVM_ARGS"] = yaml.safe_load((WHEEL / "conf" / "config.yaml").read_text())["env"]["java"]["opts"]["all"]
    jar = WHEEL / "opt" / Path(PYTHON_JAR).name
    return ["bash", str(WHEEL / "bin" / "flink"), "run", "-m", f"127.0.0.1:{cluster.rest_port}",
            "-c", PYTHON_DRIVER, str(jar), *args], env  # fmt: skip


def stop_with_savepoint(rest: FlinkRest, target: str, timeout: float = 120.0) -> str:
    """What the operator does for an upgrade: stop the running job with a savepoint into URI ``target`` through
    the REST API."""
    deadline = time.monotonic() + timeout
    while not (running := [j for j in rest.get("/jobs/overview")["jobs"] if j["state"] == "RUNNING"]):
        assert time.monotonic() < deadline, "the update job is not running"
        time.sleep(0.5)
    body = json.dumps({"targetDirectory": target, "drain": False}).encode()
    request = urllib.request.Request(f"{rest.base}/jobs/{running[0]['jid']}/stop", body, method="POST",
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 202
    return running[0]["jid"]


def update_through_the_operator(cluster: LocalCluster, resource: dict, config_path: Path, lines: list[str],
                                redis_port: int, tmp: Path, env: dict | None = None) -> tuple[str, str]:  # fmt: skip
    """The update CR's args through ``flink run``, restoring its ``initialSavepointPath`` as the operator asks;
    the second half of ``lines`` posted to the API as feedback until Redis holds the values of an embedded run
    over all of them; then the operator's stop with a savepoint into the CR's ``state.savepoints.dir`` (a local
    one moves into ``tmp``). Returns the driver's output and the stopped job's id."""
    spec = resource["spec"]
    config = load_config(config_path, env={**os.environ, **(env or {})})
    savepoints = spec["flinkConfiguration"]["state.savepoints.dir"]
    if not is_s3(savepoints):
        savepoints = (tmp / "operator-savepoints").as_uri()
    command, run_env = flink_run(cluster, cr_args(resource, config_path),
                                 {"execution.state-recovery.path": spec["job"]["initialSavepointPath"]})  # fmt: skip
    log = tmp / "flink-run.log"
    with open(log, "wb") as out:
        job = subprocess.Popen(command, env={**run_env, **(env or {})}, stdout=out, stderr=subprocess.STDOUT)
    try:
        second = lines[len(lines) // 2 :]
        with ApiServer(config) as api:
            response = httpx.post(f"{api.url}/feedback", content="\n".join(second).encode(), timeout=30)
            assert response.json()["accepted"] == len(second)
        expected = reference(tmp, lines, redis_port, db=1)
        wait_for_values(redis_port, expected, failed=lambda: job.poll() is None or pytest.fail(log.read_text()))
        job_id = stop_with_savepoint(FlinkRest(cluster.rest_port), savepoints)
        assert job.wait(120) == 0, log.read_text()
    finally:
        if job.poll() is None:
            job.kill()
    return log.read_text(), job_id


@pytest.mark.redis
def test_the_update_crs_args_restore_the_operators_savepoint_and_end_on_its_stop(halves, redis_db, tmp_path):
    workdir = copy_workdir(halves, tmp_path / "wd")
    config = make_config(workdir, tmp_path, redis_db.port, {"type": "rest"}, batchSize=64)
    path = write_config(tmp_path / "config.yml", config)
    upload(config)
    savepoint = read_manifest(workdir)["savepoint"]
    with LocalCluster(2, tmp_path / "cluster") as cluster:
        output, job_id = update_through_the_operator(cluster, update_deployment(Target(), 2, savepoint), path,
                                                     halves.first + halves.second, redis_db.port, tmp_path)  # fmt: skip
    assert f"restoring from --savepoint: {savepoint}" in output
    assert f"update: job {job_id} stopped by the operator" in output
    assert list((tmp_path / "operator-savepoints").glob("savepoint-*/_metadata"))


def pod_env(resource: dict, swap: dict[str, str]) -> dict[str, str]:
    """The environment the CR's pod template gives the job's containers, with the image's paths in ``swap``."""
    [container] = resource["spec"]["podTemplate"]["spec"]["containers"]
    return {e["name"]: swap.get(e["value"], e["value"]) for e in container["env"]}


@pytest.mark.redis
def test_the_crs_args_bootstrap_into_s3_and_update_from_its_s3_savepoint(s3_server, redis_db, tmp_path):
    config, lines = s3_sample(tmp_path, redis_db.port)
    workdir, path = config.bootstrap.workdir, write_config(tmp_path / "config.yml", config)
    target = replace(for_config(Target(), workdir), s3_endpoint=s3_server.url)
    bootstrap = bootstrap_deployment(target, 2)
    env = pod_env(bootstrap, {SCRATCH: os.environ["RANKSTREAM_SCRATCH"]})
    s3_conf = {k: v for k, v in bootstrap["spec"]["flinkConfiguration"].items() if k.startswith("s3.")}
    with LocalCluster(2, tmp_path / "cluster", s3=s3_conf) as cluster:
        command, run_env = flink_run(cluster, cr_args(bootstrap, path))
        run = subprocess.run(command, env={**run_env, **env}, capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stdout + run.stderr
        savepoint = assert_published_like(workdir, tmp_path / "local", tmp_path / "published")["savepoint"]
        assert f"bootstrap: 598 events, savepoint {savepoint}" in run.stdout
        assert savepoint.startswith(f"{workdir}/savepoint/savepoint-")
        upload(config)
        update = update_deployment(target, 2, savepoint)
        output, job_id = update_through_the_operator(cluster, update, path, lines, redis_db.port, tmp_path, env)
    assert f"restoring from --savepoint: {savepoint}" in output
    assert f"update: job {job_id} stopped by the operator" in output
    written = [o.uri.removesuffix("/_metadata") for o in s3.listing(f"{workdir}/savepoint/") if o.uri.endswith("/_metadata")]
    assert savepoint in written and len(written) == 2  # the bootstrap's and the operator's stop
