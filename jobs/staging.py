"""A bootstrap run's staging directory, and the publication of its outputs.

A run holds ``<workdir>/.bootstrap.lock`` and writes everything under ``<workdir>/.staging-<run>/``: datasets,
values, Flink's savepoint and its scratch files (staged inputs, control files, checkpoints). ``publish``
moves the outputs into place (one ``os.replace`` per file, the savepoint directory with one rename) and
writes ``manifest.json`` last, listing each output's size and checksum. A run that stops earlier (an
exception, SIGKILL) leaves the previous outputs, manifest and savepoint as they were; the next run removes
its staging directory and reports it. A run killed between the first rename and the manifest leaves outputs
that do not match the manifest, which ``jobs.manifest.check_workdir`` reports.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from pathlib import Path
from typing import IO
from urllib.parse import urlparse

from jobs.errors import WorkdirError
from jobs.manifest import MANIFEST, file_entry, fsync_dir, write_manifest

STAGING_PREFIX = ".staging-"
LOCK_FILE = ".bootstrap.lock"
OUTPUT_DIRS = ("dataset", "values")


class Staging:
    """``with Staging(root) as staging:`` write under ``staging.path``, then ``staging.publish(manifest)``.
    Leaving the block removes the staging directory (published or not) and releases the lock. With
    ``remote`` (an ``s3://`` workdir; ``root`` is its local scratch directory) publishing uploads instead."""

    def __init__(self, root: Path, remote: str | None = None) -> None:
        self.root, self.remote = root, remote
        self._lock = _lock(root)
        self.leftovers = remove_leftovers(root)
        self.run = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
        self.path = root / f"{STAGING_PREFIX}{self.run}"
        self.path.mkdir()

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *_) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        self._lock.close()

    def publish(self, manifest: dict, savepoint: str | None = None) -> dict:
        """Move the staged outputs (and the savepoint at URI ``savepoint``, if any) into the workdir, then
        write the manifest; returns the manifest as written (with ``run``, ``outputs`` and ``savepoint``)."""
        names = staged_outputs(self.path)
        outputs = {name: file_entry(self.path / name, fsync=self.remote is None) for name in names}
        written = {**manifest, "run": self.run, "outputs": outputs}
        if self.remote is not None:
            return self._publish_remote(names, written, savepoint)
        if savepoint is not None:
            written["savepoint"] = self._publish_savepoint(savepoint)
        for name in names:
            target = self.root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.path / name, target)
        for folder in {(self.root / name).parent for name in names}:
            fsync_dir(folder)
        write_manifest(self.root, written)
        return written

    def _publish_remote(self, names: list[str], written: dict, savepoint: str | None) -> dict:
        """S3 workdir: upload the outputs, manifest last; Flink wrote the savepoint into the workdir already."""
        from jobs import s3workdir

        if savepoint is not None:
            written["savepoint"] = s3workdir.check_savepoint(self.remote, savepoint)
        s3workdir.publish(self.remote, self.path, names, written)
        return written

    def _publish_savepoint(self, uri: str) -> str:
        staged = Path(urlparse(uri).path)
        if staged.parent.resolve() != (self.path / "savepoint").resolve():
            raise WorkdirError(f"savepoint {uri} is not in the staging directory {self.path}")
        target = (self.root / "savepoint" / staged.name).absolute()
        target.parent.mkdir(exist_ok=True)
        os.rename(staged, target)
        return f"file:{target}"


def staged_outputs(path: Path) -> list[str]:
    """The output files under a staging directory, as workdir-relative names (``dataset/main.parquet``)."""
    return [
        file.relative_to(path).as_posix()
        for folder in OUTPUT_DIRS
        for file in sorted((path / folder).rglob("*"))
        if file.is_file()
    ]


def remove_leftovers(root: Path) -> list[str]:
    """Remove the staging directories (and manifest temp file) of runs that were killed; returns their names."""
    removed = []
    for entry in sorted(root.iterdir()):
        if entry.name.startswith(STAGING_PREFIX) and entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry.name)
    (root / f".{MANIFEST}.tmp").unlink(missing_ok=True)
    return removed


def _lock(root: Path) -> IO[str]:
    """An exclusive lock on the workdir for one bootstrap (released when the process ends, even by SIGKILL)."""
    handle = open(root / LOCK_FILE, "a+")  # noqa: SIM115 - held until Staging exits
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "?"
        handle.close()
        raise WorkdirError(f"workdir {root}: another bootstrap (pid {holder}) is running in it") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle
