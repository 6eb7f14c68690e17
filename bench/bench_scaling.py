"""Flink bootstrap scaling: the keyed graph at parallelism 1 (MiniCluster) and 2 (two one-slot TaskManagers),
against the single-shard graph it replaced and against what this machine gives a job with no serial part.

Prints one JSON line per figure, all from the same run:

* ``{"bench": "flink_single_shard", "events_per_s": x0, ...}``: the baseline the issue names, the whole engine
  in one keyed operator with one key (``jobs.flink.host.EngineHost``, as the bootstrap ran before the keyed
  graph), on today's engine code, in a MiniCluster;
* ``{"bench": "flink_scaling", "parallelism": p, "taskmanagers": t, "events_per_s": x, "speedup": x / x1,
  "per_core_vs_single_shard": x / t / x0, "serial_share": (router + rows operator CPU seconds) / job seconds,
  "jvm_cpu_seconds": c, "cpu_vs_p1": c / c1, ...}`` per p (both parallelism-1 operators, in the first
  TaskManager's interpreter; ``c``: CPU seconds of every JVM of the run from job submission, Python included:
  the MiniCluster, or the local cluster's JobManager and TaskManagers);
* ``{"bench": "flink_scaling_ceiling", "parallelism": p, "speedup": ...}``: a job of fixed pure-Python work
  per record keyed over 128 key groups (no serial part, no records between Python operators) on the same
  cluster kinds, timed after a warm-up job on the same cluster: the speedup this machine allows any
  thread-mode job.

Events/s count from job submission to the savepoint (``job_seconds``): the local cluster's start (10-25 s)
is left out, like the MiniCluster's JVM start; the wall-clock figure with everything is
``wall_events_per_s``. Every run's outputs are checked to be the bytes of the first (the baseline's).
``make bench`` runs it on four times the sample, so the JIT and the TaskManagers' start-up weigh less.

    python bench/bench_scaling.py [--config examples/ranklens/config.yml] [--events DIR] [--parallelism 1 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from pyflink.datastream import KeyedProcessFunction

from feature_ops.config import Config, load_config
from feature_ops.engine import Engine
from feature_ops.reader import Rejects, event_files
from feature_ops.store import MemoryStore
from jobs.embedded import Replay
from jobs.flink.bootstrap import bootstrap_flink
from jobs.flink.inputs import InputPlan, StagedDecoder, plan_inputs

OUTPUTS = ("dataset", "values/values.jsonl.gz")


class SingleShardEngine:
    """The baseline's engine (``EngineHost`` hosts it): decodes lines into the embedded ``Replay``."""

    def __init__(self, config: Config, store, root: str, plan: InputPlan) -> None:
        self.root = Path(root)
        self.decode = StagedDecoder(plan, Rejects(config.bootstrap.errors), config.bootstrap.timestamps.window())
        self.replay = Replay(config, store, self.root)

    def process_batch(self, first: int, lines: list[str]) -> list:
        for offset, line in enumerate(lines):
            event = self.decode(line, first + offset)
            if event is not None:
                self.replay.process(event)
        return []

    def finish(self) -> list:
        self.replay.finish()
        (self.root / "_events").write_text(str(self.replay.events))
        return []


class SingleShardFactory:
    def __init__(self, config: Config, root: str, plan: InputPlan) -> None:
        self.config, self.root, self.plan = config, root, plan

    def __call__(self, store) -> SingleShardEngine:
        return SingleShardEngine(self.config, store, self.root, self.plan)


