"""``rankstream update`` on a real Kafka broker: it continues the bootstrap's savepoint into Redis exactly as one
embedded run over every event would have left it, survives kill -9, and skips bad messages naming them."""

from __future__ import annotations

import json
import time

import pytest
from confluent_kafka import Producer

from feature_ops.config import ConfigError
from jobs.update.resume import read_update_manifest
from jobs.upload import upload
from tests.update_helpers import (
    copy_workdir,
    kill_update,
    make_config,
    reference,
    start_update,
    stop_update,
    update_in_thread,
    wait_for_checkpoint,
    wait_for_values,
    write_config,
)

pytestmark = [pytest.mark.flink, pytest.mark.redis]


def produce(broker, topic: str, values: list[bytes]) -> None:
    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 5})
    for value in values:
        producer.produce(topic, value)
    assert producer.flush(30) == 0


def kafka_source(broker, topic: str) -> dict:
    return {"type": "kafka", "brokers": [broker.bootstrap], "topic": topic, "groupId": "rankstream-test",
            "offset": "earliest"}  # fmt: skip


def test_update_from_the_bootstrap_savepoint_equals_upload_of_all_events(halves, kafka_broker, redis_db, tmp_path):
    workdir = copy_workdir(halves, tmp_path / "wd")
    config = make_config(workdir, tmp_path, redis_db.port, kafka_source(kafka_broker, "equal"))
    expected = reference(tmp_path, halves.first + halves.second, redis_db.port, db=1)
    upload(config)
    bad = [b"not json", b'{"event": "item", "timestamp": 1}', b"\xff\xfe"]
    produce(kafka_broker, "equal", [line.encode() for line in halves.second] + bad)
    with update_in_thread(config) as job:
        wait_for_values(redis_db.port, expected, job["failed"])
        time.sleep(1)  # the bad messages come last: their batch is written before they are logged
    first_bad = len(halves.second)
    assert (workdir / "update" / "bad-messages.log").read_text().splitlines() == [
        f"topic equal, partition 0, offset {first_bad}: invalid JSON: invalid literal, expected 'null': line 1 column 1 (char 0)",
        f"topic equal, partition 0, offset {first_bad + 1}: required field 'id' is missing",
        f"topic equal, partition 0, offset {first_bad + 2}: message is not valid UTF-8",
    ]
    result = job["result"]
    assert result.restored.origin == "bootstrap savepoint" and result.events == first_bad + 3
    assert read_update_manifest(workdir)["savepoint"] == result.savepoint
    assert f"skipped topic equal, partition 0, offset {first_bad}: invalid JSON: invalid literal, expected 'null': " \
           "line 1 column 1 (char 0)" in job["say"]


def test_a_missing_topic_is_reported_before_the_job_starts(kafka_broker, tmp_path):
    from jobs.update.kafka import check_topic

    source = make_config(tmp_path, tmp_path, 6379, kafka_source(kafka_broker, "no-such-topic")).inference.source
    with pytest.raises(ConfigError) as e:
        check_topic(source)
    assert str(e.value) == f"inference.source: Kafka topic 'no-such-topic' does not exist on {kafka_broker.bootstrap}"


def test_bad_message_under_errors_fail_stops_the_job_naming_it(halves, kafka_broker, redis_db, tmp_path):
    from jobs.flink.errors import FlinkJobError

    workdir = copy_workdir(halves, tmp_path / "wd")
    config = make_config(workdir, tmp_path, redis_db.port, kafka_source(kafka_broker, "strict"), errors="fail")
    produce(kafka_broker, "strict", [halves.second[0].encode(), b"{oops"])
    with pytest.raises(FlinkJobError) as failure, update_in_thread(config) as job:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            job["failed"]()
            time.sleep(0.5)
    assert failure.value.reason == ("topic strict, partition 0, offset 1: invalid JSON: "
                                    "unexpected character, expected a string key: line 1 column 2 (char 1)")


def test_kill_9_mid_stream_then_restart_gives_the_same_values(halves, kafka_broker, redis_db, tmp_path):
    workdir = copy_workdir(halves, tmp_path / "wd")
    config = make_config(workdir, tmp_path, redis_db.port, kafka_source(kafka_broker, "crash"), batchSize=64)
    path = write_config(tmp_path / "config.yml", config)
    expected = reference(tmp_path, halves.first + halves.second, redis_db.port, db=1)
    upload(config)
    part = len(halves.second) // 2
    produce(kafka_broker, "crash", [line.encode() for line in halves.second[:part]])
    job = start_update(path, tmp_path / "update.log")
    try:
        wait_for_checkpoint(workdir)
        produce(kafka_broker, "crash", [line.encode() for line in halves.second[part:]])
    finally:
        kill_update(job)
    job = start_update(path, tmp_path / "update.log")
    try:
        wait_for_values(redis_db.port, expected)
    finally:
        stopped = stop_update(path, job)
    log = (tmp_path / "update.log").read_text()
    assert "restoring from checkpoint: file:" in log, log
    manifest = read_update_manifest(workdir)
    assert stopped.stdout == f"update: stopped; savepoint {manifest['savepoint']}\n"
    assert json.loads((workdir / "update.json").read_text())["restored_from"].startswith((workdir / "checkpoints").as_uri())
