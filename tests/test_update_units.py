"""The update job's logic without a cluster: config errors per source type, message locations, the items a batch
writes (upload's encoding), bad messages, the empty-restore guard, and where a job restarts from."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest

from feature_ops.config import ConfigError
from feature_ops.engine import Engine
from feature_ops.events import parse_event
from feature_ops.featureset import FeatureSet
from feature_ops.rejects import InputError
from feature_ops.routing import RouterEngine, apply_ops
from feature_ops.store import MemoryStore
from jobs.cli import main
from jobs.errors import WorkdirError
from jobs.flink.store import MapStateStore
from jobs.generate import generate
from jobs.update.engine import RS, US, UpdateRouter, split_line
from jobs.update.kafka import check_topic, connector_jars
from jobs.update.resume import (
    UpdateDirs,
    UpdateLock,
    remove_old_checkpoints,
    restore_point,
    running_pid,
)
from jobs.update.sink import changed_items
from serving.store import KeyLayout, ttl_items
from tests.test_flink_runtime import FakeMapState
from tests.update_helpers import make_config, write_config

SOURCES = {
    "pulsar": {"type": "pulsar", "serviceUrl": "pulsar://127.0.0.1:6650", "adminUrl": "http://127.0.0.1:8080",
               "topic": "events", "subscriptionName": "rs", "subscriptionType": "exclusive", "offset": "earliest"},
    "kinesis": {"type": "kinesis", "topic": "events", "offset": "earliest", "region": "us-east-1"},
    "file": {"type": "file", "path": "/tmp/events"},
    "kafka": {"type": "kafka", "brokers": ["127.0.0.1:9092"], "topic": "events", "groupId": "g", "offset": "earliest"},
}  # fmt: skip


def run_cli(tmp_path, capsys, source: dict, state: dict | None = None, *args: str) -> tuple[int, str]:
    config = make_config(tmp_path / "wd", tmp_path, 6379, SOURCES["kafka"])
    raw = config.model_dump(mode="json", by_alias=True, exclude_none=True)
    raw["inference"]["source"] = source
    if state is not None:
        raw["inference"]["state"] = state
    path = tmp_path / "config.yml"
    path.write_text(json.dumps(raw))
    code = main(["update", str(path), *args])
    return code, capsys.readouterr().err


@pytest.mark.parametrize(("source", "state", "message"), [
    ("pulsar", None, "inference.source: type 'pulsar' is not supported by rankstream update yet, use kafka or rest"),
    ("kinesis", None, "inference.source: type 'kinesis' is not supported by rankstream update yet, use kafka or rest"),
    ("file", None, "inference.source: type 'file' is for bootstrap.source; rankstream update reads kafka or rest"),
    ("kafka", {"type": "memory"}, "inference.state: rankstream update writes feature values to Redis, use type: redis "
                                  "(with type: memory the API applies /feedback events itself)"),
])  # fmt: skip
def test_sources_and_states_the_update_job_cannot_run_are_config_errors(tmp_path, capsys, source, state, message):
    assert run_cli(tmp_path, capsys, SOURCES[source], state) == (2, f"error: {message}\n")


@pytest.mark.parametrize(("change", "message"), [
    ({"offset": "yesterday"}, "inference.source.offset: offset yesterday is not supported, expected earliest, latest, "
                              "ts=<millis> or last=<N><s|m|h|d>"),
    ({"brokers": []}, "inference.source.brokers: list should have at least 1 item after validation, not 0"),
    ({"topic": None}, "inference.source.topic: input should be a valid string, got None"),
])  # fmt: skip
def test_kafka_source_keys_are_checked_with_their_path(tmp_path, capsys, change, message):
    code, err = run_cli(tmp_path, capsys, {**SOURCES["kafka"], **change})
    assert (code, err) == (2, f"error: {tmp_path / 'config.yml'}: {message}\n")


def test_missing_connector_jars_say_how_to_fetch_them(tmp_path):
    with pytest.raises(ConfigError) as e:
        connector_jars(tmp_path)
    assert str(e.value) == f"inference.source type kafka needs the Kafka connector jars in {tmp_path}: run `make jars`"


def test_unreachable_kafka_brokers_are_reported_before_the_job_starts():
    source = make_config(Path("/tmp"), Path("/tmp"), 6379, {**SOURCES["kafka"], "brokers": ["127.0.0.1:1"]}).inference.source
    with pytest.raises(ConfigError) as e:
        check_topic(source, timeout=0.5)
    assert str(e.value) == ("inference.source: Kafka at 127.0.0.1:1 did not answer within 0.5 s "
                            "(Failed to get metadata: Local: Broker transport failure)")  # fmt: skip


def test_a_workdir_without_a_flink_savepoint_is_refused(tmp_path, capsys):
    (tmp_path / "wd").mkdir()
    (tmp_path / "wd" / "manifest.json").write_text(json.dumps({"outputs": {}, "engine": "embedded", "run": "r"}))
    assert run_cli(tmp_path, capsys, SOURCES["kafka"]) == (2, (
        f"error: workdir {tmp_path / 'wd'}: the last bootstrap left no savepoint (engine embedded); "
        "run `rankstream bootstrap --engine flink` first\n"))  # fmt: skip


def test_stop_without_a_running_job(tmp_path, capsys):
    (tmp_path / "wd").mkdir()
    assert run_cli(tmp_path, capsys, SOURCES["kafka"], None, "--stop") == (
        2, f"error: workdir {tmp_path / 'wd'}: no update job is running\n")


def test_one_update_job_per_workdir(tmp_path):
    with UpdateLock(tmp_path):
        assert running_pid(tmp_path) == os.getpid()
        with pytest.raises(WorkdirError) as e, UpdateLock(tmp_path):
            pass
    assert str(e.value) == (f"workdir {tmp_path}: an update job (pid {os.getpid()}) is already running; "
                            "stop it with `rankstream update --stop`")  # fmt: skip
    assert running_pid(tmp_path) is None


@pytest.mark.parametrize(("line", "location", "text"), [
    (f"events{US}3{US}17{US}{{}}", "topic events, partition 3, offset 17", "{}"),
    (f"events{US}0{US}5{US}a{US}b", "topic events, partition 0, offset 5", f"a{US}b"),
    (f"{RS}1700000000000-0{US}{{}}", "stream rs@feedback, id 1700000000000-0", "{}"),
])  # fmt: skip
def test_every_message_keeps_where_it_came_from(line, location, text):
    assert split_line(line, "rs@feedback") == (location, text)


@pytest.fixture(scope="module")
def events(tmp_path_factory) -> list[str]:
    root = tmp_path_factory.mktemp("update-units")
    generate(root, items=40, users=20, rankings=60, ranking_size=8)
    return gzip.decompress((root / "events" / "events.jsonl.gz").read_bytes()).decode().splitlines()


def engine_lines(lines: list[str]) -> list[str]:
    return [f"t{US}0{US}{n}{US}{line}" for n, line in enumerate(lines)]


def router(tmp_path, config, restored=None) -> UpdateRouter:
    states = {ns: FakeMapState() for ns in RouterEngine(config, MemoryStore()).namespaces}
    (tmp_path / "update").mkdir(exist_ok=True)
    return UpdateRouter(config, MapStateStore(states), str(tmp_path / "update"), restored)


def test_the_state_hosts_write_what_upload_writes_for_the_records_they_changed(tmp_path, events):
    config = make_config(tmp_path, tmp_path, 6379, SOURCES["kafka"])
    update = router(tmp_path, config)
    update.process_batch(0, engine_lines(events))
    ops = [op for bucket_ops in update.engine.take()[0].values() for op in bucket_ops]
    features = FeatureSet(config.all_features)
    store = MapStateStore({ns: FakeMapState() for ns in features.namespaces.values()})
    apply_ops(features, store, ops)
    items = changed_items(features, KeyLayout(features, "rs"), store, ops)
    reference = Engine(config, MemoryStore())
    for line in events:
        reference.process(parse_event(json.loads(line)))
    expected = ttl_items(reference.features, KeyLayout(reference.features, "rs"), reference.latest(), reference.clock)
    assert sorted(item[:3] for item in items) == sorted(item[:3] for item in expected)
    assert min(item[3] for item in items) > 0


def test_bad_messages_are_logged_with_their_location_or_stop_the_job(tmp_path, events):
    config = make_config(tmp_path, tmp_path, 6379, SOURCES["kafka"])
    update = router(tmp_path, config)
    update.process_batch(0, [*engine_lines([events[0], "[1"]), f"t{US}1{US}9{US}\x00message is not valid UTF-8"])
    assert update.engine.stats[parse_event(json.loads(events[0])).kind] == 1
    assert (tmp_path / "update" / "bad-messages.log").read_text() == (
        "topic t, partition 0, offset 1: invalid JSON: unexpected end of data: line 1 column 3 (char 2)\n"
        "topic t, partition 1, offset 9: message is not valid UTF-8\n")  # fmt: skip
    strict = router(tmp_path, make_config(tmp_path, tmp_path, 6379, SOURCES["kafka"], errors="fail"))
    with pytest.raises(InputError) as e:
        strict.process_batch(0, engine_lines(["{}"]))
    assert str(e.value) == "topic t, partition 0, offset 0: required field 'event' is missing"


def test_a_restore_that_brought_no_state_stops_the_job(tmp_path, events):
    update = router(tmp_path, make_config(tmp_path, tmp_path, 6379, SOURCES["kafka"]), restored="file:/sp")
    with pytest.raises(RuntimeError) as e:
        update.process_batch(0, engine_lines(events[:1]))
    assert str(e.value) == ("restored no feature state from file:/sp: it was written by another job graph (or another "
                            "execution mode); run the bootstrap again with this version")  # fmt: skip


def touch(path: Path, mtime: float) -> str:
    path.mkdir(parents=True, exist_ok=True)
    (path / "_metadata").write_text("")
    os.utime(path / "_metadata", (mtime, mtime))
    return path.as_uri()


def test_a_job_restarts_from_the_newest_checkpoint_or_stopped_savepoint_of_the_current_bootstrap(tmp_path):
    bootstrap = {"run": "r2", "savepoint": "file:/boot"}
    assert restore_point(UpdateDirs(tmp_path), bootstrap).origin == "bootstrap savepoint"
    touch(tmp_path / "checkpoints" / "r1" / "old-job" / "chk-9", 500)  # of an earlier bootstrap: ignored
    assert restore_point(UpdateDirs(tmp_path), bootstrap).path == "file:/boot"
    checkpoint = touch(tmp_path / "checkpoints" / "r2" / "job-a" / "chk-4", 100)
    touch(tmp_path / "checkpoints" / "r2" / "job-a" / "chk-5", 200)
    (tmp_path / "checkpoints" / "r2" / "job-a" / "chk-6").mkdir()  # not completed: no _metadata
    assert restore_point(UpdateDirs(tmp_path), bootstrap).path.endswith("job-a/chk-5") and checkpoint.endswith("chk-4")
    savepoint = touch(tmp_path / "savepoint" / "savepoint-x", 300)
    UpdateDirs(tmp_path).write_manifest({"bootstrap_run": "r2", "savepoint": savepoint})
    assert restore_point(UpdateDirs(tmp_path), bootstrap).origin == "savepoint of the stopped update job"
    UpdateDirs(tmp_path).write_manifest({"bootstrap_run": "r1", "savepoint": savepoint})
    assert restore_point(UpdateDirs(tmp_path), bootstrap).origin == "checkpoint"
    assert restore_point(UpdateDirs(tmp_path), bootstrap, "file:/mine").origin == "--savepoint"
    touch(tmp_path / "checkpoints" / "r2" / "job-b" / "chk-1", 400)
    assert remove_old_checkpoints(tmp_path, "r2", "job-b") == ["checkpoints/r1", "checkpoints/r2/job-a"]
    assert restore_point(UpdateDirs(tmp_path), bootstrap).path.endswith("job-b/chk-1")


def test_the_cli_config_file_round_trips(tmp_path):
    config = make_config(tmp_path, tmp_path, 6379, SOURCES["kafka"], linger="50ms")
    assert write_config(tmp_path / "c.yml", config).read_text().count("linger: 50ms") == 1
