"""Configure PyFlink environments and drive a job to a stop-with-savepoint."""

from __future__ import annotations

import functools
import os
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml
from pyflink.common import Configuration
from pyflink.datastream import StreamExecutionEnvironment
from pyflink.java_gateway import get_gateway

from jobs.flink import ensure_python_on_path
from jobs.flink.errors import FlinkJobError
from jobs.flink.host import DONE_FILE, FLUSH_MARKER
from jobs.flink.rest import FlinkRest
from jobs.flink.sources import file_uri
from jobs.flink.watch import JobWatch, Progress

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG_FILE = REPO_ROOT / "flink-conf" / "config.yaml"
SHIPPED_PACKAGES = ("feature_ops", "jobs")


@dataclass(frozen=True)
class RunResult:
    """Outcome of ``run_to_savepoint``."""

    savepoint_path: str
    job_id: str
    seconds: float


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_defaults(path: Path = CONFIG_FILE) -> dict[str, str]:
    """The flat ``key: value`` defaults of ``flink-conf/config.yaml`` as strings."""
    data = yaml.safe_load(path.read_text()) or {}
    return {str(k): str(v) for k, v in data.items()}


def flink_configuration(
    parallelism: int = 1,
    rest_port: int | None = None,
    checkpoint_dir: str | None = None,
    restore_from: str | None = None,
    extra: dict | None = None,
) -> Configuration:
    """Repo defaults + REST on 127.0.0.1:<free port> + optional checkpointing and savepoint restore. Inside a
    Flink cluster's JobManager (``jobs.k8s.entry``) ``$RANKSTREAM_FLINK_REST_PORT`` names the cluster's port."""
    port = str(rest_port or os.environ.get("RANKSTREAM_FLINK_REST_PORT") or free_port())
    settings = load_defaults()
    settings.update(
        {
            "parallelism.default": str(parallelism),
            "rest.address": "127.0.0.1",
            "rest.port": port,
            "rest.bind-port": port,
        }
    )
    if checkpoint_dir:
        settings["execution.checkpointing.dir"] = file_uri(checkpoint_dir)
        settings.setdefault("execution.checkpointing.interval", "60s")
    if restore_from:
        settings["execution.state-recovery.path"] = restore_from
        settings["execution.state-recovery.ignore-unclaimed-state"] = "true"
    settings.update({str(k): str(v) for k, v in (extra or {}).items()})
    config = Configuration()
    for key, value in settings.items():
        config.set_string(key, value)
    return config


def create_env(config: Configuration, ship_packages: bool = False) -> StreamExecutionEnvironment:
    """A StreamExecutionEnvironment for ``config``.

    In thread mode the workers run this venv's interpreter, so the editable install already
    makes ``feature_ops`` and ``jobs`` importable. ``ship_packages=True`` also ships both as
    ``python.files`` (for process mode or a cluster without the project installed).
    """
    ensure_python_on_path()
    # Thread mode never uses PyFlink's Beam loopback worker server, which otherwise listens on every interface.
    os.environ.setdefault("_python_worker_execution_mode", "process")
    env = StreamExecutionEnvironment.get_execution_environment(config)
    if ship_packages:
        env.add_python_file(_staged_packages())
    return env


@functools.cache
def _staged_packages() -> str:
    """A temp dir holding copies of the project packages: a shipped directory itself goes on
    ``sys.path``, so shipping ``feature_ops/`` directly would shadow stdlib modules (``types``)."""
    staging = tempfile.mkdtemp(prefix="rankstream-pyfiles-")
    for package in SHIPPED_PACKAGES:
        shutil.copytree(
            REPO_ROOT / package,
            os.path.join(staging, package),
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
    return staging


def rest_port_of(env: StreamExecutionEnvironment) -> int:
    util = get_gateway().jvm.org.apache.flink.python.util.PythonConfigUtil
    port = util.getEnvironmentConfig(env._j_stream_execution_environment).getString("rest.port", None)
    if not port:
        raise ValueError("environment has no rest.port; build its config with flink_configuration()")
    return int(port)


def drop_flush_marker(control_dir: str) -> str:
    """Atomically create a control file holding ``FLUSH_MARKER`` (``_``-prefixed temp names are ignored)."""
    os.makedirs(control_dir, exist_ok=True)
    tmp = os.path.join(control_dir, "_flush.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(FLUSH_MARKER + "\n")
    final = os.path.join(control_dir, f"flush-{uuid.uuid4().hex[:8]}")
    os.replace(tmp, final)
    return final


def done_path(control_dir: str) -> str:
    """Where ``EngineHost`` signals completion (ignored by the control FileSource: ``_`` prefix)."""
    return os.path.join(control_dir, DONE_FILE)


def run_to_savepoint(
    env: StreamExecutionEnvironment,
    job_name: str,
    control_dir: str,
    savepoint_dir: str,
    total_lines: int | None = None,
    progress: Callable[[Progress], None] | None = None,
    timeout: float = 3600.0,
    stall_timeout: float = 120.0,
) -> RunResult:
    """Run the job built on ``env`` over its whole input, then stop it with a CANONICAL savepoint.

    The flush marker is dropped into ``control_dir`` before submission: the HybridSource only
    starts reading that directory after every input file is consumed, so the marker arrives
    last. Completion = ``EngineHost`` creating ``done_path(control_dir)`` after ``finish()``.
    ``total_lines`` only feeds progress reports and stall detection.
    """
    marker = _prepare_control_dir(control_dir)
    rest = FlinkRest(rest_port_of(env))
    client = env.execute_async(job_name)
    watch = JobWatch(client, rest, job_name, total_lines, progress, timeout, stall_timeout)
    try:
        watch.wait_for(done_path(control_dir))
        path = _stop_with_savepoint(client, watch.job_id, savepoint_dir, job_name)
    finally:
        os.remove(marker)
    return RunResult(path, watch.job_id, time.monotonic() - watch.started)


def _prepare_control_dir(control_dir: str) -> str:
    os.makedirs(control_dir, exist_ok=True)
    if os.path.exists(done_path(control_dir)):
        os.remove(done_path(control_dir))
    return drop_flush_marker(control_dir)


def _stop_with_savepoint(client, job_id: str, savepoint_dir: str, job_name: str) -> str:
    """``client.stop_with_savepoint`` is broken in 2.x (2-arg Java call); use the 3-arg method."""
    fmt = get_gateway().jvm.org.apache.flink.core.execution.SavepointFormatType.CANONICAL
    if "://" not in savepoint_dir:
        os.makedirs(savepoint_dir, exist_ok=True)
    try:
        return str(client._j_job_client.stopWithSavepoint(False, file_uri(savepoint_dir), fmt).get())
    except Exception as e:
        raise FlinkJobError(
            f"stop-with-savepoint of job {job_name!r} ({job_id}) failed", job_id, str(e)
        ) from e
