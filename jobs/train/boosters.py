"""XGBoost and LightGBM LambdaMART with our NDCG evaluated every iteration and early stopping on validation.

``fit`` never sees the test split: it gets the rows to train on and, for early stopping, a validation part
carved from the train split (``jobs.train.select``). Both boosters hand their cached per-iteration
predictions to a custom metric (``custom_metric`` / ``feval``), so evaluating an iteration costs one
argsort, not a prediction pass. NaN is "missing" (Metarank 0.4 passed 0.0 as missing, conflating zeros with
absent values).
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

Log = Callable[[str], None]
VALIDATION = "validation"


@dataclass
class Fitted:
    """A trained booster (cut at its best iteration when early stopping) and its per-iteration curves."""

    backend: str
    booster: Any
    params: dict[str, Any]
    rounds: int
    """Trees in the booster."""
    curves: dict[str, list[float]] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def best_iteration(self) -> int:
        return self.rounds - 1

    @property
    def iterations(self) -> int:
        """Rounds run (more than ``rounds`` when early stopping cut the booster back)."""
        return max([self.rounds, *map(len, self.curves.values())])


class Curves:
    """Records our metric per part per iteration and logs one line per iteration."""

    def __init__(self, metric: str, parts: dict[str, Part], log: Log | None) -> None:
        self.metric, self.log = metric, log
        self.grouped = {name: Grouped(p.label, p.offsets) for name, p in parts.items()}
        self.values: dict[str, list[float]] = {name: [] for name in parts}

    def evaluate(self, name: str, scores: np.ndarray) -> float:
        value = self.grouped[name].metric(self.metric, scores)
        self.values[name].append(value)
        return value

    def log_iteration(self, i: int) -> None:
        if self.log is not None:
            name = self.metric.split("@")[0].upper()
            self.log(f"[{i}] " + " ".join(f"{name}@{part} = {v[-1]:.4f}" for part, v in self.values.items()))


def xgboost_params(cfg: XGBoostBackend) -> dict[str, Any]:
    params = {
        "objective": cfg.objective,
        "eta": cfg.learningRate,
        "max_depth": cfg.maxDepth,
        "min_child_weight": cfg.minChildWeight,
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
        "min_sum_hessian_in_leaf": cfg.minChildWeight,
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


def _parts(train: Part, valid: Part | None) -> dict[str, Part]:
    return {"train": train} | ({VALIDATION: valid} if valid is not None else {})


def fit_xgboost(cfg: XGBoostBackend, train: Part, valid: Part | None, columns: list[str], categorical: list[str],
                metric: str, log: Log | None, rounds: int) -> Fitted:  # fmt: skip
    import xgboost as xgb

    parts = _parts(train, valid) if log is not None or valid is not None else {}
    curves = Curves(metric, parts, log)
    dtrain = xgboost_matrix(train, columns, categorical)
    matrices = {name: dtrain if name == "train" else xgboost_matrix(p, columns, categorical) for name, p in parts.items()}
    names = {id(m): name for name, m in matrices.items()}

    def custom_metric(predt: np.ndarray, dmatrix: Any) -> tuple[str, float]:
        return metric, curves.evaluate(names[id(dmatrix)], predt)

    class LogLine(xgb.callback.TrainingCallback):
        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            curves.log_iteration(epoch)
            return False

    callbacks: list[Any] = [LogLine()]
    if valid is not None and cfg.earlyStopping:
        callbacks.append(xgb.callback.EarlyStopping(rounds=cfg.earlyStopping, metric_name=metric,
                                                    data_name=VALIDATION, maximize=True, save_best=True))  # fmt: skip
    params = xgboost_params(cfg)
    start = time.perf_counter()
    booster = xgb.train(params, dtrain, rounds, evals=[(m, n) for n, m in matrices.items()],
                        custom_metric=custom_metric if matrices else None, callbacks=callbacks, verbose_eval=False)  # fmt: skip
    seconds = time.perf_counter() - start
    return Fitted("xgboost", booster, params, booster.num_boosted_rounds(), curves.values, seconds)


def lightgbm_dataset(part: Part, columns: list[str], categorical: list[str], reference: Any = None):
    import lightgbm as lgb

    return lgb.Dataset(
        part.X, label=part.label, group=part.sizes, feature_name=columns,
        categorical_feature=categorical or "auto", reference=reference, free_raw_data=False,
    )  # fmt: skip


def fit_lightgbm(cfg: LightGBMBackend, train: Part, valid: Part | None, columns: list[str], categorical: list[str],
                 metric: str, log: Log | None, rounds: int) -> Fitted:  # fmt: skip
    import lightgbm as lgb

    parts = _parts(train, valid) if log is not None or valid is not None else {}
    curves = Curves(metric, parts, log)
    dtrain = lightgbm_dataset(train, columns, categorical)
    sets = {name: dtrain if name == "train" else lightgbm_dataset(p, columns, categorical, reference=dtrain)
            for name, p in parts.items()}  # fmt: skip
    names = {id(d): name for name, d in sets.items()}

    def feval(preds: np.ndarray, data: Any) -> tuple[str, float, bool]:
        return metric, curves.evaluate(names[id(data)], preds), True

    def log_line(env: Any) -> None:
        curves.log_iteration(env.iteration)

    callbacks: list[Any] = [log_line]
    if valid is not None and cfg.earlyStopping:
        callbacks.append(lgb.early_stopping(cfg.earlyStopping, verbose=False))
    params = lightgbm_params(cfg, categorical)
    start = time.perf_counter()
    booster = lgb.train(params, dtrain, rounds, valid_sets=list(sets.values()), valid_names=list(sets),
                        feval=feval if sets else None, callbacks=callbacks)  # fmt: skip
    seconds = time.perf_counter() - start
    kept = booster.best_iteration if booster.best_iteration > 0 else booster.current_iteration()
    booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=kept))
    return Fitted("lightgbm", booster, params, kept, curves.values, seconds)


def fit(cfg: XGBoostBackend | LightGBMBackend, train: Part, valid: Part | None, columns: list[str],
        categorical: list[str], metric: str, log: Log | None, rounds: int | None = None) -> Fitted:  # fmt: skip
    """Train on ``train`` for ``rounds`` (default ``cfg.iterations``); with a validation part, stop early
    after ``cfg.earlyStopping`` rounds without a better validation metric and keep the best iteration."""
    fitter = fit_xgboost if isinstance(cfg, XGBoostBackend) else fit_lightgbm
    return fitter(cfg, train, valid, columns, categorical, metric, log, rounds or cfg.iterations)


def importance(fitted: Fitted, columns: list[str]) -> dict[str, float]:
    """Total split gain per column (0 for unused columns)."""
    if fitted.backend == "xgboost":
        gains = fitted.booster.get_score(importance_type="total_gain")
        return {c: float(gains.get(c, 0.0)) for c in columns}
    return dict(zip(columns, map(float, fitted.booster.feature_importance("gain")), strict=True))