def single_shard(config: Config, root: Path) -> tuple[int, float, float]:
    """(events, job seconds, wall seconds) of the bootstrap on the single-shard graph, outputs in ``root``."""
    from jobs.flink.bootstrap import BATCH_SIZE
    from jobs.flink.pipeline import engine_stream
    from jobs.flink.runtime import create_env, flink_configuration, run_to_savepoint

    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    started = time.perf_counter()
    plan = plan_inputs(event_files(config.bootstrap.source.path), root / "_input")
    env = create_env(flink_configuration(parallelism=1, extra={
        "execution.checkpointing.storage": "filesystem",
        "execution.checkpointing.dir": (root / "checkpoints").absolute().as_uri()}))  # fmt: skip
    namespaces = Engine(config, MemoryStore()).namespaces
    (engine_stream(env, plan.paths, str(root / "flink-control"), SingleShardFactory(config, str(root), plan),
                   namespaces, host_uid="single-shard", batch_size=BATCH_SIZE)
     .map(lambda x: x).name("sink"))  # fmt: skip
    run = run_to_savepoint(env, "rankstream-single-shard", str(root / "flink-control"), str(root / "savepoint"),
                           plan.total)  # fmt: skip
    return int((root / "_events").read_text()), run.seconds, time.perf_counter() - started


class Burn(KeyedProcessFunction):
    """The ceiling's work: a fixed pure-Python loop per record, no state, no output."""

    def __init__(self, loops: int) -> None:
        self.loops = loops

    def process_element(self, value, ctx):
        x = 0
        for i in range(self.loops):
            x += i * i
        return iter(())


