"""``rankstream update``: run the update job until it fails or is asked to stop, then stop it with a savepoint.

The driver submits the job to a local MiniCluster (``jobs.update.job``), reports progress once a second
(events read, events/s, source lag, bad messages, last completed checkpoint) and prints each bad message as
the engine logs it. ``stop`` (SIGTERM, Ctrl-C, ``rankstream update --stop``) ends it with a CANONICAL savepoint
recorded in ``<workdir>/update.json``; the next run restores it (``jobs.update.resume``).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from feature_ops.config import Config
from jobs.errors import WorkdirError
from jobs.update.engine import BAD_MESSAGES
from jobs.update.job import check_update_config
from jobs.update.resume import CHECKPOINTS, RestorePoint, UpdateDirs, UpdateLock, restore_point
from jobs.workdir import completed_workdir, local_workdir
from serving.s3 import is_s3

JOB_NAME = "rankstream-update"
REPORT_SECONDS = 1.0


@dataclass(frozen=True)
class UpdateProgress:
    events: int
    events_per_s: float
    lag: int | None
    bad: int
    checkpoint: str | None
    """``chk-12, 3 s ago`` for the latest completed checkpoint."""
    state: str | None

    def line(self) -> str:
        lag = "?" if self.lag is None else f"{self.lag:,}"
        checkpoint = self.checkpoint or "none yet"
        return (f"{self.events:,} events ({self.events_per_s:,.0f}/s), lag {lag}, {self.bad:,} bad, "
                f"last checkpoint {checkpoint}")  # fmt: skip


@dataclass(frozen=True)
class UpdateResult:
    savepoint: str
    restored: RestorePoint
    events: int
    seconds: float


def run_update(
    config: Config,
    savepoint: str | None = None,
    parallelism: int | None = None,
    stop: threading.Event | None = None,
    progress: Callable[[UpdateProgress], None] | None = None,
    say: Callable[[str], None] = lambda text: None,
) -> UpdateResult:
    """Restore, run until ``stop`` is set, stop with a savepoint; raises ``FlinkJobError`` if the job fails."""
    check_update_config(config)
    workdir = config.bootstrap.workdir
    root = completed_workdir(workdir)
    dirs = UpdateDirs(root, workdir if is_s3(workdir) else None)
    bootstrap = _bootstrap_manifest(root)
    stop = stop or threading.Event()
    with UpdateLock(local_workdir(workdir)):
        restored = restore_point(dirs, bootstrap, savepoint)
        say(f"restoring from {restored.origin}: {restored.path}")
        watch = _submit(config, dirs, bootstrap, restored, parallelism)
        say(f"job {watch.job_id} submitted")
        _run_until_stopped(watch, stop, progress, say, dirs, bootstrap["run"])
        say("stopping with a savepoint...")
        events = watch.report().events
        path = watch.stop_with_savepoint(dirs.uri("savepoint"))
        dirs.write_manifest({
            "bootstrap_run": bootstrap["run"], "savepoint": path, "job_id": watch.job_id,
            "stopped_at": datetime.now(UTC).isoformat(timespec="seconds"), "restored_from": restored.path,
        })  # fmt: skip
    return UpdateResult(path, restored, events, time.monotonic() - watch.started)


def _bootstrap_manifest(root: Path) -> dict:
    from jobs.manifest import read_manifest

    manifest = read_manifest(root)
    if not manifest.get("savepoint"):
        where = manifest.get("workdir", root)
        raise WorkdirError(f"workdir {where}: the last bootstrap left no savepoint (engine {manifest.get('engine')}); "
                           "run `rankstream bootstrap --engine flink` first")  # fmt: skip
    return manifest


def _submit(config: Config, dirs: UpdateDirs, bootstrap: dict, restored: RestorePoint, parallelism: int | None):
    from jobs.flink.rest import FlinkRest
    from jobs.flink.runtime import rest_port_of
    from jobs.update.job import build_update_job
    from jobs.update.watch import UpdateWatch

    bad_log = dirs.local / "update" / BAD_MESSAGES
    env = build_update_job(config, dirs, restored.path, parallelism or config.inference.parallelism,
                           dirs.uri(CHECKPOINTS, bootstrap["run"]), bootstrap.get("events", 0) > 0)  # fmt: skip
    bad_log.unlink(missing_ok=True)
    client = env.execute_async(JOB_NAME)
    return UpdateWatch(client, FlinkRest(rest_port_of(env)), JOB_NAME, config.inference.source.type, bad_log)


def _run_until_stopped(watch, stop: threading.Event, progress, say, dirs: UpdateDirs, run: str) -> None:
    cleaned = False
    while not stop.wait(REPORT_SECONDS):
        watch.raise_if_ended()
        report = watch.report()
        for message in watch.new_bad_messages():
            say(f"skipped {message}")
        if progress is not None:
            progress(report)
        if not cleaned and report.checkpoint is not None:
            cleaned = True
            for removed in dirs.remove_checkpoints(run, watch.job_id):
                say(f"removed {removed} (superseded)")


def stop_running(root: Path, dirs: UpdateDirs, timeout: float = 300.0) -> dict:
    """``rankstream update --stop``: SIGTERM the job holding the lock in ``root`` (``local_workdir``), wait for
    it, return the update manifest it wrote."""
    import signal

    from jobs.update.resume import running_pid

    pid = running_pid(root)
    if pid is None:
        raise WorkdirError(f"workdir {root}: no update job is running")
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while running_pid(root) is not None:
        if time.monotonic() > deadline:
            raise WorkdirError(f"workdir {root}: update job (pid {pid}) did not stop within {timeout:.0f} s")
        time.sleep(0.2)
    return dirs.read_manifest()
