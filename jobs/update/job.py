"""The update job's graph: source -> ``engine_graph`` (the bootstrap's operators and state) -> Redis.

::

    kafka (KafkaSource, offsets in checkpoints) | feedback stream (timer-driven reader, position in state)  p1
      -> timed batcher: batches of update.batchSize, closed update.linger after their first line (ListState)
      -> the bootstrap's keyed graph (``jobs.flink.keyed``, uids "feature-engine-*"): router (p1) ->
         feature state by scope id (P subtasks), each writing the records it changed to Redis (``StateWriter``)

The graph keeps the bootstrap's uids, state names and execution mode (thread), so it restores the bootstrap's
savepoint; other operators have their own uids (``ignore-unclaimed-state`` drops the bootstrap's source).
"""

from __future__ import annotations

from pathlib import Path

from pyflink.datastream import DataStream, StreamExecutionEnvironment

from feature_ops.config import Config, ConfigError
from feature_ops.engine import Engine
from feature_ops.sources import KafkaSource, RestSource
from feature_ops.store import MemoryStore
from jobs.flink.bootstrap import HOST_UID
from jobs.flink.pipeline import engine_graph
from jobs.flink.runtime import create_env, flink_configuration
from jobs.flink.s3 import initialize, s3_settings
from jobs.update.engine import UpdateFactory
from jobs.update.resume import UpdateDirs

BUFFER_TIMEOUT = "5ms"
"""How long a record may wait in a network buffer between operators (Flink's default, 100 ms, per hop)."""


def check_update_config(config: Config) -> None:
    """Raise the ``ConfigError`` that says why ``rankstream update`` cannot run this config, if any."""
    source = config.inference.source
    if source.type in ("pulsar", "kinesis"):
        raise ConfigError(
            f"inference.source: type '{source.type}' is not supported by rankstream update yet, use kafka or rest"
        )
    if source.type == "file":
        raise ConfigError("inference.source: type 'file' is for bootstrap.source; rankstream update reads kafka or rest")
    if config.inference.state.type != "redis":
        raise ConfigError(
            "inference.state: rankstream update writes feature values to Redis, use type: redis "
            "(with type: memory the API applies /feedback events itself)"
        )


def source_lines(env: StreamExecutionEnvironment, config: Config, update_dir: Path) -> DataStream:
    source = config.inference.source
    if isinstance(source, KafkaSource):
        from jobs.update.kafka import check_topic, kafka_lines

        check_topic(source)
        return kafka_lines(env, source)
    assert isinstance(source, RestSource)
    from jobs.update.feedback import feedback_lines

    return feedback_lines(env, config.inference.state, config.update.pollInterval, update_dir)


def settings(config: Config, dirs: UpdateDirs, restore_from: str | None, parallelism: int, checkpoints: str):
    extra = {
        "execution.checkpointing.interval": f"{config.update.checkpointInterval}ms",
        "execution.checkpointing.storage": "filesystem",
        "execution.checkpointing.dir": checkpoints,
        "execution.checkpointing.savepoint-dir": dirs.uri("savepoint"),
        "execution.checkpointing.num-retained": "2",
        "execution.buffer-timeout.interval": BUFFER_TIMEOUT,
    }
    if config.inference.source.type == "kafka":
        from jobs.update.kafka import connector_jars

        extra["pipeline.jars"] = ";".join(connector_jars())
    if dirs.remote is not None:
        extra.update(s3_settings())
    return flink_configuration(parallelism=parallelism, restore_from=restore_from, extra=extra)


def build_update_job(config: Config, dirs: UpdateDirs, restore_from: str | None, parallelism: int,
                     checkpoints: str, expect_state: bool = True) -> StreamExecutionEnvironment:  # fmt: skip
    """The environment holding the update job, ready for ``execute_async``; with ``expect_state`` the job
    fails at its first batch if ``restore_from`` gave the engine no state. Checkpoints go to URI ``checkpoints``."""
    update_dir = dirs.local / "update"
    update_dir.mkdir(exist_ok=True)
    job_settings = settings(config, dirs, restore_from, parallelism, checkpoints)
    if dirs.remote is not None:
        initialize(job_settings)
    env = create_env(job_settings)
    namespaces = Engine(config, MemoryStore()).namespaces
    lines = source_lines(env, config, update_dir)
    factory = UpdateFactory(config, str(update_dir), restore_from if expect_state else None)
    engine_graph(lines, factory, namespaces, batch_size=config.update.batchSize, host_uid=HOST_UID,
                 linger_ms=config.update.linger)  # fmt: skip
    return env
