"""Training overhead: the whole ``train`` run for one model against the booster's own training calls.

Prints one JSON line ``{"bench": "train", "rows": N, "seconds": S, "booster_seconds": B, "ratio": S/B}``.
S is ``train_model`` (load, split, early stopping on the validation part with per-iteration NDCG, the refit,
evaluation, save, report); B is plain ``xgb.train``/``lgb.train`` calls on the same matrices for the same
rounds (the early-stopping run's rounds without the validation part, then the refit's on the whole train
split), no evaluation. Run ``rankstream bootstrap CONFIG --engine embedded`` first.

    python bench/bench_train.py [--config examples/ranklens/config.yml] [--model xgboost]
"""

from __future__ import annotations

import argparse
import json
import time

from feature_ops.config import LightGBMBackend, load_config
from jobs.train import boosters, train_model
from jobs.train.command import load, split_mask
from jobs.train.select import Selection, validation_mask


def booster_seconds(config, name: str, selection: Selection) -> float:
    model = config.models[name]
    data = load(config, name, model)
    test = split_mask(data, model.split, model.backend.seed)
    if selection.method == "fixed":
        fits = [(data.part(~test), selection.rounds)]
    else:
        valid = validation_mask(model, data, test, model.split, model.backend.seed)
        fits = [(data.part(~test & ~valid), selection.ran)] + [(data.part(~test), selection.rounds)] * selection.refit
    start = time.perf_counter()
    for part, rounds in fits:
        plain_fit(model.backend, data, part, rounds)
    return time.perf_counter() - start


def plain_fit(backend, data, part, rounds: int) -> None:
    if isinstance(backend, LightGBMBackend):
        import lightgbm as lgb

        params = boosters.lightgbm_params(backend, data.categorical)
        lgb.train(params, boosters.lightgbm_dataset(part, data.columns, data.categorical), rounds)
    else:
        import xgboost as xgb

        params = boosters.xgboost_params(backend)
        xgb.train(params, boosters.xgboost_matrix(part, data.columns, data.categorical), rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="examples/ranklens/config.yml")
    parser.add_argument("--model", default="xgboost")
    args = parser.parse_args()
    config = load_config(args.config)
    start = time.perf_counter()
    result = train_model(config, args.model, log=lambda line: None)
    seconds = time.perf_counter() - start
    booster = booster_seconds(config, args.model, result.selection)
    line = {"bench": "train", "model": args.model, "rows": result.counts["rows"], "rounds": result.selection.rounds,
            "rounds_run": result.selection.ran,
            "seconds": round(seconds, 3), "booster_seconds": round(booster, 3), "ratio": round(seconds / booster, 2),
            "timings": {k: round(v, 3) for k, v in result.timings.items()}}  # fmt: skip
    print(json.dumps(line))


if __name__ == "__main__":
    main()
