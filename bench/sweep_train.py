"""The sweep behind the booster defaults: ``jobs.train.tune``'s grid on every scenario and data seed.

For each scenario and seed it generates and bootstraps the sample, carves the validation part from the
train split as ``train`` does, and early-stops every grid point on it. Prints one JSON line per run
``{"bench": "sweep", "scenario", "seed", "settings", "rounds", "validation", "test"}`` and then a Markdown
table (mean over seeds). The defaults are chosen on the validation column only; ``test`` scores the
early-stopped booster (trained without the validation part, no refit) for the record.

    python bench/sweep_train.py [--seeds 1 2 3] [--scale 1.0] [--iterations 600] [--patience 20]
                                [--grid maxDepth=3 learningRate=0.05,0.15] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np
from scenarios import CONFIGS, prepare, scenario_config

from feature_ops.config import LightGBMBackend, XGBoostBackend
from feature_ops.ranker import Ranker, RankerMeta
from jobs.train import boosters, evaluate, tune
from jobs.train.command import load, split_mask

BACKENDS = {"xgboost": XGBoostBackend, "lightgbm": LightGBMBackend}


def sweep(scenario: str, seed: int, root: Path, scale: float, backend: dict) -> list[dict]:
    config = scenario_config(scenario, root) if (root / "workdir" / "manifest.json").exists() else None
    config = config or prepare(scenario, seed, root, scale)[0]
    model = config.models["xgboost"]
    kind = backend.get("type", "xgboost")
    model = model.model_copy(update={"backend": BACKENDS[kind](**{"type": kind, "seed": model.backend.seed} | backend)})
    data = load(config, "xgboost", model)
    test_mask = split_mask(data, model.split, model.backend.seed)
    parts, test = tune.validation_parts(model, data, test_mask, model.split), data.part(test_mask)
    rows = []
    for settings in tune.grid(kind):
        cfg = model.backend.model_copy(update=settings)
        fitted = boosters.fit(cfg, *parts, data.columns, data.categorical, "ndcg@10", None)
        scores = Ranker(RankerMeta("m", kind, data.columns, data.categorical, [], {}), fitted.booster).score(test.X)
        rows.append({"bench": "sweep", "scenario": scenario, "seed": seed, "settings": backend | settings,
                     "rounds": fitted.rounds, "validation": round(fitted.curves["validation"][fitted.rounds - 1], 4),
                     "test": round(evaluate.evaluate(test, {"m": scores}, ["ndcg@10"])["m"]["ndcg@10"], 4)})  # fmt: skip
        print(json.dumps(rows[-1]), flush=True)
    return rows


def table(rows: list[dict]) -> str:
    cells: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        key = " ".join(f"{k}={v:g}" for k, v in row["settings"].items() if k not in ("iterations", "type"))
        for field in ("validation", "test", "rounds"):
            cells[key][f"{row['scenario']} {field}"].append(row[field])
        cells[key]["mean validation"].append(row["validation"])
    scenarios = sorted({row["scenario"] for row in rows})
    head = ["settings", *(f"{s} {f}" for s in scenarios for f in ("validation", "test", "rounds")), "mean validation"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key, values in sorted(cells.items(), key=lambda kv: -np.mean(kv[1]["mean validation"])):
        shown = [f"{np.mean(values[h]):.0f}" if h.endswith("rounds") else f"{np.mean(values[h]):.4f}" for h in head[1:]]
        lines.append("| " + " | ".join([key, *shown]) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--scenarios", nargs="+", default=list(CONFIGS))
    parser.add_argument("--scale", type=float, default=1.0, help="sample size relative to the scenario's default")
    parser.add_argument("--iterations", type=int, default=600, help="the cap early stopping runs under")
    parser.add_argument("--patience", type=int, default=20, help="earlyStopping rounds")
    parser.add_argument("--backend", choices=list(BACKENDS), default="xgboost")
    parser.add_argument("--grid", nargs="*", default=[], metavar="KEY=V1,V2", help="replace grid values")
    parser.add_argument("--keep", help="prepare the samples here and reuse them in later runs (default: a temp dir)")
    args = parser.parse_args()
    for item in args.grid:
        key, values = item.split("=")
        tune.GRIDS[args.backend][key] = tuple(float(v) if "." in v else int(v) for v in values.split(","))
    backend, rows = {"type": args.backend, "iterations": args.iterations, "earlyStopping": args.patience}, []
    with tempfile.TemporaryDirectory() as tmp:
        for scenario in args.scenarios:
            for seed in args.seeds:
                root = Path(args.keep or tmp) / f"{scenario}-{seed}-{args.scale:g}"
                rows += sweep(scenario, seed, root, args.scale, backend)
    print(table(rows))


if __name__ == "__main__":
    main()
