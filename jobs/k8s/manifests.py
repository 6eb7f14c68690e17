"""Kubernetes resources for rankstream as plain dicts: FlinkDeployments for the bootstrap and update jobs
(flink-kubernetes-operator, ``flink.apache.org/v1beta1``), the config's ConfigMap, and the API's Deployment
and Service. ``k8s/base/`` holds the API's resources written by ``api_resources(Target())`` (a test keeps
them equal), so the kustomize base and ``rankstream k8s-manifest`` cannot drift.

Every pod mounts the config from the ConfigMap at ``CONFIG_PATH``, the shared volume (a ReadWriteMany claim)
at ``DATA_DIR``, and takes its secrets as environment variables from the Secret (``optional``: a config
without secrets needs none). ``RANKSTREAM_WORKDIR`` points into the volume, or at an ``s3://`` workdir
(``Target.workdir``): then outputs, models, savepoints and checkpoints live in S3, the volume holds
the scratch directory the bootstrap stages in (``RANKSTREAM_SCRATCH``: shared by JobManager and
TaskManagers), the AWS credentials come from the Secret (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``:
boto3 and Flink's S3 plugin both read them), and ``--s3-endpoint`` (MinIO) sets Flink's ``s3.endpoint`` with
path-style access and ``AWS_ENDPOINT_URL`` for boto3.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from serving.s3 import is_s3

FLINK_VERSION = "v2_2"
PYTHON_JAR = "local:///opt/flink/opt/flink-python-2.2.1.jar"
PYTHON_DRIVER = "org.apache.flink.client.python.PythonDriver"
PYTHON = "/opt/venv/bin/python"
ENTRY_MODULE = "jobs.k8s.entry"
CONFIG_DIR = "/etc/rankstream"
CONFIG_PATH = f"{CONFIG_DIR}/config.yml"
DATA_DIR = "/data"
WORKDIR = f"{DATA_DIR}/workdir"
SCRATCH = f"{DATA_DIR}/scratch"
APP = "rankstream"


@dataclass(frozen=True)
class Target:
    """Where and how the resources run; every field is a ``rankstream k8s-manifest`` option."""

    image: str = "rankstream:0.1.0"
    namespace: str = "rankstream"
    parallelism: int | None = None
    """TaskManagers of a Flink job (one slot each); default: bootstrap.parallelism / inference.parallelism."""
    savepoint: str | None = None
    """The update job's first restore; default: the savepoint the bootstrap's manifest.json names."""
    checkpoint_dir: str = f"file://{WORKDIR}/checkpoints"
    savepoint_dir: str = f"file://{WORKDIR}/savepoint"
    """Where the operator's savepoints and the cluster's checkpoints go. The jobs' drivers keep theirs in the
    workdir (``<workdir>/savepoint``, ``<workdir>/checkpoints/<bootstrap run>``), so the defaults are the same."""
    config_map: str = "rankstream-config"
    secret: str = "rankstream-secrets"
    workdir_claim: str = "rankstream-workdir"
    service_account: str = "rankstream-flink"
    api_replicas: int = 2
    workdir: str | None = None
    """The config's ``s3://`` workdir (``for_config``); None: the volume's ``WORKDIR``."""
    s3_endpoint: str | None = None
    """An S3-compatible endpoint (MinIO) for Flink and boto3; None: AWS."""


def for_config(target: Target, workdir: str) -> Target:
    """``target`` for a config whose workdir is ``workdir``: an ``s3://`` one keeps its place, and the Flink
    state directories left at their defaults move into it (``<workdir>/checkpoints``, ``<workdir>/savepoint``)."""
    if not is_s3(workdir):
        return target
    defaults, root = Target(), workdir.rstrip("/")
    return replace(
        target,
        workdir=root,
        checkpoint_dir=f"{root}/checkpoints" if target.checkpoint_dir == defaults.checkpoint_dir else target.checkpoint_dir,
        savepoint_dir=f"{root}/savepoint" if target.savepoint_dir == defaults.savepoint_dir else target.savepoint_dir,
    )


def labels(component: str) -> dict:
    return {"app.kubernetes.io/name": APP, "app.kubernetes.io/component": component}


def metadata(name: str, target: Target, component: str) -> dict:
    return {"name": name, "namespace": target.namespace, "labels": labels(component)}


def config_map(target: Target, config_text: str) -> dict:
    """The config file every pod reads at ``CONFIG_PATH``."""
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata(target.config_map, target, "config"),
            "data": {"config.yml": config_text}}  # fmt: skip


FLINK_UID = 9999
POD_SECURITY = {"runAsNonRoot": True, "runAsUser": FLINK_UID, "runAsGroup": FLINK_UID, "fsGroup": FLINK_UID}
"""The image's ``flink`` user; ``fsGroup`` makes the workdir volume writable for it (where the volume honours it)."""


