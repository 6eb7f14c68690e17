"""Where an update job starts from, the update manifest, and the one-job-per-workdir lock.

Checkpoints go to ``<workdir>/checkpoints/<bootstrap run>/<job id>/chk-<n>/`` (a completed one has ``_metadata``),
savepoints of stopped update jobs to ``<workdir>/savepoint/`` next to the bootstrap's, and
``<workdir>/update.json`` records the last stop (savepoint, time, bootstrap run). Without ``--savepoint`` a job
restores the newest of: the last stopped job's savepoint and the latest completed checkpoint, both of the
current bootstrap run; with neither, the bootstrap's savepoint. A new bootstrap therefore starts the update
over from its own savepoint (the previous run's checkpoints are removed once the new job has one).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import urlparse

from jobs.errors import WorkdirError
from jobs.manifest import manifest_text, write_manifest
from serving import s3
from serving.s3 import is_s3

UPDATE_MANIFEST = "update.json"
LOCK_FILE = ".update.lock"
CHECKPOINTS = "checkpoints"


@dataclass(frozen=True)
class RestorePoint:
    path: str
    origin: str
    """``bootstrap savepoint``, ``checkpoint`` or ``savepoint of the stopped update job``, or ``--savepoint``."""


@dataclass(frozen=True)
class UpdateDirs:
    """Where an update job keeps its state: ``local`` (the workdir, or an ``s3://`` workdir's local copy: the
    bad-message log) and, for an S3 workdir, ``remote``: checkpoints, savepoints and ``update.json`` there."""

    local: Path
    remote: str | None = None

    def uri(self, *names: str) -> str:
        return s3.join(self.remote, *names) if self.remote else self.local.joinpath(*names).absolute().as_uri()

    def read_manifest(self) -> dict:
        if self.remote is None:
            return read_update_manifest(self.local)
        uri = self.uri(UPDATE_MANIFEST)
        return _parse(self.remote, s3.read_bytes(uri).decode()) if s3.head(uri) else {}

    def write_manifest(self, manifest: dict) -> None:
        if self.remote is None:
            write_manifest(self.local, manifest, UPDATE_MANIFEST)
        else:
            s3.write_bytes(self.uri(UPDATE_MANIFEST), manifest_text(manifest).encode())

    def metadata_time(self, snapshot: str) -> float | None:
        """When the savepoint or checkpoint at URI ``snapshot`` completed (its ``_metadata``), None if it did not."""
        if is_s3(snapshot):
            info = s3.head(s3.join(snapshot, "_metadata"))
            return None if info is None else info.modified
        meta = Path(urlparse(snapshot).path) / "_metadata"
        return meta.stat().st_mtime if meta.is_file() else None

    def checkpoints(self, run: str) -> list[tuple[float, str]]:
        """(completion time, URI) of every completed checkpoint ``<run>/<job id>/chk-<n>``."""
        if self.remote is None:
            metas = self.local.joinpath(CHECKPOINTS, run).glob("*/chk-*/_metadata")
            return [(meta.stat().st_mtime, meta.parent.as_uri()) for meta in metas if meta.is_file()]
        return [(o.modified, o.uri.removesuffix("/_metadata")) for o in s3.listing(self.uri(CHECKPOINTS, run, ""))
                if _CHECKPOINT.search(o.uri)]  # fmt: skip

    def remove_checkpoints(self, run: str, job_id: str) -> list[str]:
        """Once job ``job_id`` has a completed checkpoint, the other jobs' checkpoints are no longer needed."""
        if self.remote is None:
            return remove_old_checkpoints(self.local, run, job_id)
        prefix, folders = self.uri(CHECKPOINTS, ""), set()
        for info in s3.listing(prefix):
            folder, job = [*info.uri[len(prefix) :].split("/"), ""][:2]
            folders.add(f"{folder}/{job}" if folder == run else folder)
        removed = sorted(folders - {f"{run}/{job_id}"})
        for folder in removed:
            s3.delete_prefix(self.uri(CHECKPOINTS, folder, ""))
        return [f"{CHECKPOINTS}/{folder}" for folder in removed]


_CHECKPOINT = re.compile(r"/[^/]+/chk-[0-9]+/_metadata$")


def read_update_manifest(root: Path) -> dict:
    try:
        return _parse(root, (root / UPDATE_MANIFEST).read_text())
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise WorkdirError(f"workdir {root}: {UPDATE_MANIFEST} is damaged ({e}); remove it to restart from the latest checkpoint") from None


def _parse(root: Path | str, text: str) -> dict:
    try:
        return json.loads(text)
    except ValueError as e:
        raise WorkdirError(f"workdir {root}: {UPDATE_MANIFEST} is damaged ({e}); remove it to restart from the latest checkpoint") from None


def restore_point(dirs: UpdateDirs, bootstrap: dict, explicit: str | None = None) -> RestorePoint:
    """What the next update job restores (module docstring)."""
    if explicit:
        return RestorePoint(explicit, "--savepoint")
    candidates = []
    stopped = dirs.read_manifest()
    if stopped.get("bootstrap_run") == bootstrap["run"] and stopped.get("savepoint"):
        done = dirs.metadata_time(stopped["savepoint"])
        if done is not None:
            candidates.append((done, stopped["savepoint"], "savepoint of the stopped update job"))
    checkpoints = dirs.checkpoints(bootstrap["run"])
    if checkpoints:
        candidates.append((*max(checkpoints), "checkpoint"))
    if candidates:
        _, path, origin = max(candidates)
        return RestorePoint(path, origin)
    return RestorePoint(bootstrap["savepoint"], "bootstrap savepoint")


def remove_old_checkpoints(root: Path, bootstrap_run: str, job_id: str) -> list[str]:
    """Once job ``job_id`` has a completed checkpoint, the other jobs' checkpoints are no longer needed."""
    removed = []
    for run in sorted((root / CHECKPOINTS).glob("*")):
        for job in sorted(run.glob("*")) if run.name == bootstrap_run else [run]:
            if job.name != job_id and job.is_dir():
                shutil.rmtree(job, ignore_errors=True)
                removed.append(str(job.relative_to(root)))
    return removed


class UpdateLock:
    """``<workdir>/.update.lock``, held (flock) by the running update job; holds its pid for ``--stop``."""

    def __init__(self, root: Path) -> None:
        self.path = root / LOCK_FILE
        self.handle: IO[str] | None = None

    def __enter__(self) -> UpdateLock:
        handle = open(self.path, "a+")  # noqa: SIM115 - held until __exit__
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise WorkdirError(f"workdir {self.path.parent}: an update job (pid {running_pid(self.path.parent)}) "
                               "is already running; stop it with `rankstream update --stop`") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self.handle = handle
        return self

    def __exit__(self, *_) -> None:
        if self.handle is not None:
            self.handle.close()


def running_pid(root: Path) -> int | None:
    """The pid of the update job holding the workdir's lock, or None when no job holds it."""
    path = root / LOCK_FILE
    if not path.exists():
        return None
    with open(path) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = handle.read().strip()
            return int(text) if text.isdigit() else None
        fcntl.flock(handle, fcntl.LOCK_UN)
        return None
