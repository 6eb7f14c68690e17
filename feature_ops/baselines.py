"""Built-in baseline features: every ranked item's popularity and smoothed CTR, point in time.

The engine computes them whatever features the config defines (they are not model features unless the
config defines such features itself), so every training dataset carries, for each ranked item, what a
popularity ranker and a CTR ranker would have served at that moment: ``train`` compares the model with them
on the same test rankings, and ``/rank`` can serve them (``models.<name>.type: popularity | ctr``), e.g. on a
new site without a trained model. Two hidden features per interaction type, of the ordinary feature types:

* ``_baseline_clicks_<type>``: ``interaction_count`` of ``<type>`` per item;
* ``_baseline_ctr_<type>``: ``rate`` of ``<type>`` over the synthetic impressions, ``shownOnly`` and
  ``normalize: {weight: 20}`` (toward the global rate): ``(clicks + 20 * prior) / (impressions + 20)``.

Both count over the item's whole history (one bucket of 100 years) while its state lives: like any
feature's by default, a counter unwritten for 90 days expires. The type of a lambdamart model's
baselines is its lightest positive weight (e.g. ``click`` of ``{click: 1, like: 2}``), the most frequent
signal; a popularity or ctr model names its own ``interaction``.

>>> [f.name for f in baseline_features({"m": {"click": 1.0, "like": 2.0}}, ["click"], "impression")]
['_baseline_clicks_click', '_baseline_ctr_click']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from feature_ops.features.base import FeatureConfig
from feature_ops.features.interaction_count import InteractionCountConfig
from feature_ops.features.rate import Normalize, RateConfig

PREFIX = "_baseline_"
CTR_WEIGHT = 20.0
HISTORY = 36_500 * 86_400_000
POPULARITY, CTR = "baseline_clicks", "baseline_ctr"
"""The dataset columns of a lambdamart model's baselines."""


def signal_type(weights: Mapping[str, float]) -> str | None:
    """The interaction type with the smallest positive weight (ties: by name), None if no weight is positive."""
    positive = sorted((w, t) for t, w in weights.items() if w > 0)
    return positive[0][1] if positive else None


def clicks_feature(interaction: str) -> str:
    return f"{PREFIX}clicks_{interaction}"


def ctr_feature(interaction: str) -> str:
    return f"{PREFIX}ctr_{interaction}"


def dataset_columns(weights: Mapping[str, float]) -> dict[str, str]:
    """Dataset column -> the hidden feature filling it, for a lambdamart model with these weights."""
    interaction = signal_type(weights)
    if interaction is None:
        return {}
    return {POPULARITY: clicks_feature(interaction), CTR: ctr_feature(interaction)}


def baseline_features(weights: Mapping[str, Mapping[str, float]], interactions: Iterable[str],
                      impression: str) -> list[FeatureConfig]:  # fmt: skip
    """The hidden features for every lambdamart model's weights and every fallback model's interaction."""
    types = {signal_type(w) for w in weights.values()} | set(interactions)
    out: list[FeatureConfig] = []
    for interaction in sorted(t for t in types if t is not None):
        out.append(InteractionCountConfig(name=clicks_feature(interaction), type="interaction_count",
                                          interaction=interaction))  # fmt: skip
        out.append(RateConfig(name=ctr_feature(interaction), type="rate", top=interaction, bottom=impression,
                              bucket=HISTORY, periods=[0], shownOnly=True,
                              normalize=Normalize(weight=CTR_WEIGHT)))  # fmt: skip
    return out
