"""Shared by the update job's tests: a Flink bootstrap over the first half of a generated sample, configs that
point the update job at a topic or the feedback stream, Redis snapshots and the reference values (``upload`` of
one embedded run over every event)."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis
import yaml

from feature_ops.config import Config, parse_config
from jobs.embedded import bootstrap_embedded
from jobs.generate import generate
from jobs.upload import upload

EXAMPLE = yaml.safe_load((Path(__file__).resolve().parent.parent / "examples" / "ranklens" / "config.yml").read_text())


@dataclass(frozen=True)
class Halves:
    first: list[str]
    second: list[str]
    workdir: Path
    """A completed Flink bootstrap over ``first`` (copy it before use: tests write into their workdir)."""


def make_config(workdir: Path, events: Path, redis_port: int, source: dict, db: int = 0, **update) -> Config:
    raw = {
        **EXAMPLE,
        "bootstrap": {**EXAMPLE["bootstrap"], "workdir": str(workdir), "source": {"type": "file", "path": str(events)},
                      "timestamps": {"min": 0}},
        "inference": {**EXAMPLE["inference"], "source": source,
                      "state": {"type": "redis", "host": "127.0.0.1", "port": redis_port, "db": db}},
        "update": {"checkpointInterval": "1s", **update},
    }  # fmt: skip
    return parse_config(raw, env={})


def write_config(path: Path, config: Config) -> Path:
    path.write_text(yaml.safe_dump(config.model_dump(mode="json", by_alias=True, exclude_none=True)))
    return path


def bootstrap_halves(root: Path) -> Halves:
    """The ``halves`` fixture (tests/conftest.py): a generated sample, its first half bootstrapped by Flink."""
    from jobs.flink.bootstrap import bootstrap_flink

    lines = split_sample(root)
    bootstrap_flink(make_config(root / "workdir", root / "first", 6379, {"type": "rest"}))
    return Halves(lines[: len(lines) // 2], lines[len(lines) // 2 :], root / "workdir")


def split_sample(root: Path) -> list[str]:
    """A small generated sample's event lines; the first half written to ``root/first/part-1.jsonl``."""
    generate(root / "data", items=100, users=40, rankings=300, ranking_size=10)
    lines = gzip.decompress((root / "data" / "events" / "events.jsonl.gz").read_bytes()).decode().splitlines()
    (root / "first").mkdir()
    (root / "first" / "part-1.jsonl").write_text("\n".join(lines[: len(lines) // 2]) + "\n")
    return lines


def s3_sample(root: Path, redis_port: int) -> tuple[Config, list[str]]:
    """(config, lines): ``split_sample``'s first half bootstrapped embedded into ``root/local``, and the same
    config with a fresh bucket's ``wd`` as workdir and the first half uploaded there as its input (``events/``)."""
    from serving import s3
    from tests.conftest import new_bucket, s3_config

    lines = split_sample(root)
    local = make_config(root / "local", root / "first", redis_port, {"type": "rest"}, batchSize=64)
    bootstrap_embedded(local)
    bucket = new_bucket()
    s3.write_bytes(f"{bucket}/events/part-1.jsonl", (root / "first" / "part-1.jsonl").read_bytes())
    return s3_config(local, f"{bucket}/wd", f"{bucket}/events"), lines


def assert_published_like(workdir: str, local: Path, scratch: Path) -> dict:
    """The S3 workdir's manifest lists the outputs of the local one, and each object holds its bytes (downloaded
    into ``scratch``); returns the S3 manifest."""
    from jobs.manifest import MANIFEST
    from serving import s3

    manifest = json.loads(s3.read_bytes(s3.join(workdir, MANIFEST)))
    assert manifest["outputs"] == json.loads((local / MANIFEST).read_text())["outputs"]
    for name in manifest["outputs"]:
        s3.download(s3.join(workdir, name), scratch / name)
        assert (scratch / name).read_bytes() == (local / name).read_bytes(), name
    return manifest


def copy_workdir(halves: Halves, target: Path) -> Path:
    shutil.copytree(halves.workdir, target)
    return target


def snapshot(port: int, db: int = 0, prefix: str = "rs") -> dict:
    """Every value hash under ``prefix`` (the feedback stream is not a value)."""
    client = redis.Redis(host="127.0.0.1", port=port, db=db)
    return {key: client.hgetall(key) for key in client.scan_iter(f"{prefix}:*")}


def reference(tmp: Path, lines: list[str], port: int, db: int) -> dict:
    """What ``upload`` of one embedded bootstrap over ``lines`` writes into Redis db ``db``."""
    (tmp / "all").mkdir()
    (tmp / "all" / "events.jsonl").write_text("\n".join(lines) + "\n")
    config = make_config(tmp / "reference", tmp / "all", port, {"type": "rest"}, db=db)
    bootstrap_embedded(config)
    redis.Redis(host="127.0.0.1", port=port, db=db).flushdb()
    upload(config)
    return snapshot(port, db)


def wait_for_values(port: int, expected: dict, failed=lambda: None, timeout: float = 120.0) -> dict:
    """Poll Redis db 0 until it holds exactly ``expected``; ``failed()`` may raise to stop waiting early."""
    deadline = time.monotonic() + timeout
    while True:
        got = snapshot(port)
        if got == expected:
            return got
        failed()
        if time.monotonic() > deadline:
            differ = sorted(k for k in set(got) | set(expected) if got.get(k) != expected.get(k))
            raise AssertionError(f"{len(differ)} keys differ after {timeout:.0f} s, e.g. {differ[:5]}")
        time.sleep(0.5)


def start_update(config_path: Path, log_path: Path) -> subprocess.Popen:
    """``rankstream update CONFIG`` in its own process group (so a test can kill -9 it with its JVM)."""
    log = open(log_path, "ab")  # noqa: SIM115 - the child holds it
    process = subprocess.Popen([sys.executable, "-m", "jobs.cli", "update", str(config_path)], stdout=log, stderr=log,
                               start_new_session=True)  # fmt: skip
    log.close()
    return process


def kill_update(job: subprocess.Popen) -> None:
    """kill -9 the update job's process group (its JVM too) if it still runs, and reap it."""
    if job.poll() is None:
        os.killpg(job.pid, signal.SIGKILL)
        job.wait(10)


def stop_update(config_path: Path, job: subprocess.Popen) -> subprocess.CompletedProcess:
    """``rankstream update --stop CONFIG``, then wait for the job's process (killed if that fails)."""
    try:
        stopped = subprocess.run([sys.executable, "-m", "jobs.cli", "update", "--stop", str(config_path)],
                                 capture_output=True, text=True, timeout=120)  # fmt: skip
        job.wait(60)
    finally:
        kill_update(job)
    return stopped


def wait_for_checkpoint(workdir: Path, timeout: float = 90.0) -> None:
    """Until the update job in ``workdir`` has completed a checkpoint."""
    deadline = time.monotonic() + timeout
    while not list((workdir / "checkpoints").glob("*/*/chk-*/_metadata")):
        assert time.monotonic() < deadline, "no checkpoint completed"
        time.sleep(0.3)


@contextmanager
def update_in_thread(config: Config, **kwargs):
    """``run_update`` in a thread; yields a dict that gets ``result`` (after the stop) or ``error``."""
    from jobs.update.run import run_update

    stop, out = threading.Event(), {"say": []}

    def run() -> None:
        try:
            out["result"] = run_update(config, stop=stop, say=out["say"].append, **kwargs)
        except BaseException as e:  # noqa: BLE001 - handed to the test
            out["error"] = e

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    out["failed"] = lambda: _reraise(out)
    try:
        yield out
    finally:
        stop.set()
        thread.join(120)
    _reraise(out)


def _reraise(out: dict) -> None:
    if "error" in out:
        raise out["error"]
