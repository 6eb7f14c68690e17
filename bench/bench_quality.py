"""Ranking quality on every generated scenario: the trained model against the baselines that get the same
information, on the same test split, each scored once.

Prints one JSON line per scenario: ``{"bench": "quality", "scenario": s, "ndcg10_model", "ndcg10_ctr",
"ndcg10_popularity", "ndcg10_original", "ndcg10_random", "ndcg10_oracle", "rounds", "beats_baselines"}``
(test NDCG@10; oracle = ranking by the generator's hidden relevance). Each scenario's sample is generated and
bootstrapped (embedded) into a temporary directory with its example config (``examples/<scenario>/``).

    python bench/bench_quality.py [--seed 42] [--scale 1.0] [--scenarios ranklens news]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from scenarios import CONFIGS, prepare

from jobs.generate import load_truth
from jobs.train import evaluate, train_model
from jobs.train.command import load, split_parts
from jobs.train.metrics import Grouped


def quality(scenario: str, seed: int, root: Path, scale: float) -> dict:
    config, truth_path = prepare(scenario, seed, root, scale)
    model = config.models["xgboost"]
    result = train_model(config, "xgboost", log=lambda line: None)
    data = load(config, "xgboost", model)
    _, test = split_parts(data, model.split, model.backend.seed)
    oracle = evaluate.oracle_scores(data, test, load_truth(truth_path))
    ndcg = {name: values["ndcg@10"] for name, values in result.metrics.items()}
    line = {
        "bench": "quality", "scenario": scenario, "ndcg10_model": ndcg["xgboost"], "ndcg10_ctr": ndcg[evaluate.CTR],
        "ndcg10_popularity": ndcg[evaluate.POPULARITY], "ndcg10_original": ndcg[evaluate.ORIGINAL],
        "ndcg10_random": ndcg[evaluate.RANDOM],
        "ndcg10_oracle": Grouped(test.label, test.offsets).metric("ndcg@10", oracle), "rounds": result.selection.rounds,
    }  # fmt: skip
    baselines = [line[k] for k in ("ndcg10_ctr", "ndcg10_popularity", "ndcg10_original", "ndcg10_random")]
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in line.items()} | {
        "beats_baselines": line["ndcg10_model"] > max(baselines)
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--scale", type=float, default=1.0, help="sample size relative to the scenario's default")
    parser.add_argument("--scenarios", nargs="+", default=list(CONFIGS))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for scenario in args.scenarios:
            print(json.dumps(quality(scenario, args.seed, Path(tmp) / scenario, args.scale)), flush=True)


if __name__ == "__main__":
    main()
