"""``inference.source: {type: kafka}`` as Flink's own ``KafkaSource`` (flink-connector-kafka, ``make jars``).

Offsets live in the source's checkpointed state (checkpoints and savepoints), never in the consumer group:
``offset`` only says where to start when the job has no position for the topic yet (the first run after a
bootstrap, or a changed topic: the source uid is derived from the topic). The group's committed offsets are
informational (``groupId`` names them in Kafka's tools). ``options`` go to the consumer as they are.
Each record becomes one line with its topic, partition and offset (``KafkaLineDeserializer``).
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

from pyflink.common import Types, WatermarkStrategy
from pyflink.datastream import DataStream, StreamExecutionEnvironment
from pyflink.datastream.connectors.kafka import KafkaOffsetsInitializer, KafkaSource
from pyflink.java_gateway import get_gateway

from feature_ops.config import ConfigError
from feature_ops.sources import KafkaSource as KafkaConfig
from feature_ops.types import parse_duration

JAR_DIR = Path(__file__).resolve().parents[2] / ".jars" / "flink"
DESERIALIZER = "rankstream.flink.KafkaLineDeserializer"


def connector_jars(jar_dir: Path = JAR_DIR) -> list[str]:
    """``file://`` URLs of the connector jars, or a ``ConfigError`` saying how to fetch them."""
    jars = sorted(jar_dir.glob("*.jar"))
    if not any(j.name.startswith("flink-connector-kafka") for j in jars) or not (jar_dir / "rankstream-flink.jar").exists():
        raise ConfigError(f"inference.source type kafka needs the Kafka connector jars in {jar_dir}: run `make jars`")
    return [j.absolute().as_uri() for j in jars]


def check_topic(source: KafkaConfig, timeout: float = 10.0) -> None:
    """Fail before submitting when the brokers do not answer or the topic does not exist (Flink's source would
    fail the job with a bare UnknownTopicOrPartitionException). Security options are passed on."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    brokers = ",".join(source.brokers)
    settings = {k: v for k, v in source.options.items() if k.startswith(("security.", "sasl.", "ssl."))}
    admin = AdminClient({"bootstrap.servers": brokers, "log_level": 0, **settings})
    try:
        topics = admin.list_topics(timeout=timeout).topics
    except KafkaException as e:
        raise ConfigError(f"inference.source: Kafka at {brokers} did not answer within {timeout:g} s ({e.args[0].str()})") from None
    if source.topic not in topics:
        raise ConfigError(f"inference.source: Kafka topic '{source.topic}' does not exist on {brokers}")


def starting_offsets(offset: str, now_ms: int | None = None) -> KafkaOffsetsInitializer:
    """``earliest``, ``latest``, ``ts=<epoch millis>`` or ``last=<duration>`` (counted back from now)."""
    if offset == "earliest":
        return KafkaOffsetsInitializer.earliest()
    if offset == "latest":
        return KafkaOffsetsInitializer.latest()
    kind, _, value = offset.partition("=")
    if kind == "ts":
        return KafkaOffsetsInitializer.timestamp(int(value))
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    return KafkaOffsetsInitializer.timestamp(now_ms - parse_duration(value))


def kafka_lines(env: StreamExecutionEnvironment, source: KafkaConfig) -> DataStream:
    """One line per Kafka record of ``source.topic`` (parallelism 1: the engine applies them in one order)."""
    builder = (
        KafkaSource.builder()
        .set_bootstrap_servers(",".join(source.brokers))
        .set_topics(source.topic)
        .set_group_id(source.groupId)
        .set_starting_offsets(starting_offsets(source.offset))
    )
    for key, value in source.options.items():
        builder.set_property(key, value)
    builder._j_builder.setDeserializer(get_gateway().jvm.__getattr__("rankstream").flink.KafkaLineDeserializer())
    uid = "kafka-" + hashlib.sha256(source.topic.encode()).hexdigest()[:12]
    stream = env.from_source(builder.build(), WatermarkStrategy.no_watermarks(), "kafka", type_info=Types.STRING())
    return stream.set_parallelism(1).uid(uid)
