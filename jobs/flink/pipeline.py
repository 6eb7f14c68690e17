"""Wire source -> batcher -> keyed engine host into one DataStream."""

from __future__ import annotations

from pyflink.common import Types
from pyflink.common.typeinfo import TypeInformation
from pyflink.datastream import DataStream, StreamExecutionEnvironment

from jobs.flink.host import DEFAULT_BATCH_SIZE, Batcher, EngineFactory, EngineHost
from jobs.flink.keyed import KeyedFactory, keyed_graph
from jobs.flink.runtime import done_path
from jobs.flink.sources import ordered_file_stream
from jobs.flink.timed_batcher import timed_batches


def _shard_of(batch: tuple) -> int:
    return batch[0]


def engine_stream(
    env: StreamExecutionEnvironment,
    files: list[str],
    control_dir: str,
    engine_factory: EngineFactory,
    namespaces: list[str],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    host_uid: str = "engine-host",
    output_type: TypeInformation | None = None,
) -> DataStream:
    """The engine's outputs over ``files`` (in order); the host signals completion in ``control_dir``.

    Keep ``host_uid`` stable between a bootstrap and the jobs restored from its savepoint;
    the source uid is derived from the file list, so a restored job reads only its new files.
    """
    lines = ordered_file_stream(env, files, control_dir)
    return engine_graph(lines, engine_factory, namespaces, done_path(control_dir),
                        batch_size=batch_size, host_uid=host_uid, output_type=output_type)


def engine_graph(
    lines: DataStream,
    engine_factory: EngineFactory,
    namespaces: list[str],
    done_file: str | None = None,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    host_uid: str = "engine-host",
    output_type: TypeInformation | None = None,
    linger_ms: int | None = None,
) -> DataStream:
    """The operator graph every job shares: any stream of JSON event lines -> batcher -> keyed engine host.

    The bootstrap feeds it the ordered files; a streaming job can feed it any other line source and
    restore the host's state from the bootstrap savepoint (same ``host_uid``). With ``linger_ms`` (the
    update job) batches also close that long after their first line, and wait in checkpointed state.
    A ``KeyedFactory`` (the bootstrap's) runs on the keyed graph instead (``jobs.flink.keyed``): feature
    state partitioned by scope id over the job's parallelism, ``maxParallelism`` 128.
    """
    if isinstance(engine_factory, KeyedFactory):
        return keyed_graph(lines, engine_factory, done_file, batch_size=batch_size, uid=host_uid, linger_ms=linger_ms)
    if linger_ms is not None:
        batches = timed_batches(lines, batch_size, linger_ms)
    else:
        batches = (
            lines
            .flat_map(Batcher(batch_size), output_type=Types.PICKLED_BYTE_ARRAY())
            .name("batcher")
            .uid("batcher")
            .set_parallelism(1)
        )
    host = EngineHost(engine_factory, namespaces, done_file)
    return (
        batches.key_by(_shard_of, key_type=Types.INT())
        .process(host, output_type=output_type or Types.PICKLED_BYTE_ARRAY())
        .name("engine-host")
        .uid(host_uid)
    )