def volumes(target: Target) -> list[dict]:
    return [{"name": "config", "configMap": {"name": target.config_map}},
            {"name": "workdir", "persistentVolumeClaim": {"claimName": target.workdir_claim}}]  # fmt: skip


def container_env(target: Target) -> dict:
    """The container fields every rankstream pod shares: config, workdir (or S3 scratch and endpoint), secrets."""
    env = [{"name": "RANKSTREAM_WORKDIR", "value": WORKDIR}]
    if target.workdir is not None:
        env = [{"name": "RANKSTREAM_WORKDIR", "value": target.workdir}, {"name": "RANKSTREAM_SCRATCH", "value": SCRATCH}]
    if target.s3_endpoint is not None:
        env.append({"name": "AWS_ENDPOINT_URL", "value": target.s3_endpoint})
    return {
        "env": env,
        "envFrom": [{"secretRef": {"name": target.secret, "optional": True}}],
        "volumeMounts": [{"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
                         {"name": "workdir", "mountPath": DATA_DIR}],  # fmt: skip
    }


def flink_deployment(name: str, target: Target, args: list[str], parallelism: int, job: dict) -> dict:
    """A FlinkDeployment in application mode running ``python -m jobs.k8s.entry <args>`` through Flink's
    PythonDriver (Flink options before the module's own arguments) on ``parallelism`` one-slot TaskManagers."""
    pod = {"spec": {"securityContext": POD_SECURITY,
                    "containers": [{"name": "flink-main-container", **container_env(target)}],
                    "volumes": volumes(target)}}  # fmt: skip
    return {
        "apiVersion": "flink.apache.org/v1beta1",
        "kind": "FlinkDeployment",
        "metadata": metadata(name, target, name.removeprefix(f"{APP}-")),
        "spec": {
            "image": target.image,
            "imagePullPolicy": "IfNotPresent",
            "flinkVersion": FLINK_VERSION,
            "mode": "native",
            "serviceAccount": target.service_account,
            "flinkConfiguration": flink_configuration(target),
            "podTemplate": pod,
            "jobManager": {"replicas": 1, "resource": {"cpu": 1, "memory": "2048m"}},
            "taskManager": {"replicas": parallelism, "resource": {"cpu": 1, "memory": "2048m"}},
            "job": {
                "jarURI": PYTHON_JAR,
                "entryClass": PYTHON_DRIVER,
                "args": ["-pyclientexec", PYTHON, "-pym", ENTRY_MODULE, *args],
                "parallelism": parallelism,
                "state": "running",
                **job,
            },
        },
    }


def flink_configuration(target: Target) -> dict[str, str]:
    """One Python interpreter per TaskManager JVM (thread mode, one slot), state dirs as URIs, the S3 endpoint."""
    s3 = {} if target.s3_endpoint is None else {"s3.endpoint": target.s3_endpoint, "s3.path.style.access": "true"}
    return {
        "taskmanager.numberOfTaskSlots": "1",
        "python.execution-mode": "thread",
        "python.executable": PYTHON,
        "python.client.executable": PYTHON,
        "state.backend.type": "hashmap",
        "restart-strategy.type": "none",
        "execution.checkpointing.dir": target.checkpoint_dir,
        "execution.checkpointing.savepoint-dir": target.savepoint_dir,
        "state.checkpoints.dir": target.checkpoint_dir,
        "state.savepoints.dir": target.savepoint_dir,
        "execution.checkpointing.externalized-checkpoint-retention": "RETAIN_ON_CANCELLATION",
        **s3,
    }


def bootstrap_deployment(target: Target, parallelism: int) -> dict:
    """The bootstrap: reads the events, publishes datasets and values into the workdir and ends with its
    savepoint (the driver stops the job with it); the operator restores nothing (``stateless``)."""
    args = ["bootstrap", CONFIG_PATH, "--parallelism", str(parallelism)]
    return flink_deployment(f"{APP}-bootstrap", target, args, parallelism, {"upgradeMode": "stateless"})


def update_deployment(target: Target, parallelism: int, savepoint: str) -> dict:
    """The update job: starts from ``savepoint`` (``initialSavepointPath``); the operator upgrades it through
    savepoints. The bootstrap's file source has no counterpart here, so its state is left unclaimed."""
    args = ["update", CONFIG_PATH, "--parallelism", str(parallelism)]
    job = {"upgradeMode": "savepoint", "initialSavepointPath": savepoint, "allowNonRestoredState": True}
    return flink_deployment(f"{APP}-update", target, args, parallelism, job)


def api_resources(target: Target, port: int = 8080) -> list[dict]:
    """The API: a Deployment (readiness and liveness on ``/health``) and its Service."""
    selector = labels("api")
    container = {
        "name": "api",
        "image": target.image,
        "imagePullPolicy": "IfNotPresent",
        "args": ["api", CONFIG_PATH, "--host", "0.0.0.0", "--port", str(port)],
        "ports": [{"name": "http", "containerPort": port}],
        "readinessProbe": {"httpGet": {"path": "/health", "port": "http"}, "periodSeconds": 5, "timeoutSeconds": 2},
        "livenessProbe": {"httpGet": {"path": "/health", "port": "http"}, "periodSeconds": 20,
                          "timeoutSeconds": 2, "failureThreshold": 6},  # fmt: skip
        "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "2Gi"}},
        **container_env(target),
    }
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata(f"{APP}-api", target, "api"),
        "spec": {"replicas": target.api_replicas, "selector": {"matchLabels": selector},
                 "template": {"metadata": {"labels": selector},
                              "spec": {"securityContext": POD_SECURITY, "containers": [container],
                                       "volumes": volumes(target)}}},
    }  # fmt: skip
    service = {
        "apiVersion": "v1", "kind": "Service", "metadata": metadata(f"{APP}-api", target, "api"),
        "spec": {"selector": selector, "ports": [{"name": "http", "port": port, "targetPort": "http"}]},
    }  # fmt: skip
    return [deployment, service]


def batch_job(command: str, target: Target) -> dict:
    """``rankstream <command> CONFIG`` once, as a Job in the image (train, upload)."""
    container = {"name": command, "image": target.image, "imagePullPolicy": "IfNotPresent",
                 "args": [command, CONFIG_PATH], **container_env(target)}  # fmt: skip
    return {
        "apiVersion": "batch/v1", "kind": "Job", "metadata": metadata(f"{APP}-{command}", target, command),
        "spec": {"backoffLimit": 0, "ttlSecondsAfterFinished": 86400,
                 "template": {"metadata": {"labels": labels(command)},
                              "spec": {"restartPolicy": "Never", "securityContext": POD_SECURITY,
                                       "containers": [container], "volumes": volumes(target)}}},
    }  # fmt: skip
