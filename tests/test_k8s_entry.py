"""``python -m jobs.k8s.entry``: the jobs inside a FlinkDeployment run the CLI's drivers with the cluster's
REST port, the operator's restore path and the CR's parallelism, never a local cluster."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

from jobs.flink.errors import FlinkJobError
from jobs.k8s import entry
from tests.k8s_checks import REPO

CONFIG = str(REPO / "k8s" / "base" / "config.yml")


@pytest.fixture
def conf_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(entry.REST_PORT_ENV, "unset")  # restored (removed) after the test: main() sets it
    (tmp_path / "config.yaml").write_text(
        "rest:\n  port: 8181\nexecution.state-recovery.path: file:/data/flink/savepoints/savepoint-9f\n"
        "taskmanager:\n  numberOfTaskSlots: 1\n")
    return str(tmp_path)


def test_cluster_settings_flattens_nested_keys(conf_dir, tmp_path):
    assert entry.cluster_settings(conf_dir) == {
        "rest.port": "8181", "execution.state-recovery.path": "file:/data/flink/savepoints/savepoint-9f",
        "taskmanager.numberOfTaskSlots": "1"}
    assert entry.cluster_settings(str(tmp_path / "missing")) == {}


def test_bootstrap_runs_on_the_cluster_at_the_crs_parallelism(conf_dir, monkeypatch, capsys):
    import jobs.flink.bootstrap

    calls = []

    def bootstrap_flink(config, progress, status, local_cluster):
        calls.append((config.bootstrap.parallelism, local_cluster, os.environ[entry.REST_PORT_ENV]))
        return SimpleNamespace(events=1234, savepoint="file:/data/workdir/savepoint/savepoint-1")

    monkeypatch.setattr(jobs.flink.bootstrap, "bootstrap_flink", bootstrap_flink)
    assert entry.main(["bootstrap", CONFIG, "--parallelism", "4"], conf_dir) == 0
    assert calls == [(4, False, "8181")]
    assert capsys.readouterr().out == "bootstrap: 1,234 events, savepoint file:/data/workdir/savepoint/savepoint-1\n"


def test_update_restores_what_the_operator_asks_for(conf_dir, monkeypatch, capsys):
    import jobs.update.run

    calls, handlers = [], []

    def run_update(config, savepoint, parallelism, stop, progress, say):
        calls.append((savepoint, parallelism))
        return SimpleNamespace(events=10, savepoint="file:/data/workdir/savepoint/savepoint-2")

    monkeypatch.setattr(jobs.update.run, "run_update", run_update)
    monkeypatch.setattr(entry.signal, "signal", lambda signum, handler: handlers.append(signum))
    assert entry.main(["update", CONFIG], conf_dir) == 0
    assert calls == [("file:/data/flink/savepoints/savepoint-9f", 2)]
    assert handlers == [entry.signal.SIGTERM]
    assert capsys.readouterr().out == "update: stopped after 10 events; savepoint file:/data/workdir/savepoint/savepoint-2\n"


def test_flink_configuration_uses_the_clusters_rest_port(monkeypatch):
    from jobs.flink.runtime import flink_configuration

    monkeypatch.setenv(entry.REST_PORT_ENV, "8181")
    assert flink_configuration().get_string("rest.port", "") == "8181"
    assert flink_configuration(rest_port=9000).get_string("rest.port", "") == "9000"


@pytest.mark.parametrize("error, stopped", [
    (FlinkJobError("Flink job 'rankstream-update' (ab12) ended (FINISHED) before the engine host signalled "
                   "completion", "ab12"), True),
    (FlinkJobError("Flink job 'rankstream-update' (ab12) failed", "ab12", "Traceback ...", "bad line"), False),
    (FlinkJobError("Flink job 'rankstream-update' (ab12) ended (CANCELED) before the engine host signalled "
                   "completion", "ab12"), False),
])  # fmt: skip
def test_an_operator_stop_ends_the_driver_cleanly(conf_dir, monkeypatch, capsys, error, stopped):
    import jobs.update.run

    def run_update(*args, **kwargs):
        raise error

    monkeypatch.setattr(jobs.update.run, "run_update", run_update)
    monkeypatch.setattr(entry.signal, "signal", lambda signum, handler: None)
    if not stopped:
        with pytest.raises(FlinkJobError):
            entry.main(["update", CONFIG], conf_dir)
        return
    assert entry.main(["update", CONFIG], conf_dir) == 0
    assert capsys.readouterr().out == (
        "update: job ab12 stopped by the operator (its savepoint is in the FlinkDeployment's status)\n")


class _DoneResult:
    """A job result future that completed: ``error`` None for a job that finished cleanly."""

    def __init__(self, error: BaseException | None) -> None:
        self.error = error

    def result(self):
        if self.error is not None:
            raise self.error


class _Client:
    def __init__(self, error: BaseException | None) -> None:
        self.error = error

    def get_job_execution_result(self):
        return _DoneResult(self.error)


class _Rest:
    def root_exception(self, job_id: str) -> str:
        return ""


@pytest.mark.parametrize("error, headline", [
    (None, "Flink job 'rankstream-update' (ab12) ended (FINISHED) before the engine host signalled completion"),
    (RuntimeError("boom"), "Flink job 'rankstream-update' (ab12) failed"),
])  # fmt: skip
def test_a_finished_result_is_finished_while_rest_still_shows_running(error, headline):
    """Seen in CI: the operator's stop-with-savepoint completed the result while REST still said RUNNING,
    so the driver reported a failure instead of a stop."""
    from jobs.flink.failure import job_failure

    failure = job_failure(_Client(error), _Rest(), "ab12", "rankstream-update", "RUNNING")
    assert failure.headline == headline
    assert entry.stopped_by_operator(failure) is (error is None)
