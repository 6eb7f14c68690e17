"""``<workdir>/manifest.json``: what the last completed bootstrap published, and the check readers run on it.

The manifest is written last (temp file + rename) and lists every output with its size and SHA-256::

    "outputs": {"dataset/xgboost.parquet": {"bytes": 81234, "sha256": "9f2c..."}, ...}

``train``, ``upload`` and ``api`` open the workdir through ``check_workdir``: no manifest means no
bootstrap ever completed; an output whose size differs from its entry means a run was interrupted while
publishing (or the file was damaged). Sizes are checked on every open (a few ``stat`` calls); the checksums
are there for a deliberate check (``sha256sum``) and to tell two runs' outputs apart.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

from jobs.errors import WorkdirError

MANIFEST = "manifest.json"
AGAIN = "run `rankstream bootstrap` again"


def file_entry(path: Path, fsync: bool = False) -> dict:
    """Size and SHA-256 of one output file; ``fsync`` also flushes it to disk (one open for both)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
        if fsync:
            os.fsync(f.fileno())
        size = os.fstat(f.fileno()).st_size
    return {"bytes": size, "sha256": digest.hexdigest()}


def manifest_text(manifest: dict) -> str:
    return json.dumps(manifest, indent=2, sort_keys=True) + "\n"


def write_manifest(root: Path, manifest: dict, name: str = MANIFEST) -> Path:
    """Write ``manifest.json`` (or ``name``) atomically: a reader sees the old manifest or the new one, never a
    partial one."""
    path = root / name
    tmp = root / f".{name}.tmp"
    with open(tmp, "w") as f:
        f.write(manifest_text(manifest))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(root)
    return path


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_manifest(root: Path) -> dict:
    """The manifest of the last completed bootstrap, or a ``WorkdirError`` saying there is none."""
    try:
        text = (root / MANIFEST).read_text()
    except FileNotFoundError:
        raise WorkdirError(
            f"workdir {root}: no completed bootstrap ({MANIFEST} missing); run `rankstream bootstrap`"
        ) from None
    except OSError as e:
        raise WorkdirError(f"workdir {root}: {MANIFEST} is damaged ({e}); {AGAIN}") from None
    return parse_manifest(str(root), text)


def parse_manifest(root: str, text: str) -> dict:
    """The manifest in ``text`` read from workdir ``root`` (a path or an ``s3://`` URI), checked for outputs."""
    try:
        manifest = json.loads(text)
    except ValueError as e:
        raise WorkdirError(f"workdir {root}: {MANIFEST} is damaged ({e}); {AGAIN}") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("outputs"), dict):
        raise WorkdirError(f"workdir {root}: {MANIFEST} lists no outputs (written by an older rankstream); {AGAIN}")
    return manifest


def check_outputs(root: Path | str, manifest: dict, size_of: Callable[[str], int | None] | None = None) -> None:
    """Every output the manifest lists exists with the size it recorded; ``size_of(name)`` gives an output's
    size or None when it is missing (default: the file's under ``root``)."""
    size_of = size_of or (lambda name: _size(Path(root) / name))
    for name, entry in sorted(manifest["outputs"].items()):
        size = size_of(name)
        if size is None:
            raise WorkdirError(f"workdir {root}: {name} is missing but listed in {MANIFEST} (interrupted run?); {AGAIN}")
        if size != entry["bytes"]:
            raise WorkdirError(
                f"workdir {root}: {name} does not match {MANIFEST} (interrupted run?): {size:,} bytes, "
                f"expected {entry['bytes']:,}; {AGAIN}"
            )


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return None


def check_listed(root: Path | str, manifest: dict, needed: tuple[str, ...]) -> None:
    for name in needed:
        if name not in manifest["outputs"]:
            raise WorkdirError(f"workdir {root}: the last bootstrap wrote no {name} (config changed since?); {AGAIN}")


def check_workdir(root: Path, *needed: str) -> dict:
    """The manifest of a completed bootstrap whose outputs match it and include ``needed`` (relative paths
    such as ``dataset/main.parquet``); otherwise a ``WorkdirError`` naming the problem."""
    manifest = read_manifest(root)
    check_outputs(root, manifest)
    check_listed(root, manifest, needed)
    return manifest