def ceiling_seconds(p: int, records: int, loops: int, root: Path) -> float:
    """Net seconds of ``records`` numbers keyed over 128 key groups, each burning ``loops`` iterations of
    Python, on the bootstrap's cluster kind for ``p`` (MiniCluster at 1, ``p`` one-slot TaskManagers above).
    A job of a tenth of the records runs first on the same cluster, untimed: the first job on a fresh cluster
    pays for each TaskManager's Python start-up and JIT (3-5 s more at p = 2 here), which made a short
    ceiling look like the machine (1.07-1.28x for 20,000 records on a cold cluster, 1.5-1.9x warm)."""
    from pyflink.common import Types, WatermarkStrategy
    from pyflink.datastream.connectors.number_seq import NumberSequenceSource

    from jobs.flink.cluster import LocalCluster
    from jobs.flink.runtime import create_env, flink_configuration

    def run(env, count: int) -> float:
        numbers = env.from_source(NumberSequenceSource(0, count - 1), WatermarkStrategy.no_watermarks(), "numbers")
        (numbers.key_by(lambda x: x % 128, key_type=Types.LONG()).process(Burn(loops)).set_max_parallelism(128)
         .name("burn"))  # fmt: skip
        return env.execute("rankstream-ceiling").get_net_runtime() / 1000

    def warm(env) -> float:
        run(env, max(records // 10, 128))
        return run(env, records)

    if p == 1:
        return warm(create_env(flink_configuration(parallelism=1)))
    with LocalCluster(p, root) as cluster:
        return warm(cluster.environment(flink_configuration(parallelism=p, rest_port=cluster.rest_port)))


class JvmCpu(threading.Thread):
    """CPU seconds (user + system) the JVMs whose command line names one of ``markers`` spend from ``start()``
    (or the last ``rebase()``) to ``stop()``: this process's gateway JVM (the MiniCluster at P = 1) and a local
    cluster's JobManager and TaskManagers (their log paths hold the run's workdir). Sampled twice a second, so
    a JVM that exits counts up to its last sample (a cluster's stop is its last half second)."""

    def __init__(self, *markers: str) -> None:
        super().__init__(daemon=True)
        self.markers, self.done, self.seen = markers, threading.Event(), {}
        self.tick = os.sysconf("SC_CLK_TCK")
        self.base, self.rebased = dict(self._sample()), False

    def _sample(self) -> Iterator[tuple[int, float]]:
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
                if "java" not in cmdline or not any(m in cmdline for m in self.markers):
                    continue
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # exited since listdir
                continue
            yield int(pid), (int(fields[11]) + int(fields[12])) / self.tick

    def rebase(self, status: str) -> None:
        """A ``bootstrap_flink`` status: from the job's first (submitted), the clusters' start is left out."""
        if status.startswith("job") and not self.rebased:
            self.rebased, self.base = True, dict(self._sample())

    def run(self) -> None:
        while not self.done.wait(0.5):
            self.seen.update(self._sample())

    def stop(self) -> float:
        self.done.set()
        self.join()
        self.seen.update(self._sample())
        return sum(cpu - self.base.get(pid, 0.0) for pid, cpu in self.seen.items())


def with_bootstrap(config, **update):
    return config.model_copy(update={"bootstrap": config.bootstrap.model_copy(update=update)})


def outputs(workdir: Path) -> dict[str, bytes]:
    files = [p for name in OUTPUTS for p in sorted((workdir / name).rglob("*") if (workdir / name).is_dir()
                                                   else [workdir / name]) if p.is_file()]  # fmt: skip
    return {str(p.relative_to(workdir)): p.read_bytes() for p in files}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="examples/ranklens/config.yml")
    parser.add_argument("--events", help="the input events (default: the config's bootstrap source)")
    parser.add_argument("--parallelism", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--ceiling-records", type=int, default=40_000, help="0: no ceiling job")
    parser.add_argument("--ceiling-loops", type=int, default=20_000, help="Python loop iterations per record")
    args = parser.parse_args()
    config = load_config(args.config)
    if args.events:
        config = with_bootstrap(config, source=config.bootstrap.source.model_copy(update={"path": args.events}))

    root = Path("out/bench/flink-single-shard")
    events, seconds, wall = single_shard(config, root)
    single, first = events / seconds, outputs(root)
    print(json.dumps({"bench": "flink_single_shard", "events": events, "events_per_s": round(single, 1),
                      "wall_events_per_s": round(events / wall, 1), "job_seconds": round(seconds, 2)}),
          flush=True)  # fmt: skip
    base = base_cpu = None
    for p in args.parallelism:
        workdir = Path(f"out/bench/flink-scaling-p{p}")
        cpu = JvmCpu("org.apache.flink.client.python.PythonGatewayServer", str(workdir))
        cpu.start()
        result = bootstrap_flink(with_bootstrap(config, workdir=str(workdir), parallelism=p), status=cpu.rebase,
                                 local_cluster=p > 1)  # fmt: skip
        jvm_seconds = cpu.stop()
        rate = result.events / result.job_seconds
        base, base_cpu = base or rate, base_cpu or jvm_seconds
        print(json.dumps({
            "bench": "flink_scaling", "parallelism": p, "taskmanagers": p, "events": result.events,
            "events_per_s": round(rate, 1), "speedup": round(rate / base, 3),
            "events_per_s_per_taskmanager": round(rate / p, 1),
            "per_core_vs_single_shard": round(rate / p / single, 3),
            "wall_events_per_s": round(result.events_per_s, 1), "job_seconds": round(result.job_seconds, 2),
            "router_cpu_seconds": round(result.router_seconds, 2), "rows_cpu_seconds": round(result.rows_seconds, 2),
            "serial_share": round((result.router_seconds + result.rows_seconds) / result.job_seconds, 3),
            "jvm_cpu_seconds": round(jvm_seconds, 1), "cpu_vs_p1": round(jvm_seconds / base_cpu, 3),
            "state_ops_per_subtask": [result.subtasks[i] for i in sorted(result.subtasks)],
            "same_outputs_as_single_shard": outputs(workdir) == first,
        }), flush=True)  # fmt: skip
    base = None
    for p in args.parallelism if args.ceiling_records else ():
        seconds = ceiling_seconds(p, args.ceiling_records, args.ceiling_loops, Path(f"out/bench/ceiling-p{p}"))
        base = base or seconds
        print(json.dumps({"bench": "flink_scaling_ceiling", "parallelism": p, "taskmanagers": p,
                          "records": args.ceiling_records, "seconds": round(seconds, 2),
                          "speedup": round(base / seconds, 3)}), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
