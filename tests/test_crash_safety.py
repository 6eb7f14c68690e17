"""A bootstrap that fails or is killed leaves the previous outputs untouched; the next run cleans up after it."""

import json
import os
import shutil
import signal
import subprocess
import sys

import pytest
import yaml

from jobs import staging as staging_module
from jobs.cli import main
from jobs.embedded import bootstrap_embedded
from jobs.generate import generate
from jobs.staging import Staging
from jobs.train import train_models
from jobs.workdir import DatasetWriter, WorkdirError, completed_workdir
from tests.conftest import config_dict, example_config


def snapshot(workdir) -> dict[str, bytes]:
    """Every published file's bytes (the lock file only holds the pid of the last run)."""
    return {
        path.relative_to(workdir).as_posix(): path.read_bytes()
        for path in sorted(workdir.rglob("*"))
        if path.is_file() and path.name != ".bootstrap.lock" and ".staging-" not in path.as_posix()
    }


@pytest.fixture
def workdir(sample, tmp_path):
    return shutil.copytree(sample.workdir, tmp_path / "workdir")


@pytest.fixture(scope="module")
def big_events(tmp_path_factory):
    """Enough events (~16,000) for an embedded run of a few seconds: long enough to be killed mid-run."""
    return generate(tmp_path_factory.mktemp("big") / "data", seed=5, rankings=2500).events_path


def test_an_exception_mid_run_leaves_the_previous_outputs(workdir, sample, monkeypatch):
    before = snapshot(workdir)
    calls, add = [], DatasetWriter.add

    def failing_add(self, clickthrough):
        calls.append(1)
        if len(calls) == 50:
            raise RuntimeError("disk on fire")
        add(self, clickthrough)

    monkeypatch.setattr(DatasetWriter, "add", failing_add)
    with pytest.raises(RuntimeError, match="disk on fire"):
        bootstrap_embedded(example_config(workdir, sample.events))
    assert snapshot(workdir) == before
    assert not list(workdir.glob(".staging-*"))
    assert completed_workdir(str(workdir), "dataset/xgboost.parquet") == workdir


def test_a_run_stopped_while_publishing_is_detected(workdir, big_events, monkeypatch):
    def no_manifest(root, manifest):
        raise KeyboardInterrupt

    monkeypatch.setattr(staging_module, "write_manifest", no_manifest)
    with pytest.raises(KeyboardInterrupt):
        bootstrap_embedded(example_config(workdir, big_events))
    with pytest.raises(WorkdirError, match=r"^workdir .*: dataset/xgboost.parquet does not match manifest.json "
                                           r"\(interrupted run\?\): [0-9,]+ bytes, expected [0-9,]+; "
                                           r"run `rankstream bootstrap` again$"):
        completed_workdir(str(workdir), "dataset/xgboost.parquet")


def test_one_bootstrap_at_a_time_per_workdir(tmp_path):
    with Staging(tmp_path), pytest.raises(WorkdirError) as e:
        Staging(tmp_path)
    assert str(e.value) == f"workdir {tmp_path}: another bootstrap (pid {os.getpid()}) is running in it"
    with Staging(tmp_path) as again:  # released on exit
        assert again.path.is_dir()
    assert not again.path.exists()


def _config_file(tmp_path, workdir, events, name="config.yml") -> str:
    raw = config_dict(example_config(workdir, events))
    raw["models"]["xgboost"]["backend"]["iterations"] = 10
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw))
    return str(path)


def _kill_when_running(command: list[str], progress: str) -> None:
    """Start ``command``, wait for a stderr line containing ``progress``, then SIGKILL its process group."""
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        for line in proc.stderr:
            if progress in line:
                break
        else:
            pytest.fail(f"the bootstrap ended (exit {proc.wait()}) before printing {progress!r}")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL


def test_a_killed_bootstrap_leaves_the_previous_outputs_and_train_still_works(workdir, sample, big_events,
                                                                               tmp_path, capsys):  # fmt: skip
    before = snapshot(workdir)
    config = _config_file(tmp_path, workdir, big_events)
    _kill_when_running([sys.executable, "-m", "jobs.cli", "bootstrap", config, "--engine", "embedded"], " events, ")
    assert snapshot(workdir) == before
    leftovers = [p.name for p in workdir.glob(".staging-*")]
    assert len(leftovers) == 1 and (workdir / leftovers[0] / "dataset" / "xgboost.parquet").exists()

    model = config_dict(sample.config)["models"]["xgboost"]
    model.update(path=str(tmp_path / "model" / "xgboost.model"), backend={**model["backend"], "iterations": 10})
    [trained] = train_models(example_config(workdir, sample.events, models={"xgboost": model}), log=lambda _: None)
    assert trained.counts["rows"] == json.loads(before["manifest.json"])["dataset_rows"]["xgboost"]

    assert main(["bootstrap", _config_file(tmp_path, workdir, sample.events, "small.yml"), "--engine", "embedded"]) == 0
    assert f"  removed {leftovers[0]} (left by an interrupted run)\n" in capsys.readouterr().err
    assert not list(workdir.glob(".staging-*"))
    assert snapshot(workdir)["dataset/xgboost.parquet"] == before["dataset/xgboost.parquet"]
