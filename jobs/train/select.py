"""Model selection without the test split: early stopping on a validation part carved from the train split.

The validation part is ``validation`` (e.g. 15%) of the train rankings, carved the way the split carves
test: the newest for ``time=``, each user's latest for ``hold_last=``, a seeded share for ``random=``. The
booster trains on the rest until ``earlyStopping`` rounds bring no better validation metric; with ``refit``
it then trains again on every train ranking for the chosen number of rounds. Test rows are never passed here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from feature_ops.config import LambdaMARTModel
from jobs.train import boosters
from jobs.train.data import Dataset
from jobs.train.errors import TrainError
from jobs.train.split import parse_split, split_groups


@dataclass(frozen=True)
class Selection:
    """How the final model's number of rounds was chosen; ``describe()`` is the line the report prints."""

    rounds: int
    ran: int
    method: str
    """``early stopping`` or ``fixed``."""
    validation: str
    validation_rankings: int
    fit_rankings: int
    patience: int
    refit: bool
    train_rankings: int
    carved: str
    """Which train rankings validate: the newest, each user's latest, or a seeded sample (by the split)."""

    def describe(self, metric: str) -> str:
        if self.method == "fixed":
            why = "earlyStopping: 0" if not self.patience else "validation: 0%"
            return f"{self.rounds} rounds, as configured (iterations; no early stopping: {why})"
        refit = (f"then refit on all {self.train_rankings:,} train rankings" if self.refit
                 else f"trained on the other {self.fit_rankings:,} train rankings (refit: false)")  # fmt: skip
        return (
            f"{self.rounds} rounds, chosen by early stopping (patience {self.patience}, {self.ran} rounds run) on "
            f"{metric} over {self.validation_rankings:,} validation rankings ({self.validation} of train, "
            f"{self.carved}); {refit}"
        )

    def as_dict(self) -> dict:
        return asdict(self)


def validation_mask(model: LambdaMARTModel, data: Dataset, test: np.ndarray, spec: str, seed: int) -> np.ndarray:
    """A mask over all rankings: the validation part of the train rankings (``~test``), by the split's kind."""
    share = int(model.validation.rstrip("%")) / 100
    out = np.zeros(len(test), dtype=bool)
    if share == 0:
        return out
    kind, _ = parse_split(spec)
    percent = round(100 * share) if kind == "hold_last" else round(100 * (1 - share))  # hold_last=N% holds N%
    train = np.flatnonzero(~test)
    held = split_groups(f"{kind}={percent}%", data.group_time[train], data.group_user[train], seed)
    out[train[held]] = True
    return out


def fit_selected(model: LambdaMARTModel, data: Dataset, test: np.ndarray, spec: str, metric: str,
                 log: boosters.Log | None) -> tuple[boosters.Fitted, Selection]:  # fmt: skip
    """The final booster, trained on train rankings only (``~test``), and how its rounds were chosen."""
    cfg, seed = model.backend, model.backend.seed
    valid = validation_mask(model, data, test, spec, seed) if cfg.earlyStopping else np.zeros(len(test), dtype=bool)
    train = data.part(~test)
    if not valid.any():
        fitted = boosters.fit(cfg, train, None, data.columns, data.categorical, metric, log)
        return fitted, _selection(model, spec, fitted.rounds, fitted.rounds, "fixed", 0, len(train.groups), train)
    rest, held = data.part(~test & ~valid), data.part(valid)
    for side, part in (("validation part", held), ("rest of the train split", rest)):
        if not (part.label > 0).any():
            raise TrainError(
                f"model '{data.model}': the {side} ({model.validation} of the train rankings for early stopping) "
                "has no positive label: use a larger validation share, or validation: 0% to train every iteration"
            )
    chosen = boosters.fit(cfg, rest, held, data.columns, data.categorical, metric, log)
    selection = _selection(model, spec, chosen.rounds, chosen.iterations, "early stopping", len(held.groups),
                           len(rest.groups), train)  # fmt: skip
    if not model.refit:
        return chosen, selection
    final = boosters.fit(cfg, train, None, data.columns, data.categorical, metric, None, rounds=chosen.rounds)
    final.curves, final.seconds = chosen.curves, chosen.seconds + final.seconds
    return final, selection


CARVED = {"time": "the newest", "hold_last": "each user's latest", "random": "a seeded sample"}


def _selection(model: LambdaMARTModel, spec: str, rounds: int, ran: int, method: str, valid: int, fit: int,
               train) -> Selection:  # fmt: skip
    return Selection(rounds, ran, method, model.validation, valid, fit, model.backend.earlyStopping,
                     model.refit and method != "fixed", len(train.groups), CARVED[parse_split(spec)[0]])  # fmt: skip
