"""Bootstrap throughput: the embedded engine and the Flink job on the same events, in one run.

Prints two JSON lines:
``{"bench": "embedded_bootstrap", "events": N, "events_per_s": X, "vs_metarank_import": X/3000}`` and
``{"bench": "flink_bootstrap", "events": N, "events_per_s": X, "embedded_events_per_s": Y, "ratio": X/Y, ...}``.
The Flink figure is wall time from submission to savepoint, JVM and MiniCluster start included.

    python bench/bench_bootstrap.py [--config examples/ranklens/config.yml]
"""

from __future__ import annotations

import argparse
import json

from feature_ops.config import load_config
from jobs.embedded import bootstrap_embedded
from jobs.flink.bootstrap import bootstrap_flink

METARANK_EVENTS_PER_S = 3000
"""Metarank 0.7's published import rate is 1,000-3,000 events/s: ratios are against the upper end."""


def with_workdir(config, workdir: str):
    return config.model_copy(update={"bootstrap": config.bootstrap.model_copy(update={"workdir": workdir})})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="examples/ranklens/config.yml")
    args = parser.parse_args()
    config = load_config(args.config)
    embedded = bootstrap_embedded(config)
    print(json.dumps({"bench": "embedded_bootstrap", "events": embedded.events,
                      "events_per_s": round(embedded.events_per_s, 1),
                      "vs_metarank_import": round(embedded.events_per_s / METARANK_EVENTS_PER_S, 2)}), flush=True)
    flink = bootstrap_flink(with_workdir(config, "out/bench/flink-workdir"))
    print(json.dumps({"bench": "flink_bootstrap", "events": flink.events, "events_per_s": round(flink.events_per_s, 1),
                      "embedded_events_per_s": round(embedded.events_per_s, 1),
                      "ratio": round(flink.events_per_s / embedded.events_per_s, 3),
                      "vs_metarank_import": round(flink.events_per_s / METARANK_EVENTS_PER_S, 2)}), flush=True)


if __name__ == "__main__":
    main()
