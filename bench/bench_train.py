"""Training overhead: the whole ``train`` run for one model against the booster's own training call.

Prints one JSON line ``{"bench": "train", "rows": N, "seconds": S, "booster_seconds": B, "ratio": S/B}``.
S is ``train_model`` (load, split, per-iteration NDCG, evaluation, save, report); B is a plain
``xgb.train``/``lgb.train`` on the same training matrix for the same number of rounds, no evaluation.
Run ``rankstream bootstrap CONFIG --engine embedded`` first.

    python bench/bench_train.py [--config examples/ranklens/config.yml] [--model xgboost]
"""

from __future__ import annotations

import argparse
import json
import time

from feature_ops.config import LightGBMBackend, load_config
from jobs.train import boosters, train_model
from jobs.train.command import load, split_parts


def booster_seconds(config, name: str, rounds: int) -> float:
    model = config.models[name]
    data = load(config, name, model)
    train, _ = split_parts(data, model.split, model.backend.seed)
    start = time.perf_counter()
    if isinstance(model.backend, LightGBMBackend):
        import lightgbm as lgb

        params = boosters.lightgbm_params(model.backend, data.categorical)
        lgb.train(params, boosters.lightgbm_dataset(train, data.columns, data.categorical), rounds)
    else:
        import xgboost as xgb

        params = boosters.xgboost_params(model.backend)
        xgb.train(params, boosters.xgboost_matrix(train, data.columns, data.categorical), rounds)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="examples/ranklens/config.yml")
    parser.add_argument("--model", default="xgboost")
    args = parser.parse_args()
    config = load_config(args.config)
    start = time.perf_counter()
    result = train_model(config, args.model, log=lambda line: None)
    seconds = time.perf_counter() - start
    rounds = json.loads(result.report.read_text())["params"]["iterations"]
    booster = booster_seconds(config, args.model, rounds)
    line = {"bench": "train", "model": args.model, "rows": result.counts["rows"], "rounds": rounds,
            "seconds": round(seconds, 3), "booster_seconds": round(booster, 3), "ratio": round(seconds / booster, 2),
            "timings": {k: round(v, 3) for k, v in result.timings.items()}}  # fmt: skip
    print(json.dumps(line))


if __name__ == "__main__":
    main()
