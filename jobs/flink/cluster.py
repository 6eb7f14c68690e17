"""A local standalone session cluster from the PyFlink wheel: one JobManager and N one-slot TaskManagers.

In thread mode every TaskManager JVM embeds one Python interpreter, so subtasks inside one JVM (a MiniCluster)
share one GIL; separate TaskManager JVMs run Python in parallel. ``LocalCluster`` starts them with the wheel's
``bin/jobmanager.sh`` and ``bin/taskmanager.sh`` on loopback ports of its own, and stops exactly the
processes it started (their pid files). ``lib/`` holds the wheel's jars plus ``flink-python`` from ``opt/``:
without it the second thread-mode job on a TaskManager fails (pemja ``loadedLibraryNames``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pyflink
import yaml
from pyflink.common import Configuration
from pyflink.datastream import StreamExecutionEnvironment
from pyflink.java_gateway import get_gateway

from jobs.flink import ensure_python_on_path
from jobs.flink.errors import FlinkJobError
from jobs.flink.runtime import free_port, load_defaults

WHEEL = Path(pyflink.__file__).parent


class LocalCluster:
    """``with LocalCluster(2, root) as cluster:`` jobs built on ``cluster.environment(config)`` run on it."""

    def __init__(self, taskmanagers: int, root: Path, taskmanager_memory: str = "1536m",
                 s3: dict[str, str] | None = None) -> None:  # fmt: skip
        """``s3``: Flink's ``s3.*`` options (``jobs.flink.s3``) when jobs write to S3; loads the S3 plugin."""
        self.taskmanagers, self.root = taskmanagers, Path(root)
        self.s3 = s3
        self.taskmanager_memory = taskmanager_memory
        self.rest_port = free_port()

    def __enter__(self) -> LocalCluster:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def environment(self, config: Configuration) -> StreamExecutionEnvironment:
        """An environment submitting to this cluster (``get_execution_environment`` always builds a MiniCluster
        outside ``flink run``). ``config`` must name this cluster's ``rest.port`` (the driver watches it)."""
        ensure_python_on_path()
        gateway = get_gateway()
        jvm_env = gateway.jvm.org.apache.flink.streaming.api.environment.StreamExecutionEnvironment
        no_jars = gateway.new_array(gateway.jvm.String, 0)
        return StreamExecutionEnvironment(
            jvm_env.createRemoteEnvironment("127.0.0.1", self.rest_port, config._j_configuration, no_jars)
        )

    def start(self, timeout: float = 180.0) -> None:
        """Start the daemons and wait for every TaskManager to register; stops what it started if that fails."""
        try:
            env = self._prepare()
            self._daemon(env, "jobmanager.sh")
            for _ in range(self.taskmanagers):
                self._daemon(env, "taskmanager.sh")
            deadline = time.monotonic() + timeout
            while self._registered() < self.taskmanagers:
                if time.monotonic() > deadline:
                    raise FlinkJobError(f"local Flink cluster: {self.taskmanagers} TaskManagers not registered after "
                                        f"{timeout:.0f} s (logs in {self.root / 'log'})", "", "")  # fmt: skip
                time.sleep(0.5)
        except BaseException:
            self.stop()
            raise

    def stop(self, grace: float = 20.0) -> None:
        """SIGTERM every process this cluster started (its pid files), SIGKILL what is left after ``grace``."""
        pids = self._pids()
        for pid in pids:
            _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while any(_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.2)
        for pid in pids:
            if _alive(pid):
                _signal(pid, signal.SIGKILL)
        for pid_file in (self.root / "pids").glob("*.pid"):
            pid_file.unlink()

    def _prepare(self) -> dict[str, str]:
        for sub in ("conf", "lib", "log", "pids"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        for conf in [*WHEEL.glob("conf/log4j*.properties"), *WHEEL.glob("conf/logback*.xml")]:
            shutil.copy(conf, self.root / "conf")
        for jar in [*WHEEL.glob("lib/*.jar"), *WHEEL.glob("opt/flink-python-*.jar")]:
            link = self.root / "lib" / jar.name
            if not link.exists():
                link.symlink_to(jar)
        (self.root / "conf" / "config.yaml").write_text(yaml.safe_dump(self._config()))
        bin_dir = os.path.dirname(sys.executable)
        env = {**os.environ, "FLINK_CONF_DIR": str(self.root / "conf"), "FLINK_LIB_DIR": str(self.root / "lib"),
               "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}  # fmt: skip
        if self.s3 is not None:
            from jobs.flink.s3 import plugins_dir

            env["FLINK_PLUGINS_DIR"] = str(plugins_dir())
        return env

    def _config(self) -> dict[str, str]:
        config = load_defaults()
        config.update({
            "env.pid.dir": str(self.root / "pids"), "env.log.dir": str(self.root / "log"),
            "jobmanager.rpc.port": str(free_port()), "jobmanager.memory.process.size": "1024m",
            "taskmanager.numberOfTaskSlots": "1", "taskmanager.memory.process.size": self.taskmanager_memory,
            "rest.port": str(self.rest_port), "rest.bind-port": str(self.rest_port),
            "python.executable": sys.executable, "python.client.executable": sys.executable,
            **(self.s3 or {}),
        })  # fmt: skip
        return config

    def _daemon(self, env: dict[str, str], script: str) -> None:
        subprocess.run(["bash", str(WHEEL / "bin" / script), "start"], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip

    def _registered(self) -> int:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.rest_port}/overview", timeout=2) as response:
                return int(json.load(response)["taskmanagers"])
        except (OSError, ValueError, KeyError):
            return 0

    def _pids(self) -> list[int]:
        pids = []
        for pid_file in (self.root / "pids").glob("*.pid"):
            pids += [int(line) for line in pid_file.read_text().split() if line.strip().isdigit()]
        return pids


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
