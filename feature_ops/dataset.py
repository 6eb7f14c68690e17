"""The training dataset: one row per ranked item of every clickthrough, per model (format version 1).

Columns, in order: ``ranking`` (id), ``timestamp`` (ranking time, epoch ms), ``user``, ``session``,
``item``, ``position`` (0-based in the request), ``label`` (from the model's weights or explicit labels),
then the model's feature columns in config order (float64, NaN = missing), then the built-in baselines
``baseline_clicks`` and ``baseline_ctr`` (``feature_ops.baselines``: not model features). Rows of one ranking
are contiguous and in request order. Writers add the format version, feature names, categorical and
baseline columns as file metadata.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from feature_ops.clickthrough import Clickthrough
from feature_ops.featureset import FeatureSet

FORMAT_VERSION = 1
KEY_COLUMNS = ("ranking", "timestamp", "user", "session", "item", "position", "label")


@dataclass(frozen=True)
class DatasetSchema:
    """What one model's dataset holds: feature names, their value columns and which are categorical."""

    model: str
    features: tuple[str, ...]
    columns: tuple[str, ...]
    categorical: tuple[str, ...]
    baselines: tuple[tuple[str, str], ...] = ()
    """(dataset column, the hidden feature filling it) of the built-in baselines, after the feature columns."""

    @classmethod
    def for_model(cls, model: str, features: FeatureSet, names: list[str],
                  baselines: Mapping[str, str] | None = None) -> DatasetSchema:  # fmt: skip
        columns, categorical = tuple(features.columns(names)), tuple(features.categorical(names))
        return cls(model, tuple(names), columns, categorical, tuple((baselines or {}).items()))

    @property
    def value_columns(self) -> tuple[str, ...]:
        """Every float column after the key columns: the features', then the baselines'."""
        return self.columns + tuple(column for column, _ in self.baselines)

    def metadata(self) -> dict[str, str]:
        import json

        return {
            "rankstream.format": str(FORMAT_VERSION),
            "rankstream.model": self.model,
            "rankstream.features": json.dumps(list(self.features)),
            "rankstream.columns": json.dumps(list(self.columns)),
            "rankstream.categorical": json.dumps(list(self.categorical)),
            "rankstream.baselines": json.dumps([column for column, _ in self.baselines]),
        }


def clickthrough_rows(ct: Clickthrough, schema: DatasetSchema, weights: dict[str, float]) -> dict[str, list]:
    """Column lists for one clickthrough's rows under one model."""
    ranking, n = ct.ranking, len(ct.ranking.items)
    out: dict[str, list] = {
        "ranking": [ranking.id] * n,
        "timestamp": [ranking.timestamp] * n,
        "user": [ranking.user] * n,
        "session": [ranking.session] * n,
        "item": [it.id for it in ranking.items],
        "position": list(range(n)),
        "label": ct.labels(weights),
    }
    values = iter(col for name in schema.features for col in ct.values[name])
    for column in schema.columns:
        out[column] = list(next(values))
    for column, feature in schema.baselines:
        out[column] = list(ct.values[feature][0])
    return out
