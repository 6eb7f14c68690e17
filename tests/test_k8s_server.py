"""Server-side validation (``make test-k8s``): every kustomization under k8s/ and every ``rankstream
k8s-manifest`` output through ``kubectl apply --dry-run=server --validate=strict`` on a real kube-apiserver
with the operator's FlinkDeployment CRD; known-bad variants are rejected with the server's own message, and
the table says which of them the offline checks (tests/k8s_checks.py) catch too.

Runs when ``make test-k8s`` has built the binaries (else skipped); ``RANKSTREAM_TEST_K8S=1`` makes a missing
build a failure instead of a skip."""

from __future__ import annotations

import json
import os

import pytest
import yaml

from jobs.cli import main
from jobs.k8s.command import WHAT
from tests.k8s_apiserver import MISSING, ApiServer, built
from tests.k8s_checks import CRD, REPO, changed, errors, load_all, renamed
from tests.test_k8s_manifests import BASE_CONFIG, KUBECTL, SAVEPOINT

K8S = REPO / "k8s"
REQUIRED = os.environ.get("RANKSTREAM_TEST_K8S") == "1"
pytestmark = [
    pytest.mark.k8s_server,
    pytest.mark.skipif(not (built() or REQUIRED), reason=MISSING),
]
EVERY_FLAG = ["--image", "registry.example.com/rankstream:1.2.3", "--namespace", "ltr", "--parallelism", "3",
              "--savepoint", "s3://rankstream/savepoints/savepoint-1a2b3c-0123456789ab",
              "--checkpoint-dir", "s3://rankstream/checkpoints", "--savepoint-dir", "s3://rankstream/savepoints",
              "--s3-endpoint", "http://minio.rankstream:9000"]  # fmt: skip
