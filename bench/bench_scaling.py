"""Flink bootstrap scaling: the keyed graph at parallelism 1 (MiniCluster) and 2 (two one-slot TaskManagers).

Prints one JSON line per parallelism, in the same run:
``{"bench": "flink_scaling", "parallelism": p, "taskmanagers": t, "events_per_s": x, "speedup": x / x1,
"serial_share": router seconds / job seconds, ...}``. Events/s count from job submission to the savepoint
(``job_seconds``): the local cluster's start (10-25 s) is left out, like the MiniCluster's JVM start; the
wall-clock figure with everything is ``wall_events_per_s``. The outputs of every run are checked to be the
bytes of the first.

    python bench/bench_scaling.py [--config examples/ranklens/config.yml] [--parallelism 1 2]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from feature_ops.config import load_config
from jobs.flink.bootstrap import bootstrap_flink

OUTPUTS = ("dataset", "values/values.jsonl.gz")


def with_bootstrap(config, **update):
    return config.model_copy(update={"bootstrap": config.bootstrap.model_copy(update=update)})


def outputs(workdir: Path) -> dict[str, bytes]:
    files = [p for name in OUTPUTS for p in sorted((workdir / name).rglob("*") if (workdir / name).is_dir()
                                                   else [workdir / name]) if p.is_file()]  # fmt: skip
    return {str(p.relative_to(workdir)): p.read_bytes() for p in files}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="examples/ranklens/config.yml")
    parser.add_argument("--parallelism", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    config = load_config(args.config)
    first, base = None, None
    for p in args.parallelism:
        workdir = Path(f"out/bench/flink-scaling-p{p}")
        result = bootstrap_flink(with_bootstrap(config, workdir=str(workdir), parallelism=p), local_cluster=p > 1)
        rate = result.events / result.job_seconds
        base = base or rate
        same = outputs(workdir)
        first = first or same
        print(json.dumps({
            "bench": "flink_scaling", "parallelism": p, "taskmanagers": p, "events": result.events,
            "events_per_s": round(rate, 1), "speedup": round(rate / base, 3),
            "events_per_s_per_taskmanager": round(rate / p, 1),
            "wall_events_per_s": round(result.events_per_s, 1), "job_seconds": round(result.job_seconds, 2),
            "router_seconds": round(result.router_seconds, 2),
            "serial_share": round(result.router_seconds / result.job_seconds, 3),
            "state_ops_per_subtask": [result.subtasks[i] for i in sorted(result.subtasks)],
            "same_outputs_as_first": same == first,
        }), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
