"""The bootstrap as a PyFlink job on the keyed graph (``jobs.flink.keyed``, ``jobs.flink.keyed_bootstrap``).

Graph::

    HybridSource(FileSource per input file, in path order -> monitored control dir)   p1
      -> Batcher: raw lines into batches of 2048 (PICKLED_BYTE_ARRAY)                    p1, chained
      -> router: parse, sessions, clickthroughs, extractors, read keys                    p1
      -> feature state keyed by bucket of scope id (128 = maxParallelism) -> gather       P
      -> rows: datasets in the router's order, latest values                             p1

Every bucket gets its writes and reads from the one router in input order, so the outputs are the embedded
engine's bytes at any parallelism, and the savepoint restores at another one. ``local_cluster`` runs it on
one-slot TaskManagers started for the run (``jobs.flink.cluster``): real parallelism in thread mode. At the
end of the input the rows operator writes the datasets and latest values into the run's staging directory,
the driver stops the job with a savepoint (also staged) that the update job restores, and publishes all of
it, manifest last (``jobs.staging``): a failed or killed run leaves the previous outputs and savepoint
reference in place.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from feature_ops.config import Config
from feature_ops.engine import Engine
from feature_ops.reader import Rejects, event_files
from feature_ops.store import MemoryStore
from jobs.embedded import BootstrapResult, Progress, input_path, local_input, manifest, open_staging
from jobs.flink.inputs import InputPlan, plan_inputs
from serving.s3 import is_s3

if TYPE_CHECKING:
    from jobs.flink.runtime import RunResult
    from jobs.flink.watch import PhaseReport

STATS_FILE = "_engine-stats.json"
HOST_UID = "feature-engine"
BATCH_SIZE = 2048
"""Lines per record into the engine host: every record ends with a write-through of the changed state, so
bigger batches rewrite hot keys less often (2048: ~8% faster than 256 on the sample). Buffered lines are
not in checkpoints; the bootstrap flushes them before its savepoint."""


def bootstrap_flink(
    config: Config, progress: Progress | None = None, restore_from: str | None = None, batch_size: int = BATCH_SIZE,
    status: Callable[[str], None] | None = None, local_cluster: bool = False,
) -> BootstrapResult:  # fmt: skip
    """Run the bootstrap job on a local MiniCluster, stop it with a savepoint and publish everything into the
    workdir (savepoint under <workdir>/savepoint/). ``status`` hears what happens before the first events.
    ``local_cluster``: run it on a standalone cluster of ``bootstrap.parallelism`` one-slot TaskManagers
    started (and stopped) for this run instead: one Python interpreter per TaskManager JVM, real parallelism."""
    from jobs.flink.watch import PhaseReport

    input_path(config)
    with open_staging(config) as staging:
        start = time.perf_counter()
        path, names = local_input(config, staging.path)
        plan = plan_inputs(event_files(path), staging.path / "_input", names)
        run = _run_job(config, staging.path, plan, restore_from, batch_size, PhaseReport(progress, status),
                       local_cluster)  # fmt: skip
        result = _result(staging.path, run.savepoint_path, time.perf_counter() - start)
        result.job_seconds = run.seconds
        result.leftovers = staging.leftovers
        written = staging.publish({**manifest(config, result), "flink_job_id": run.job_id}, run.savepoint_path)
        result.savepoint = written["savepoint"]
    return result


def _run_job(config: Config, stage: Path, plan: InputPlan, restore_from: str | None, batch_size: int,
             report: PhaseReport, local_cluster: bool = False) -> RunResult:  # fmt: skip
    """Build the job graph and run it to its savepoint, all inside the staging directory."""
    from jobs.flink.cluster import LocalCluster
    from jobs.flink.s3 import s3_settings

    if not local_cluster:
        report.status("starting Flink MiniCluster...")
        return _run_on(None, config, stage, plan, restore_from, batch_size, report)
    taskmanagers = config.bootstrap.parallelism
    report.status(f"starting a local Flink cluster of {taskmanagers} TaskManagers...")
    s3 = s3_settings() if is_s3(config.bootstrap.workdir) else None
    with LocalCluster(taskmanagers, stage / "flink-cluster", s3=s3) as cluster:
        return _run_on(cluster, config, stage, plan, restore_from, batch_size, report)


def _run_on(cluster, config: Config, stage: Path, plan, restore_from: str | None, batch_size: int,
            report: PhaseReport) -> RunResult:  # fmt: skip
    from jobs.flink.keyed_bootstrap import KeyedBootstrapFactory
    from jobs.flink.pipeline import engine_stream
    from jobs.flink.runtime import create_env, flink_configuration, run_to_savepoint
    from jobs.flink.s3 import initialize, s3_settings
    from jobs.s3workdir import savepoint_dir

    workdir = config.bootstrap.workdir
    settings = flink_configuration(
        parallelism=config.bootstrap.parallelism,
        rest_port=None if cluster is None else cluster.rest_port,
        restore_from=restore_from,
        extra={"execution.checkpointing.storage": "filesystem",
               "execution.checkpointing.dir": (stage / "checkpoints").absolute().as_uri(),
               **(s3_settings() if is_s3(workdir) else {})},
    )  # fmt: skip
    if is_s3(workdir):
        initialize(settings)
    env = create_env(settings) if cluster is None else cluster.environment(settings)
    namespaces = Engine(config, MemoryStore()).namespaces
    factory = KeyedBootstrapFactory(config, str(stage), plan)
    control = str(stage / "flink-control")
    (engine_stream(env, plan.paths, control, factory, namespaces, host_uid=HOST_UID, batch_size=batch_size)
     .map(lambda x: x).name("sink").set_parallelism(1))  # chained to the rows operator: no Python thread of its own
    savepoints = savepoint_dir(workdir) if is_s3(workdir) else str(stage / "savepoint")
    return run_to_savepoint(env, "rankstream-bootstrap", control, savepoints, plan.total, report)


def _result(root: Path, savepoint: str, seconds: float) -> BootstrapResult:
    stats = json.loads((root / STATS_FILE).read_text())
    os.remove(root / STATS_FILE)
    rejects = Rejects.from_dict(stats["rejects"])
    return BootstrapResult("flink", stats["events"], seconds, stats["rows"], stats["values"], rejects,
                           stats["stats"], savepoint, subtasks={int(k): v for k, v in stats.get("subtasks", {}).items()},
                           router_seconds=stats.get("router_seconds"), rows_seconds=stats.get("rows_seconds"))  # fmt: skip
