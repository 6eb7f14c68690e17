"""``rankstream upload``: the bootstrap's latest values land in Redis with their TTLs, idempotently."""

from __future__ import annotations

import pytest
import redis
import yaml

from feature_ops.codec import decode
from feature_ops.config import ConfigError
from feature_ops.featureset import FeatureSet
from jobs.cli import main
from jobs.upload import upload
from jobs.workdir import WorkdirError, read_values
from serving.store import KeyLayout
from tests.conftest import config_dict, with_state

pytestmark = pytest.mark.redis


def redis_config(sample, address, **state):
    return with_state(sample.config, {"type": "redis", "host": address.host, "port": address.port, **state})


def dump(address) -> dict[bytes, dict[bytes, bytes]]:
    client = redis.Redis(host=address.host, port=address.port)
    return {key: client.hgetall(key) for key in client.scan_iter(count=1000)}


def test_upload_writes_every_live_record(sample, redis_db):
    config = redis_config(sample, redis_db)
    features = FeatureSet(config.all_features)
    records = list(read_values(sample.workdir, features))
    result = upload(config)
    assert result.keys + result.expired == len(records) and result.keys > 0
    assert result.used_memory > 0
    stored = dump(redis_db)
    assert sum(len(fields) for fields in stored.values()) == result.keys
    assert len(stored) == len({sid for _, sid, _ in records})
    layout = KeyLayout(features)
    state, sid, record = records[len(records) // 2]
    blob = stored[layout.key(sid).encode()][layout.fields[state].encode()]
    assert decode(features.specs[state], blob) == record


def test_upload_sets_the_largest_ttl_left_at_the_last_event(sample, redis_db):
    config = redis_config(sample, redis_db)
    features = FeatureSet(config.all_features)
    records = list(read_values(sample.workdir, features))
    last = max(r[1] for _, _, r in records)
    upload(config)
    client = redis.Redis(host=redis_db.host, port=redis_db.port)
    layout = KeyLayout(features)
    expected: dict[str, int] = {}
    for state, sid, record in records:
        ttl = record[1] + features.specs[state].ttl - last
        expected[sid] = max(expected.get(sid, 0), ttl)
    assert len(expected) > 20
    for sid in list(expected)[:: max(1, len(expected) // 20)]:
        assert expected[sid] - 5_000 < client.pttl(layout.key(sid)) <= expected[sid]


def test_upload_twice_leaves_the_same_state(sample, redis_db):
    config = redis_config(sample, redis_db, prefix="twice")
    first = upload(config)
    before = dump(redis_db)
    second = upload(config)
    assert second.keys == first.keys and dump(redis_db) == before
    assert all(key.startswith(b"twice:") for key in before)


def test_upload_progress_reports_keys_written(sample, redis_db):
    seen = []
    result = upload(redis_config(sample, redis_db), progress=seen.append, batch=500)
    assert seen[-1] == result.keys and seen == sorted(seen) and len(seen) == -(-result.keys // 500)


def test_upload_refuses_memory_state(sample):
    with pytest.raises(ConfigError) as error:
        upload(sample.config)
    assert str(error.value) == (
        "inference.state.type is 'memory': upload needs type: redis (memory state loads the workdir itself)"
    )


def test_upload_without_bootstrap_values(sample, redis_db, tmp_path):
    config = redis_config(sample, redis_db)
    config = config.model_copy(update={"bootstrap": config.bootstrap.model_copy(update={"workdir": str(tmp_path)})})
    with pytest.raises(WorkdirError) as error:
        upload(config)
    assert str(error.value) == (
        f"workdir {tmp_path}: no completed bootstrap (manifest.json missing); run `rankstream bootstrap`"
    )


def write_config(sample, tmp_path, state) -> str:
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(config_dict(with_state(sample.config, state))))
    return str(path)


def test_cli_upload_prints_a_summary(sample, redis_db, tmp_path, capsys):
    path = write_config(sample, tmp_path, {"type": "redis", "host": redis_db.host, "port": redis_db.port})
    assert main(["upload", path]) == 0
    out = capsys.readouterr().out
    assert out.startswith("upload: ") and " keys in " in out and "redis used_memory " in out and "MiB" in out


def test_cli_upload_reports_unreachable_redis(sample, tmp_path, capsys):
    from serving.testing import free_port

    port = free_port()
    path = write_config(sample, tmp_path, {"type": "redis", "host": "127.0.0.1", "port": port})
    assert main(["upload", path]) == 2
    assert capsys.readouterr().err == (
        f"error: state store is unreachable: redis 127.0.0.1:{port}/0: Error 111 connecting to "
        f"127.0.0.1:{port}. Connection refused.\n"
    )
