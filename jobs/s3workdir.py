"""An ``s3://bucket/prefix`` workdir: the layout of a local one (``jobs.workdir``) under a bucket prefix.

Commands work on local files and move them at the edges:

* ``bootstrap`` stages its outputs in a local directory as for a local workdir (``jobs.staging``), then
  ``publish`` uploads every output and ``manifest.json`` last: the manifest is the commit point, as the last
  rename is locally. A run that fails or is killed before it leaves the previous manifest, and readers refuse
  outputs whose sizes no longer match it (an interrupted upload).
* ``train``, ``upload``, ``api`` and ``update`` read through ``fetch``: the manifest, the sizes of every output
  it lists (one LIST), then the outputs they need, downloaded into a local copy and checked against their
  SHA-256.
* Flink writes savepoints and checkpoints straight to ``<workdir>/savepoint/`` and ``<workdir>/checkpoints/``
  through its S3 filesystem plugin (``jobs.flink.s3``).

The local side of an S3 workdir is ``scratch_root``: ``$RANKSTREAM_SCRATCH/<bucket>/<prefix>`` (default
``<tmp>/rankstream-scratch``), holding the bootstrap's lock and staging directory (a Flink job's TaskManagers
write its staged outputs there, so on a cluster it must be a volume shared by JobManager and TaskManagers),
the update job's lock and bad-message log, and the downloaded copies. Locks are per machine: two machines
bootstrapping into one S3 workdir at once are not prevented (the later manifest wins).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from jobs.errors import WorkdirError
from jobs.manifest import (
    MANIFEST,
    check_listed,
    check_outputs,
    file_entry,
    manifest_text,
    parse_manifest,
    write_manifest,
)
from serving import s3

COPY = "copy"


def scratch_root(uri: str) -> Path:
    """The local directory of S3 workdir ``uri`` (created)."""
    base = Path(os.environ.get("RANKSTREAM_SCRATCH") or Path(tempfile.gettempdir()) / "rankstream-scratch")
    bucket, prefix = s3.split(uri.rstrip("/"))
    root = base / bucket / prefix
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise WorkdirError(f"workdir {uri}: its local scratch directory {root} is not writable: {e.strerror} "
                           "(set RANKSTREAM_SCRATCH)") from None  # fmt: skip
    return root


def check_writable(uri: str) -> None:
    """Write and delete a probe object: a bootstrap learns that it cannot publish before it replays anything."""
    probe = s3.join(uri, ".write-test")
    s3.write_bytes(probe, b"")
    s3.delete(probe)


def publish(uri: str, staged: Path, names: list[str], manifest: dict) -> None:
    """Upload the staged outputs ``names`` into ``uri``, then the manifest."""
    for name in names:
        s3.upload(staged / name, s3.join(uri, name))
    s3.write_bytes(s3.join(uri, MANIFEST), manifest_text(manifest).encode())


def savepoint_dir(uri: str) -> str:
    return s3.join(uri, "savepoint")


def check_savepoint(uri: str, savepoint: str) -> str:
    """A bootstrap's savepoint must lie in ``<workdir>/savepoint/`` (Flink wrote it there directly)."""
    if not savepoint.startswith(savepoint_dir(uri) + "/"):
        raise WorkdirError(f"savepoint {savepoint} is not in {savepoint_dir(uri)}")
    return savepoint


def read_manifest(uri: str) -> dict:
    where = s3.join(uri, MANIFEST)
    if s3.head(where) is None:
        raise WorkdirError(
            f"workdir {uri}: no completed bootstrap ({MANIFEST} missing); run `rankstream bootstrap`"
        )
    return parse_manifest(uri, s3.read_bytes(where).decode())


def fetch(uri: str, *needed: str) -> Path:
    """A local copy of S3 workdir ``uri`` holding ``needed`` (names like ``values/values.jsonl.gz``) and a
    ``manifest.json`` listing those, after checking every output's size against the manifest."""
    manifest = read_manifest(uri)
    sizes = {o.uri: o.size for o in s3.listing(s3.join(uri, ""))}
    check_outputs(uri, manifest, lambda name: sizes.get(s3.join(uri, name)))
    check_listed(uri, manifest, needed)
    root = scratch_root(uri) / COPY
    for name in needed:
        _download(uri, name, manifest["outputs"][name], root / name)
    write_manifest(root, {**manifest, "workdir": uri, "outputs": {n: manifest["outputs"][n] for n in needed}})
    return root


def _download(uri: str, name: str, entry: dict, path: Path) -> None:
    if path.is_file() and file_entry(path) == entry:
        return
    s3.download(s3.join(uri, name), path)
    if file_entry(path) != entry:
        path.unlink()
        raise WorkdirError(f"workdir {uri}: {name} does not match {MANIFEST} (SHA-256; a bootstrap publishing "
                           "right now?); run the command again")  # fmt: skip
