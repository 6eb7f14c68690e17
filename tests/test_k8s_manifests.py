"""Every file under k8s/, each overlay as kustomize renders it, and every `rankstream k8s-manifest` output pass
the offline checks (tests/k8s_checks.py); known-bad variants fail them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from jobs.cli import main
from jobs.k8s.command import render, to_yaml
from jobs.k8s.manifests import ENTRY_MODULE, PYTHON_JAR, Target
from tests.k8s_checks import REPO, changed, errors, load_all, needs_crd, renamed

K8S = REPO / "k8s"
BASE_CONFIG = K8S / "base" / "config.yml"
SAVEPOINT = "file:/data/workdir/savepoint/savepoint-1a2b3c-0123456789ab"
KUBECTL = shutil.which("kubectl", path=os.path.dirname(sys.executable)) or shutil.which("kubectl")  # dev extra first
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed (kubectl kustomize renders overlays)")


def k8s_manifest(capsys, *args: str) -> list[dict]:
    assert main(["k8s-manifest", *args]) == 0
    return load_all(capsys.readouterr().out)


def kustomize(folder: Path) -> list[dict]:
    out = subprocess.run([KUBECTL, "kustomize", str(folder)], capture_output=True, text=True, check=True)
    return load_all(out.stdout)


def resource_files() -> list[Path]:
    return [p for p in sorted(K8S.rglob("*.yaml")) if p.name != "kustomization.yaml"]


@needs_crd
@pytest.mark.parametrize("what", ["bootstrap", "train", "upload", "update", "api", "all"])
def test_k8s_manifest_output_passes(capsys, what):
    resources = k8s_manifest(capsys, str(BASE_CONFIG), what, "--savepoint", SAVEPOINT, "--parallelism", "3")
    assert resources
    for resource in resources:
        assert errors(resource) == [], resource["kind"]


@needs_crd
@pytest.mark.parametrize("path", resource_files(), ids=lambda p: str(p.relative_to(K8S)))
def test_every_file_under_k8s_passes(path):
    for resource in load_all(path.read_text()):
        assert errors(resource) == [], f"{path}: {resource['kind']}"


@pytest.mark.parametrize("kustomization", sorted(K8S.rglob("kustomization.yaml")), ids=lambda p: p.parent.name)
def test_kustomization_resources_exist(kustomization):
    spec = load_all(kustomization.read_text())[0]
    listed = spec.get("resources", []) + spec.get("components", [])
    listed += [f for g in spec.get("configMapGenerator", []) for f in g.get("files", [])]
    for entry in listed:
        assert (kustomization.parent / entry).exists(), f"{kustomization}: {entry} missing"


@needs_kubectl
@pytest.mark.parametrize("overlay", ["local", "prod"])
def test_overlay_renders_and_passes(overlay):
    resources = kustomize(K8S / "overlays" / overlay)
    kinds = {r["kind"] for r in resources}
    assert kinds >= {"Namespace", "ServiceAccount", "Role", "RoleBinding", "ConfigMap", "PersistentVolumeClaim",
                     "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "StatefulSet"}
    for resource in resources:
        assert resource["metadata"].get("namespace", "rankstream") == "rankstream"
        assert errors(resource) == [], resource["kind"]


@needs_kubectl
def test_overlays_set_the_image_and_the_workdir_volume():
    def pick(resources, kind):
        return next(r for r in resources if r["kind"] == kind)

    local, prod = kustomize(K8S / "overlays" / "local"), kustomize(K8S / "overlays" / "prod")
    image = pick(prod, "Deployment")["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "registry.example.com/rankstream:0.1.0"
    assert pick(local, "PersistentVolumeClaim")["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert pick(prod, "PersistentVolumeClaim")["spec"]["accessModes"] == ["ReadWriteMany"]
    redis = pick(local, "StatefulSet")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert redis[redis.index("--appendonly") + 1] == "yes"


def test_base_api_is_what_k8s_manifest_prints():
    assert (K8S / "base" / "api.yaml").read_text() == to_yaml(render(str(BASE_CONFIG), "api", Target()))


@needs_kubectl
def test_jobs_use_what_the_base_defines(capsys):
    base = {(r["kind"], r["metadata"]["name"]) for r in kustomize(K8S / "base")}
    for job in k8s_manifest(capsys, str(BASE_CONFIG), "update", "--savepoint", SAVEPOINT):
        spec = job["spec"]
        assert ("ServiceAccount", spec["serviceAccount"]) in base
        for volume in spec["podTemplate"]["spec"]["volumes"]:
            if "configMap" in volume:
                assert ("ConfigMap", volume["configMap"]["name"]) in base
            else:
                assert ("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"]) in base


def test_job_args_run_the_entry_module(capsys):
    import pyflink

    from jobs.k8s.entry import parse

    bootstrap, update = k8s_manifest(capsys, str(BASE_CONFIG), "bootstrap", "--parallelism", "4") + \
        k8s_manifest(capsys, str(BASE_CONFIG), "update", "--savepoint", SAVEPOINT)  # fmt: skip
    assert (Path(pyflink.__file__).parent / "opt" / Path(PYTHON_JAR).name).exists()
    for job, name, parallelism in ((bootstrap, "bootstrap", 4), (update, "update", 2)):
        args = job["spec"]["job"]["args"]
        module = args.index("-pym") + 1
        assert args[module] == ENTRY_MODULE and args[: module - 1] == ["-pyclientexec", "/opt/venv/bin/python"]
        parsed = parse(args[module + 1:])
        assert (parsed.job, parsed.config, parsed.parallelism) == (name, "/etc/rankstream/config.yml", parallelism)
        assert job["spec"]["job"]["parallelism"] == job["spec"]["taskManager"]["replicas"] == parallelism
        assert job["spec"]["flinkConfiguration"]["taskmanager.numberOfTaskSlots"] == "1"
    assert bootstrap["spec"]["job"]["upgradeMode"] == "stateless"
    assert update["spec"]["job"]["upgradeMode"] == "savepoint"
    assert update["spec"]["job"]["initialSavepointPath"] == SAVEPOINT


def test_update_starts_from_the_bootstraps_savepoint(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("RANKSTREAM_WORKDIR", str(tmp_path))
    (tmp_path / "manifest.json").write_text(json.dumps({"outputs": {}, "savepoint": SAVEPOINT}))
    [job] = k8s_manifest(capsys, str(BASE_CONFIG), "update")
    assert job["spec"]["job"]["initialSavepointPath"] == SAVEPOINT
    (tmp_path / "manifest.json").write_text(json.dumps({"outputs": {}, "engine": "embedded"}))
    assert main(["k8s-manifest", str(BASE_CONFIG), "update"]) == 2
    assert capsys.readouterr().err == (
        f"error: workdir {tmp_path}: manifest.json names no savepoint (an embedded bootstrap?); the update job "
        "starts from the Flink bootstrap's savepoint: pass --savepoint\n")


def test_update_without_a_bootstrap_names_the_workdir(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("RANKSTREAM_WORKDIR", str(tmp_path))
    assert main(["k8s-manifest", str(BASE_CONFIG), "all"]) == 2
    assert f"workdir {tmp_path}: no completed bootstrap (manifest.json missing)" in capsys.readouterr().err


def test_all_holds_the_config_file(capsys):
    resources = k8s_manifest(capsys, str(BASE_CONFIG), "all", "--savepoint", SAVEPOINT, "--namespace", "ltr")
    assert [r["kind"] for r in resources] == ["ConfigMap", "FlinkDeployment", "FlinkDeployment", "Deployment", "Service"]
    assert resources[0]["data"]["config.yml"] == BASE_CONFIG.read_text()
    assert {r["metadata"]["namespace"] for r in resources} == {"ltr"}


@needs_crd
@pytest.mark.parametrize("change, expected", [
    (lambda r: changed(r, "spec.flinkVersion", "v3_0"), "spec.flinkVersion: 'v3_0' is not one of"),
    (lambda r: changed(r, "spec.job.parallelism", "two"), "spec.job.parallelism: 'two' is not of type 'integer'"),
    (lambda r: changed(r, "spec.job.upgradeMode", "lastState"), "spec.job.upgradeMode: 'lastState' is not one of"),
    (lambda r: renamed(r, "spec.job.initialSavepointPath", "initialSavepointPth"), "spec.job.initialSavepointPth: unknown field"),
    (lambda r: renamed(r, "spec.taskManager.replicas", "replica"), "spec.taskManager.replica: unknown field"),
    (lambda r: changed(r, "spec.podTemplate.spec.containers.0.imagePullPolcy", "Always"),
     "spec.podTemplate.spec.containers[0].imagePullPolcy: unknown field"),
    (lambda r: changed(r, "metadata.name", "Bad_Name"), "metadata.name: 'Bad_Name' is not a lowercase RFC 1123 subdomain"),
])  # fmt: skip
def test_bad_flink_deployments_are_rejected(capsys, change, expected):
    [job] = k8s_manifest(capsys, str(BASE_CONFIG), "update", "--savepoint", SAVEPOINT)
    found = errors(change(job))
    assert any(e.startswith(expected) for e in found), found


@pytest.mark.parametrize("change, expected", [
    (lambda r: changed(r, "spec.replicas", "two"), "spec.replicas: 'two' is not of type"),
    (lambda r: changed(r, "spec.template.spec.containers.0.imagePullPolcy", "Always"), "imagePullPolcy"),
    (lambda r: changed(r, "spec.template.metadata.labels", {"app": "other"}), "spec.selector"),
    (lambda r: changed(r, "spec.template.spec.containers.0.ports.0.containerPort", "http"), "containerPort"),
    (lambda r: changed(r, "metadata.name", "Bad_Name"), "metadata.name: 'Bad_Name' is not a lowercase RFC 1123"),
])  # fmt: skip
def test_bad_core_resources_are_rejected(change, expected):
    deployment = load_all((K8S / "base" / "api.yaml").read_text())[0]
    found = errors(change(deployment))
    assert any(expected in e for e in found), found


def test_batch_jobs_run_their_command_once(capsys):
    for command in ("train", "upload"):
        [job] = k8s_manifest(capsys, str(BASE_CONFIG), command, "--image", "registry.example.com/rankstream:1")
        pod = job["spec"]["template"]["spec"]
        assert (job["kind"], job["spec"]["backoffLimit"], pod["restartPolicy"]) == ("Job", 0, "Never")
        assert pod["containers"][0]["args"] == [command, "/etc/rankstream/config.yml"]
        assert pod["containers"][0]["image"] == "registry.example.com/rankstream:1"


def test_state_directories_are_options(capsys):
    [job] = k8s_manifest(capsys, str(BASE_CONFIG), "bootstrap", "--checkpoint-dir", "file:///mnt/ck",
                         "--savepoint-dir", "file:///mnt/sp")  # fmt: skip
    conf = job["spec"]["flinkConfiguration"]
    assert conf["execution.checkpointing.dir"] == conf["state.checkpoints.dir"] == "file:///mnt/ck"
    assert conf["execution.checkpointing.savepoint-dir"] == conf["state.savepoints.dir"] == "file:///mnt/sp"
    assert conf["python.execution-mode"] == "thread"


def test_every_pod_runs_as_the_images_user_with_the_volume_writable(capsys):
    resources = k8s_manifest(capsys, str(BASE_CONFIG), "all", "--savepoint", SAVEPOINT)
    resources += k8s_manifest(capsys, str(BASE_CONFIG), "train") + k8s_manifest(capsys, str(BASE_CONFIG), "upload")
    pods = [r["spec"]["podTemplate"]["spec"] if r["kind"] == "FlinkDeployment" else r["spec"]["template"]["spec"]
            for r in resources if r["kind"] in ("FlinkDeployment", "Deployment", "Job")]  # fmt: skip
    assert len(pods) == 5
    for pod in pods:
        assert pod["securityContext"] == {"runAsNonRoot": True, "runAsUser": 9999, "runAsGroup": 9999, "fsGroup": 9999}
    assert "USER 9999" in (REPO / "Dockerfile").read_text().splitlines()


@pytest.mark.parametrize("name", ["Bad_NS", "a" * 64, "-ltr", "ltr.prod"])
def test_namespace_must_be_one_the_apiserver_accepts(capsys, name):
    # the real apiserver (make test-k8s) rejected these only at apply time, after the YAML was printed
    with pytest.raises(SystemExit):
        main(["k8s-manifest", str(BASE_CONFIG), "api", f"--namespace={name}"])
    assert f"argument --namespace: {name!r} is not a namespace name: at most 63 lowercase" in capsys.readouterr().err
