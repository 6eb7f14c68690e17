"""``train --tune``: a small grid of booster settings, each early-stopped and scored on the validation part
of the train split (``jobs.train.select``); the best validation score wins (ties: the earlier, simpler row).
The test split plays no part: the chosen settings are then trained as usual and scored once on test.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import product
from typing import Any

import numpy as np

from feature_ops.config import LambdaMARTModel, XGBoostBackend
from jobs.train import boosters
from jobs.train.data import Dataset
from jobs.train.errors import TrainError
from jobs.train.select import validation_mask

GRIDS: dict[str, dict[str, tuple]] = {
    "xgboost": {"maxDepth": (3, 5, 8), "learningRate": (0.05, 0.15), "minChildWeight": (1.0, 10.0)},
    "lightgbm": {"maxDepth": (3, 5, 8), "learningRate": (0.05, 0.15), "minChildWeight": (0.001, 1.0)},
}


@dataclass(frozen=True)
class Trial:
    """One grid point: its settings, the rounds early stopping chose and the validation score there."""

    settings: dict[str, Any]
    rounds: int
    validation: float


def grid(backend: str) -> Iterator[dict[str, Any]]:
    keys = list(GRIDS[backend])
    for values in product(*GRIDS[backend].values()):
        yield dict(zip(keys, values, strict=True))


def trial(model: LambdaMARTModel, data: Dataset, parts: tuple, settings: dict[str, Any], metric: str) -> Trial:
    """Early-stop the model's backend with ``settings`` on (rest, validation) parts; no log, no test."""
    cfg = model.backend.model_copy(update=settings)
    rest, held = parts
    fitted = boosters.fit(cfg, rest, held, data.columns, data.categorical, metric, None)
    return Trial(settings, fitted.rounds, fitted.curves[boosters.VALIDATION][fitted.rounds - 1])


def validation_parts(model: LambdaMARTModel, data: Dataset, test: np.ndarray, spec: str) -> tuple:
    valid = validation_mask(model, data, test, spec, model.backend.seed)
    if not valid.any() or not model.backend.earlyStopping:
        raise TrainError(f"model '{data.model}': --tune needs a validation part and early stopping "
                         "(validation above 0% and earlyStopping above 0)")  # fmt: skip
    return data.part(~test & ~valid), data.part(valid)


def tune(model: LambdaMARTModel, data: Dataset, test: np.ndarray, spec: str, metric: str,
         log: boosters.Log) -> tuple[LambdaMARTModel, list[Trial]]:  # fmt: skip
    """The model with the best grid settings on the validation part, and every trial."""
    parts = validation_parts(model, data, test, spec)
    backend = "xgboost" if isinstance(model.backend, XGBoostBackend) else "lightgbm"
    trials = []
    for settings in grid(backend):
        trials.append(trial(model, data, parts, settings, metric))
        log(f"tune {_settings(settings)}: {trials[-1].rounds} rounds, validation {metric} {trials[-1].validation:.4f}")
    best = max(trials, key=lambda t: t.validation)  # max keeps the first of equal scores
    log(f"tune: chose {_settings(best.settings)} (validation {metric} {best.validation:.4f})")
    return model.model_copy(update={"backend": model.backend.model_copy(update=best.settings)}), trials


def _settings(settings: dict[str, Any]) -> str:
    return " ".join(f"{k}={v:g}" for k, v in settings.items())
