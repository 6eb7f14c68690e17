"""Scorers behind ``/rank/{model}``: what each configured model needs and how it scores a feature matrix.

* ``lambdamart``: the trained booster from ``feature_ops.ranker.load_ranker``, on its own feature columns
  (from S3 when ``models.<name>.path`` is an ``s3://`` URI).
* ``noop``: every score 0, so the stable sort keeps the request order. Reads every configured feature, so
  ``explain=true`` shows what a trained model would see.
* ``shuffle``: item ``i`` gets the sort key ``i + u`` with ``u`` uniform in ``[0, maxPositionChange)`` (seeded
  by the ranking id), so no item moves ``maxPositionChange`` places or more; score = ``-key``.
* ``popularity`` / ``ctr``: the item's built-in baseline (``feature_ops.baselines``): its ``interaction`` count,
  or its smoothed click-through rate, as served from the store; -1 where missing (ties keep request order).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from feature_ops.baselines import clicks_feature, ctr_feature
from feature_ops.config import Config, FallbackModel, LambdaMARTModel, NoopModel, ShuffleModel
from feature_ops.events import RankingEvent
from serving import s3
from serving.s3 import is_s3


@dataclass
class Scorer:
    """A model's feature names and column order, plus how it scores an (items x columns) matrix."""

    name: str
    features: list[str]
    columns: list[str]
    ranker: Any = None
    max_change: int = 0
    kind: str = "noop"
    error: str | None = field(default=None)

    def score(self, matrix: np.ndarray, request: RankingEvent) -> np.ndarray:
        n = matrix.shape[0]
        if self.kind == "lambdamart":
            return np.asarray(self.ranker.score(matrix), dtype=np.float64).reshape(n)
        if self.kind == "shuffle":
            rng = np.random.default_rng(zlib.crc32(request.id.encode()))
            return -(np.arange(n, dtype=np.float64) + rng.uniform(0, self.max_change, n))
        if self.kind in ("popularity", "ctr"):
            return np.nan_to_num(matrix[:, 0], nan=-1.0)
        return np.zeros(n)

    def contributions(self, matrix: np.ndarray) -> np.ndarray | None:
        """Per item and column, the booster's contribution (bias excluded); None for untrained scorers."""
        if self.kind != "lambdamart":
            return None
        out = np.asarray(self.ranker.contributions(matrix), dtype=np.float64)
        return out[:, : len(self.columns)]


def load_scorer(config: Config, name: str) -> Scorer:
    """Build one model's scorer; a lambdamart model that cannot load gets ``error`` instead of failing."""
    model = config.models[name]
    everything = [f.name for f in config.features]
    if isinstance(model, NoopModel):
        return Scorer(name, everything, [], kind="noop")
    if isinstance(model, ShuffleModel):
        return Scorer(name, everything, [], max_change=model.maxPositionChange, kind="shuffle")
    if isinstance(model, FallbackModel):
        feature = (clicks_feature if model.type == "popularity" else ctr_feature)(model.interaction)
        return Scorer(name, [feature], [], kind=model.type)
    assert isinstance(model, LambdaMARTModel)
    try:
        from feature_ops.ranker import load_ranker, read_ranker

        read = read_s3_ranker if is_s3(model.path) else read_ranker
        ranker = single_threaded(load_ranker(model.path, config, name, read))
    except Exception as e:  # a missing or broken model file must not stop the other models
        reason = str(e).split("\n")[0] or type(e).__name__
        return Scorer(name, list(model.features), [], kind="lambdamart", error=reason)
    return Scorer(name, list(model.features), list(ranker.columns), ranker=ranker, kind="lambdamart")


def read_s3_ranker(uri: str) -> Any:
    """A model from S3: ``uri`` and ``<uri>.meta.json`` (``rankstream train`` uploads both)."""
    from feature_ops.ranker import Ranker, RankerMeta

    meta = f"{uri}.meta.json"
    return Ranker.from_bytes(RankerMeta.from_json(s3.read_bytes(meta).decode(), meta), s3.read_bytes(uri))


def single_threaded(ranker: Any) -> Any:
    """Score on the request's thread: XGBoost's default OpenMP pool costs ~15 ms per small predict call."""
    booster = getattr(ranker, "booster", None)
    if booster is not None and hasattr(booster, "set_param"):
        booster.set_param({"nthread": 1})
    return ranker
