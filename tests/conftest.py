"""Shared fixtures: a real redis-server, moto_server as S3, and a small bootstrapped sample of the RankLens example.

Redis: started once per session on 127.0.0.1 and a free port (no persistence, its own directory), or an
already running one when RANKSTREAM_TEST_REDIS_PORT is set. Without ``redis-server`` on PATH the tests that
need it fail with "redis-server not found: run `make install`".
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import yaml

from feature_ops.config import Config, parse_config
from jobs.embedded import bootstrap_embedded
from jobs.generate import generate
from serving.redis_store import RedisValueStore
from serving.testing import MISSING, MotoServer, RedisServer

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "ranklens" / "config.yml"
SAMPLE_SIZES = {"items": 150, "users": 60, "rankings": 500, "ranking_size": 16}


@dataclass(frozen=True)
class RedisAddress:
    host: str
    port: int


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory) -> RedisAddress:
    reuse = os.environ.get("RANKSTREAM_TEST_REDIS_PORT")
    if reuse:
        yield RedisAddress("127.0.0.1", int(reuse))
        return
    try:
        server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    except RuntimeError as e:
        if str(e) == MISSING:
            pytest.fail(MISSING, pytrace=False)
        raise
    yield RedisAddress(server.host, server.port)
    server.stop()


@pytest.fixture
def redis_db(redis_server) -> RedisAddress:
    """The session's Redis, emptied before the test."""
    redis.Redis(host=redis_server.host, port=redis_server.port).flushdb()
    return redis_server


@pytest.fixture
def redis_store(redis_db):
    store = RedisValueStore(redis_db.host, redis_db.port)
    yield store
    store.close()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """moto_server on 127.0.0.1 for the session, with the AWS environment pointing at it (test credentials,
    path-style endpoint) and S3 workdirs' scratch in a temp dir, from the first test that asks for it."""
    with MotoServer() as server, pytest.MonkeyPatch.context() as env:
        env.setenv("RANKSTREAM_SCRATCH", str(tmp_path_factory.mktemp("s3-scratch")))
        for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL_S3", "AWS_SESSION_TOKEN"):
            env.delenv(name, raising=False)
        env.setenv("AWS_ENDPOINT_URL", server.url)
        env.setenv("AWS_ACCESS_KEY_ID", "test")
        env.setenv("AWS_SECRET_ACCESS_KEY", "test")
        env.setenv("AWS_DEFAULT_REGION", "us-east-1")
        env.setenv("AWS_EC2_METADATA_DISABLED", "true")
        yield server


def new_bucket(prefix: str = "rs") -> str:
    """A fresh bucket on the session's S3 server; returns ``s3://<name>``."""
    from serving.s3 import client

    name = f"{prefix}-{uuid.uuid4().hex[:10]}"
    client().create_bucket(Bucket=name)
    return f"s3://{name}"


def s3_config(config: Config, workdir: str, events: str, **bootstrap) -> Config:
    """``config`` with an ``s3://`` workdir and input, and the xgboost model next to the outputs."""
    from serving.s3 import join

    raw = config_dict(config)
    raw["bootstrap"].update(workdir=workdir, source={"type": "file", "path": events}, **bootstrap)
    raw["models"]["xgboost"]["path"] = join(workdir, "models", "xgboost.model")
    return parse_config(raw, env={})


def example_config(workdir: Path, events: Path, state: dict | None = None, models: dict | None = None,
                   **inference) -> Config:  # fmt: skip
    """The 17-feature RankLens example pointed at ``workdir``/``events``, plus noop and shuffle models."""
    raw = yaml.safe_load(EXAMPLE.read_text())
    raw["bootstrap"].update(workdir=str(workdir), source={"type": "file", "path": str(events)})
    raw["models"]["xgboost"]["path"] = str(workdir / "models" / "xgboost.model")
    raw["models"]["noop"] = {"type": "noop"}
    raw["models"]["shuffle"] = {"type": "shuffle", "maxPositionChange": 3}
    raw["models"].update(models or {})
    raw["inference"].update(state=state or {"type": "memory"}, **inference)
    return parse_config(raw, env={})


def config_dict(config: Config) -> dict:
    return config.model_dump(mode="json", by_alias=True, exclude_none=True)


def with_state(config: Config, state: dict, **inference) -> Config:
    """The same config with another ``inference.state`` (and other inference keys)."""
    raw = config_dict(config)
    raw["inference"].update(state=state, **inference)
    return parse_config(raw, env={})


@dataclass(frozen=True)
class Sample:
    root: Path
    events: Path
    workdir: Path
    config: Config


@pytest.fixture(scope="session")
def sample(tmp_path_factory) -> Sample:
    """A generated sample bootstrapped (embedded) with the example config: dataset and latest values."""
    root = tmp_path_factory.mktemp("sample")
    summary = generate(root / "data", seed=11, **SAMPLE_SIZES)
    workdir = root / "workdir"
    config = example_config(workdir, summary.events_path)
    bootstrap_embedded(config)
    return Sample(root, summary.events_path, workdir, config)


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory):
    """One Apache Kafka broker (KRaft, loopback, free ports) for the session; its jars come from `make jars`."""
    from jobs.kafka_broker import KafkaBroker

    with KafkaBroker(tmp_path_factory.mktemp("kafka")) as broker:
        yield broker


@pytest.fixture(scope="session")
def halves(tmp_path_factory):
    """A small generated sample whose first half a Flink bootstrap replayed (for the update job's tests)."""
    from tests.update_helpers import bootstrap_halves

    return bootstrap_halves(tmp_path_factory.mktemp("update-halves"))
