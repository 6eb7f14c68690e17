"""Honest evaluation on the test split: the model against the original order, a seeded random order, the
built-in popularity and smoothed-CTR baselines (what the bootstrap recorded for each ranked item at ranking
time, ``feature_ops.baselines``) and feature baselines (each column sorted descending, NaN last), all scored
by the same metrics. Ties keep the original order.
"""

from __future__ import annotations

import numpy as np

from feature_ops import baselines
from jobs.train.data import Dataset, Part
from jobs.train.errors import TrainError
from jobs.train.metrics import Grouped, parse_metric

ORIGINAL, RANDOM = "original order", "random order"
BUILT_IN = {baselines.POPULARITY: "popularity (clicks)", baselines.CTR: "ctr (smoothed)"}
POPULARITY, CTR = BUILT_IN.values()


class BaselineError(TrainError):
    """A --baseline names no column of the model's dataset."""


def eval_metrics(configured: list[str]) -> list[str]:
    """The configured metrics plus NDCG, MAP and MRR at the first configured cutoff (default 10)."""
    k = next((k for _, k in map(parse_metric, configured) if k), 10)
    return list(dict.fromkeys([*configured, f"ndcg@{k}", f"map@{k}", "mrr"]))


def baseline_columns(data: Dataset, baselines: list[str]) -> dict[str, int]:
    """Column index per --baseline name (a column, or a feature with exactly one column)."""
    out = {}
    for name in baselines:
        if name not in data.columns:
            raise BaselineError(
                f"--baseline '{name}' is not a column of model '{data.model}': expected one of {', '.join(data.columns)}"
            )
        out[name] = data.columns.index(name)
    return out


def baseline_scores(test: Part, columns: dict[str, int], seed: int) -> dict[str, np.ndarray]:
    """Scores that reproduce each baseline's order (higher first)."""
    scores = {
        ORIGINAL: -test.position.astype(np.float64),
        RANDOM: np.random.default_rng(seed).random(test.rows),
    }
    for column, name in BUILT_IN.items():
        if column in test.baselines:
            scores[name] = test.baselines[column]
    for name, index in columns.items():
        scores[name] = test.X[:, index]
    return scores


def evaluate(test: Part, scores: dict[str, np.ndarray], metrics: list[str]) -> dict[str, dict[str, float]]:
    grouped = Grouped(test.label, test.offsets)
    return {name: grouped.metrics(metrics, s) for name, s in scores.items()}


def oracle_scores(data: Dataset, test: Part, truth: dict[str, dict[str, float]]) -> np.ndarray:
    """Scores ranking each test group by its hidden true relevance (from the generator's truth file)."""
    rows = np.concatenate([np.arange(data.all.offsets[g], data.all.offsets[g + 1]) for g in test.groups])
    rankings, items = data.key("ranking", rows), data.key("item", rows)
    return np.array([truth.get(r, {}).get(i, np.nan) for r, i in zip(rankings, items, strict=True)])


def format_table(results: dict[str, dict[str, float]], metrics: list[str]) -> str:
    width = max(len("scorer"), *map(len, results))
    lines = ["  ".join(["scorer".ljust(width), *(m.rjust(8) for m in metrics)])]
    for name, values in results.items():
        lines.append("  ".join([name.ljust(width), *(f"{values[m]:8.4f}" for m in metrics)]))
    return "\n".join(lines)
