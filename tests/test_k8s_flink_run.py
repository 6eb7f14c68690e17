"""The operator's path without an operator: the bootstrap FlinkDeployment's exact ``job.args`` through Flink's
own client (``flink run`` with the PythonDriver jar the CR names) against a local standalone cluster of one-slot
TaskManagers. ``jobs.k8s.entry`` submits to that cluster (no MiniCluster) and writes the embedded bytes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from jobs.embedded import bootstrap_embedded
from jobs.flink.cluster import WHEEL, LocalCluster
from jobs.flink.rest import FlinkRest
from jobs.generate import generate
from jobs.k8s.manifests import PYTHON_DRIVER, PYTHON_JAR, Target, bootstrap_deployment
from tests.conftest import SAMPLE_SIZES, config_dict, example_config

pytestmark = pytest.mark.flink
OUTPUTS = ["values/values.jsonl.gz", "values/item-fields.jsonl.gz", "values/sessions.jsonl.gz",
           "dataset/xgboost.parquet"]  # fmt: skip


def cr_args(config: Path, parallelism: int) -> list[str]:
    """The CR's args with the image's paths swapped for this machine's (interpreter, config file)."""
    import sys

    job = bootstrap_deployment(Target(), parallelism)["spec"]["job"]
    assert job["entryClass"] == PYTHON_DRIVER
    swap = {"/opt/venv/bin/python": sys.executable, "/etc/rankstream/config.yml": str(config)}
    return [swap.get(arg, arg) for arg in job["args"]]


def test_the_bootstrap_crs_args_run_on_a_flink_cluster(tmp_path):
    events = generate(tmp_path / "data", seed=11, **SAMPLE_SIZES).events_path
    bootstrap_embedded(example_config(tmp_path / "embedded", events))
    raw = config_dict(example_config(tmp_path / "flink", events))
    (tmp_path / "config.yml").write_text(yaml.safe_dump(raw))
    jar = WHEEL / "opt" / Path(PYTHON_JAR).name
    with LocalCluster(2, tmp_path / "cluster") as cluster:
        env = cluster._prepare()
        env["JVM_ARGS"] = yaml.safe_load((WHEEL / "conf" / "config.yaml").read_text())["env"]["java"]["opts"]["all"]
        command = ["bash", str(WHEEL / "bin" / "flink"), "run", "-m", f"127.0.0.1:{cluster.rest_port}",
                   "-c", PYTHON_DRIVER, str(jar), *cr_args(tmp_path / "config.yml", 2)]  # fmt: skip
        run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stdout + run.stderr
        jobs = FlinkRest(cluster.rest_port).get("/jobs/overview")["jobs"]
    assert [(j["name"], j["state"]) for j in jobs] == [("rankstream-bootstrap", "FINISHED")]
    assert "bootstrap: 2,339 events, savepoint file:" in run.stdout
    for path in OUTPUTS:
        assert (tmp_path / "flink" / path).read_bytes() == (tmp_path / "embedded" / path).read_bytes(), path
    assert (tmp_path / "flink" / "manifest.json").exists()