KUSTOMIZATIONS = [
    p.parent for p in sorted(K8S.rglob("kustomization.yaml")) if "kind: Component" not in p.read_text()
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not built():
        pytest.fail(MISSING, pytrace=False)
    if KUBECTL is None or not CRD.exists():
        pytest.fail(f"needs kubectl (make install) and the operator's CRD at {CRD}", pytrace=False)
    api = ApiServer(tmp_path_factory.mktemp("apiserver"), KUBECTL).start()
    try:
        api.apply_crd(CRD)
        # A dry run creates nothing, so the namespaces the objects name must exist.
        for namespace in ("rankstream", "ltr"):
            assert api.kubectl("create", "namespace", namespace, "--save-config").returncode == 0
        yield api
    finally:
        api.stop()


def dry_run(server: ApiServer, *source: str, text: str | None = None):
    return server.kubectl(
        "apply", "--dry-run=server", "--validate=strict", *(source or ("-f", "-")), stdin=text
    )


def assert_accepted(result, count: int) -> None:
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    assert result.stdout.count("(server dry run)") == count, result.stdout


@pytest.mark.parametrize("folder", KUSTOMIZATIONS, ids=lambda p: str(p.relative_to(K8S)))
def test_kustomization_passes(server, folder):
    rendered = server.kubectl("kustomize", str(folder))
    assert_accepted(dry_run(server, "-k", str(folder)), len(load_all(rendered.stdout)))


def test_secret_template_passes(server):
    assert_accepted(dry_run(server, "-f", str(K8S / "secret.template.yaml")), 1)


@pytest.mark.parametrize("flags", [[], EVERY_FLAG], ids=["defaults", "every-flag"])
@pytest.mark.parametrize("what", WHAT)
def test_k8s_manifest_output_passes(server, capsys, monkeypatch, tmp_path, what, flags):
    # Without --savepoint the update job's comes from the bootstrap's manifest.json in the workdir.
    monkeypatch.setenv("RANKSTREAM_WORKDIR", str(tmp_path))
    (tmp_path / "manifest.json").write_text(json.dumps({"outputs": {}, "savepoint": SAVEPOINT}))
    assert main(["k8s-manifest", str(BASE_CONFIG), what, *flags]) == 0
    text = capsys.readouterr().out
    assert_accepted(dry_run(server, text=text), len(load_all(text)))


@pytest.mark.parametrize("what", WHAT)
def test_k8s_manifest_for_an_s3_workdir_passes(server, capsys, tmp_path, what):
    raw = yaml.safe_load(BASE_CONFIG.read_text())
    raw["bootstrap"]["workdir"] = "s3://rankstream/workdir"
    (tmp_path / "config.yml").write_text(yaml.safe_dump(raw))
    flags = ["--savepoint", "s3://rankstream/workdir/savepoint/savepoint-1a2b3c-0123456789ab"]
    assert main(["k8s-manifest", str(tmp_path / "config.yml"), what, *flags]) == 0
    text = capsys.readouterr().out
    assert "s3://rankstream/workdir" in text
    assert_accepted(dry_run(server, text=text), len(load_all(text)))


def manifest(capsys, what: str, kind: str) -> dict:
    assert main(["k8s-manifest", str(BASE_CONFIG), what, "--savepoint", SAVEPOINT]) == 0
    return next(r for r in load_all(capsys.readouterr().out) if r["kind"] == kind)


BAD = [  # what, kind, change, the server's message, whether the offline checks reject it too
    pytest.param("update", "FlinkDeployment", lambda r: renamed(r, "spec.job.initialSavepointPath", "initialSavepointPth"),
     'strict decoding error: unknown field "spec.job.initialSavepointPth"', True, id="fd-unknown-field"),
    pytest.param("update", "FlinkDeployment", lambda r: changed(r, "spec.podTemplate.spec.containers.0.imagePullPolcy", "Always"),
     'unknown field "spec.podTemplate.spec.containers[0].imagePullPolcy"', True, id="fd-unknown-pod-field"),
    pytest.param("update", "FlinkDeployment", lambda r: changed(r, "spec.flinkVersion", "v3_0"),
     'spec.flinkVersion: Unsupported value: "v3_0": supported values:', True, id="fd-enum-flinkVersion"),
    pytest.param("update", "FlinkDeployment", lambda r: changed(r, "spec.job.upgradeMode", "lastState"),
     'spec.job.upgradeMode: Unsupported value: "lastState"', True, id="fd-enum-upgradeMode"),
    pytest.param("update", "FlinkDeployment", lambda r: changed(r, "spec.job.parallelism", "two"),
     "spec.job.parallelism in body must be of type integer", True, id="fd-type-parallelism"),
    pytest.param("update", "FlinkDeployment", lambda r: changed(r, "metadata.name", "Bad_Name"),
     'metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain', True, id="fd-name"),
    pytest.param("api", "Deployment", lambda r: changed(r, "spec.template.metadata.labels", {"app": "other"}),
     "`selector` does not match template `labels`", True, id="deployment-selector"),
    pytest.param("api", "Deployment", lambda r: changed(r, "spec.template.spec.containers.0.imagePullPolcy", "Always"),
     'strict decoding error: unknown field "spec.template.spec.containers[0].imagePullPolcy"', True, id="deployment-unknown-field"),
    pytest.param("api", "Deployment", lambda r: changed(r, "spec.replicas", "two"),
     "cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32", True, id="deployment-type-replicas"),
    pytest.param("api", "Deployment", lambda r: changed(r, "metadata.name", "Bad_Name"),
     'metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain', True, id="deployment-name"),
    pytest.param("api", "Service", lambda r: changed(r, "spec.type", "Loadbalancer"),
     'spec.type: Unsupported value: "Loadbalancer"', False, id="service-enum-type"),
    pytest.param("train", "Job", lambda r: changed(r, "spec.template.spec.restartPolicy", "Always"),
     'spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"', False, id="job-restartPolicy"),
]  # fmt: skip


@pytest.mark.parametrize("what, kind, change, message, offline", BAD)
def test_bad_manifest_is_rejected(server, capsys, what, kind, change, message, offline):
    bad = change(manifest(capsys, what, kind))
    result = dry_run(server, text=yaml.safe_dump(bad))
    assert result.returncode == 1
    assert message in result.stderr
    assert bool(errors(bad)) is offline, errors(bad)
