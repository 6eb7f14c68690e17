"""XGBoost and LightGBM LambdaMART with our NDCG evaluated every iteration and early stopping on test.

Both boosters hand their cached per-iteration predictions to a custom metric (``custom_metric`` /
``feval``), so evaluating an iteration costs one argsort, not a prediction pass. NaN is "missing"
(Metarank 0.4 passed 0.0 as missing, conflating zeros with absent values).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from feature_ops.config import LightGBMBackend, XGBoostBackend
from jobs.train.data import Part
from jobs.train.metrics import Grouped

EARLY_STOPPING_ROUNDS = 20
Log = Callable[[str], None]


@dataclass
class Fitted:
    """A trained booster (already cut at its best iteration) and its per-iteration NDCG curves."""

    backend: str
    booster: Any
    params: dict[str, Any]
    best_iteration: int
    curves: dict[str, list[float]] = field(default_factory=lambda: {"train": [], "test": []})
    seconds: float = 0.0

    @property
    def iterations(self) -> int:
        return len(self.curves["train"])


class Curves:
    """Records our metric per dataset per iteration and logs one line per iteration."""

    def __init__(self, metric: str, train: Part, test: Part, log: Log) -> None:
        self.metric, self.log = metric, log
        self.grouped = {"train": Grouped(train.label, train.offsets), "test": Grouped(test.label, test.offsets)}
        self.values: dict[str, list[float]] = {"train": [], "test": []}

    def evaluate(self, name: str, scores: np.ndarray) -> float:
        value = self.grouped[name].metric(self.metric, scores)
        self.values[name].append(value)
        return value

    def log_iteration(self, i: int) -> None:
        name = self.metric.split("@")[0].upper()
        train, test = self.values["train"][-1], self.values["test"][-1]
        self.log(f"[{i}] {name}@train = {train:.4f} {name}@test = {test:.4f}")


def xgboost_params(cfg: XGBoostBackend) -> dict[str, Any]:
    params = {
        "objective": cfg.objective,
        "eta": cfg.learningRate,
        "max_depth": cfg.maxDepth,
        "seed": cfg.seed,
        "subsample": cfg.sampling,
        "tree_method": "hist",
        "disable_default_eval_metric": 1,
    }
    if cfg.objective != "rank:pairwise":
        params |= {"lambdarank_pair_method": "topk", "lambdarank_num_pair_per_sample": cfg.ndcgCutoff}
    return params


def lightgbm_params(cfg: LightGBMBackend, categorical: list[str]) -> dict[str, Any]:
    return {
        "objective": "lambdarank",
        "lambdarank_truncation_level": cfg.ndcgCutoff,
        "learning_rate": cfg.learningRate,
        "num_leaves": cfg.numLeaves,
        "max_depth": cfg.maxDepth,
        "feature_fraction": cfg.sampling,
        "seed": cfg.seed,
        "deterministic": True,
        "force_col_wise": True,
        "metric": "None",
        "verbosity": -1,
    }


def xgboost_matrix(part: Part, columns: list[str], categorical: list[str]):
    import xgboost as xgb

    types = ["c" if c in set(categorical) else "q" for c in columns] if categorical else None
    return xgb.DMatrix(
        part.X, label=part.label, group=part.sizes, missing=np.nan,
        feature_names=columns, feature_types=types, enable_categorical=bool(categorical),
    )  # fmt: skip


def fit_xgboost(cfg: XGBoostBackend, train: Part, test: Part, columns: list[str], categorical: list[str],
                metric: str, log: Log) -> Fitted:  # fmt: skip
    import xgboost as xgb

    curves = Curves(metric, train, test, log)
    dtrain, dtest = xgboost_matrix(train, columns, categorical), xgboost_matrix(test, columns, categorical)
    names = {id(dtrain): "train", id(dtest): "test"}

    def custom_metric(predt: np.ndarray, dmatrix: Any) -> tuple[str, float]:
        return metric, curves.evaluate(names[id(dmatrix)], predt)

    class LogLine(xgb.callback.TrainingCallback):
        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            curves.log_iteration(epoch)
            return False

    stop = xgb.callback.EarlyStopping(rounds=EARLY_STOPPING_ROUNDS, metric_name=metric, data_name="test",
                                      maximize=True, save_best=True)  # fmt: skip
    params = xgboost_params(cfg)
    start = time.perf_counter()
    booster = xgb.train(params, dtrain, cfg.iterations, evals=[(dtrain, "train"), (dtest, "test")],
                        custom_metric=custom_metric, callbacks=[LogLine(), stop], verbose_eval=False)  # fmt: skip
    seconds = time.perf_counter() - start
    return Fitted("xgboost", booster, params, booster.num_boosted_rounds() - 1, curves.values, seconds)


def lightgbm_dataset(part: Part, columns: list[str], categorical: list[str], reference: Any = None):
    import lightgbm as lgb

    return lgb.Dataset(
        part.X, label=part.label, group=part.sizes, feature_name=columns,
        categorical_feature=categorical or "auto", reference=reference, free_raw_data=False,
    )  # fmt: skip


def fit_lightgbm(cfg: LightGBMBackend, train: Part, test: Part, columns: list[str], categorical: list[str],
                 metric: str, log: Log) -> Fitted:  # fmt: skip
    import lightgbm as lgb

    curves = Curves(metric, train, test, log)
    dtrain = lightgbm_dataset(train, columns, categorical)
    dtest = lightgbm_dataset(test, columns, categorical, reference=dtrain)
    names = {id(dtrain): "train", id(dtest): "test"}

    def feval(preds: np.ndarray, data: Any) -> tuple[str, float, bool]:
        return metric, curves.evaluate(names[id(data)], preds), True

    def log_line(env: Any) -> None:
        curves.log_iteration(env.iteration)

    params = lightgbm_params(cfg, categorical)
    start = time.perf_counter()
    booster = lgb.train(params, dtrain, cfg.iterations, valid_sets=[dtrain, dtest], valid_names=["train", "test"],
                        feval=feval, callbacks=[log_line, lgb.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False)])  # fmt: skip
    seconds = time.perf_counter() - start
    best = booster.best_iteration - 1 if booster.best_iteration > 0 else booster.current_iteration() - 1
    booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=best + 1))
    return Fitted("lightgbm", booster, params, best, curves.values, seconds)


def fit(cfg: XGBoostBackend | LightGBMBackend, train: Part, test: Part, columns: list[str],
        categorical: list[str], metric: str, log: Log) -> Fitted:  # fmt: skip
    fitter = fit_xgboost if isinstance(cfg, XGBoostBackend) else fit_lightgbm
    return fitter(cfg, train, test, columns, categorical, metric, log)


def importance(fitted: Fitted, columns: list[str]) -> dict[str, float]:
    """Total split gain per column (0 for unused columns)."""
    if fitted.backend == "xgboost":
        gains = fitted.booster.get_score(importance_type="total_gain")
        return {c: float(gains.get(c, 0.0)) for c in columns}
    return dict(zip(columns, map(float, fitted.booster.feature_importance("gain")), strict=True))

