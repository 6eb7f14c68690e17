"""``rankstream k8s-manifest`` for a config whose workdir is ``s3://``: the Flink state in the workdir, the S3
endpoint for Flink and boto3, the scratch volume, and the update job's first savepoint read from the S3 manifest."""

from __future__ import annotations

import json

from jobs.cli import main
from serving import s3
from tests.conftest import new_bucket
from tests.k8s_checks import REPO, errors, load_all, needs_crd

BASE_CONFIG = REPO / "k8s" / "base" / "config.yml"
ENDPOINT = "http://minio.storage:9000"


def manifest(capsys, *args: str) -> list[dict]:
    assert main(["k8s-manifest", str(BASE_CONFIG), *args]) == 0
    return load_all(capsys.readouterr().out)


def container(resource: dict) -> dict:
    spec = resource["spec"]
    pod = spec["podTemplate"] if resource["kind"] == "FlinkDeployment" else spec["template"]
    return pod["spec"]["containers"][0]


@needs_crd
def test_s3_workdir_puts_flink_state_and_pods_on_s3(capsys, monkeypatch):
    monkeypatch.setenv("RANKSTREAM_WORKDIR", "s3://ranks/prod")
    resources = manifest(
        capsys, "all", "--savepoint", "s3://ranks/prod/savepoint/savepoint-1", "--s3-endpoint", ENDPOINT
    )
    for resource in resources:
        assert errors(resource) == [], resource["kind"]
    bootstrap, update = (r for r in resources if r["kind"] == "FlinkDeployment")
    for job in (bootstrap, update):
        conf = job["spec"]["flinkConfiguration"]
        assert (conf["execution.checkpointing.dir"], conf["state.savepoints.dir"]) == (
            "s3://ranks/prod/checkpoints",
            "s3://ranks/prod/savepoint",
        )
        assert (conf["s3.endpoint"], conf["s3.path.style.access"]) == (ENDPOINT, "true")
        assert not [
            key for key in conf if "access-key" in key or "secret-key" in key
        ]  # from the Secret's env
    for resource in (r for r in resources if r["kind"] in ("FlinkDeployment", "Deployment")):
        env = {e["name"]: e["value"] for e in container(resource)["env"]}
        assert env == {"RANKSTREAM_WORKDIR": "s3://ranks/prod", "RANKSTREAM_SCRATCH": "/data/scratch",
                       "AWS_ENDPOINT_URL": ENDPOINT}  # fmt: skip
        assert container(resource)["envFrom"] == [
            {"secretRef": {"name": "rankstream-secrets", "optional": True}}
        ]
    assert update["spec"]["job"]["initialSavepointPath"] == "s3://ranks/prod/savepoint/savepoint-1"


def test_update_reads_its_savepoint_from_the_s3_manifest(capsys, monkeypatch, s3_server):
    bucket = new_bucket()
    monkeypatch.setenv("RANKSTREAM_WORKDIR", f"{bucket}/wd")
    assert main(["k8s-manifest", str(BASE_CONFIG), "update"]) == 2
    assert capsys.readouterr().err == (f"error: workdir {bucket}/wd: no completed bootstrap (manifest.json missing); "
                                       "run `rankstream bootstrap`\n")  # fmt: skip
    s3.write_bytes(
        f"{bucket}/wd/manifest.json",
        json.dumps({"outputs": {}, "savepoint": f"{bucket}/wd/savepoint/sp-1"}).encode(),
    )
    [update] = manifest(capsys, "update")
    assert update["spec"]["job"]["initialSavepointPath"] == f"{bucket}/wd/savepoint/sp-1"
    assert "s3.endpoint" not in update["spec"]["flinkConfiguration"]
