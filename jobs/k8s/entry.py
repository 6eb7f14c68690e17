"""The jobs inside a FlinkDeployment: ``python -m jobs.k8s.entry bootstrap|update CONFIG [--parallelism N]``.

Flink's PythonDriver runs this module in the JobManager pod of an application cluster. There
``get_execution_environment`` submits to that cluster instead of starting a MiniCluster, so the module runs
the CLI's own drivers, ``bootstrap_flink`` and ``run_update``, on the same graphs, without the local
cluster the CLI starts for ``--parallelism`` above 1: the operator already made one TaskManager per subtask.
The drivers watch the job through the JobManager's REST port, read from the cluster's configuration
(``$FLINK_CONF_DIR/config.yaml``). The update job restores what the operator asks for
(``execution.state-recovery.path``: ``initialSavepointPath`` first, the upgrade savepoint after an upgrade).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

import yaml

from feature_ops.config import Config, load_config
from jobs.flink.errors import FlinkJobError

REST_PORT_ENV = "RANKSTREAM_FLINK_REST_PORT"


def cluster_settings(conf_dir: str | None = None) -> dict[str, str]:
    """The cluster's Flink configuration as flat ``key: value`` strings (nested YAML keys joined by dots)."""
    path = Path(conf_dir or os.environ.get("FLINK_CONF_DIR", "/opt/flink/conf")) / "config.yaml"
    if not path.exists():
        return {}
    return dict(_flatten(yaml.safe_load(path.read_text()) or {}))


def _flatten(data: dict, prefix: str = ""):
    for key, value in data.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", str(value)


def with_parallelism(config: Config, parallelism: int | None) -> Config:
    if not parallelism:
        return config
    bootstrap = config.bootstrap.model_copy(update={"parallelism": parallelism})
    inference = config.inference.model_copy(update={"parallelism": parallelism})
    return config.model_copy(update={"bootstrap": bootstrap, "inference": inference})


def run_bootstrap(config: Config, settings: dict[str, str]) -> str:
    from jobs.cli import status_line, throughput_line
    from jobs.flink.bootstrap import bootstrap_flink

    result = bootstrap_flink(config, throughput_line(), status=status_line, local_cluster=False)
    return f"bootstrap: {result.events:,} events, savepoint {result.savepoint}"


def run_update(config: Config, settings: dict[str, str]) -> str:
    from jobs.update.command import _progress, _say
    from jobs.update.run import run_update as update

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    savepoint = settings.get("execution.state-recovery.path")
    try:
        result = update(config, savepoint, config.inference.parallelism, stop, progress=_progress, say=_say)
    except FlinkJobError as e:
        if not stopped_by_operator(e):
            raise
        return f"update: job {e.job_id} stopped by the operator (its savepoint is in the FlinkDeployment's status)"
    return f"update: stopped after {result.events:,} events; savepoint {result.savepoint}"


def stopped_by_operator(error: FlinkJobError) -> bool:
    """The job finished without a failure while the driver kept it running: the operator stopped it with a
    savepoint (an upgrade or ``state: suspended``), which is not an error of the driver."""
    return not error.detail and "(FINISHED)" in error.headline


JOBS = {"bootstrap": run_bootstrap, "update": run_update}


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m jobs.k8s.entry")
    parser.add_argument("job", choices=sorted(JOBS))
    parser.add_argument("config")
    parser.add_argument("--parallelism", type=int)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, conf_dir: str | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    settings = cluster_settings(conf_dir)
    os.environ[REST_PORT_ENV] = settings.get("rest.port", "8081")
    config = with_parallelism(load_config(args.config), args.parallelism)
    print(JOBS[args.job](config, settings), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
