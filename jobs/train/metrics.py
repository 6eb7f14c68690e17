"""Ranking metrics over grouped rows: NDCG@k, MAP@k and MRR, averaged over groups with a positive label.

Groups without any positive label are left out (not counted as 1, as XGBoost's built-in NDCG does).
Conventions: gain ``2^label - 1``, discount ``1 / log2(rank + 1)``; MAP and MRR treat ``label > 0`` as
relevant; AP@k divides by ``min(k, relevant)``; MRR@k is 0 when the first relevant item is below k.
Ties keep dataset order (a stable sort), so a baseline with equal scores falls back to the original order.

A ``Grouped`` pads the labels into a groups x max-size matrix once; scoring an iteration is one argsort.
"""

from __future__ import annotations

import re

import numpy as np

METRIC = re.compile(r"(ndcg|map|mrr)(?:@([0-9]+))?")


def parse_metric(spec: str) -> tuple[str, int | None]:
    match = METRIC.fullmatch(spec)
    if not match:
        raise ValueError(f"metric must be ndcg, map or mrr with an optional @N, got '{spec}'")
    return match.group(1), int(match.group(2)) if match.group(2) else None


class Grouped:
    """Labels of contiguous groups, padded for vectorized metrics."""

    def __init__(self, label: np.ndarray, offsets: np.ndarray) -> None:
        sizes = np.diff(offsets)
        self.width = int(sizes.max()) if len(sizes) else 0
        self.row = np.repeat(np.arange(len(sizes)), sizes)
        self.col = np.arange(len(label)) - np.repeat(offsets[:-1], sizes)
        self.labels = np.zeros((len(sizes), self.width))
        self.labels[self.row, self.col] = label
        self.valid = (self.labels > 0).any(axis=1)
        self.labels = self.labels[self.valid]
        self.discount = 1.0 / np.log2(np.arange(self.width) + 2.0)
        ideal = -np.sort(-self.labels, axis=1)
        self.ideal_gain = np.cumsum((2.0**ideal - 1.0) * self.discount, axis=1)

    @property
    def groups(self) -> int:
        """Groups the metrics average over (those with a positive label)."""
        return len(self.labels)

    def ranked(self, scores: np.ndarray) -> np.ndarray:
        """Labels in score order (descending, NaN last, ties stable), one row per valid group."""
        padded = np.full((len(self.valid), self.width), np.inf)
        padded[self.row, self.col] = np.where(np.isnan(scores), np.finfo(np.float64).max, -scores)
        order = np.argsort(padded[self.valid], axis=1, kind="stable")
        return np.take_along_axis(self.labels, order, axis=1)

    def metric(self, spec: str, scores: np.ndarray) -> float:
        name, k = parse_metric(spec)
        return float(METRICS[name](self, self.ranked(scores), k)) if self.groups else float("nan")

    def metrics(self, specs: list[str], scores: np.ndarray) -> dict[str, float]:
        ranked = self.ranked(scores) if self.groups else None
        out = {}
        for spec in specs:
            name, k = parse_metric(spec)
            out[spec] = float(METRICS[name](self, ranked, k)) if self.groups else float("nan")
        return out


def _cut(g: Grouped, k: int | None) -> int:
    return g.width if k is None else min(k, g.width)


def ndcg(g: Grouped, ranked: np.ndarray, k: int | None) -> float:
    k = _cut(g, k)
    dcg = ((2.0 ** ranked[:, :k] - 1.0) * g.discount[:k]).sum(axis=1)
    return float(np.mean(dcg / g.ideal_gain[:, k - 1]))


def average_precision(g: Grouped, ranked: np.ndarray, k: int | None) -> float:
    k = _cut(g, k)
    hits = ranked[:, :k] > 0
    precision = np.cumsum(hits, axis=1) / np.arange(1, k + 1)
    relevant = np.minimum((ranked > 0).sum(axis=1), k)
    return float(np.mean((precision * hits).sum(axis=1) / relevant))


def reciprocal_rank(g: Grouped, ranked: np.ndarray, k: int | None) -> float:
    first = np.argmax(ranked > 0, axis=1)
    rr = 1.0 / (first + 1.0)
    if k is not None:
        rr[first >= k] = 0.0
    return float(np.mean(rr))


METRICS = {"ndcg": ndcg, "map": average_precision, "mrr": reciprocal_rank}
