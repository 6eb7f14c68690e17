"""One model's ranking pipeline: keys -> one store round trip -> decoded records -> feature values ->
feature matrix -> scores -> stable descending sort.

Everything that does not depend on the request (feature set, key prefixes, specs, column order) is built
once when the API starts. Decoded records are cached per state by their encoded bytes: identical bytes always
decode to the same record, so the cache can never serve a stale value.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from feature_ops.codec import decode
from feature_ops.config import Config
from feature_ops.events import RankingEvent
from feature_ops.featureset import FeatureSet, RecordReader, row_matrix
from serving.errors import ServiceUnavailable
from serving.models import Scorer
from serving.store import KeyLayout, ValueStore

CACHE_LIMIT = 200_000


class RankPipeline:
    """Ranks requests for one model against a value store."""

    def __init__(self, config: Config, scorer: Scorer, store: ValueStore, prefix: str) -> None:
        self.scorer = scorer
        self.store = store
        self.features = FeatureSet([config.feature(n) for n in scorer.features])
        self.layout = KeyLayout(self.features, prefix)
        self.names = list(scorer.features)
        self.columns = self.features.columns(self.names)
        self.order = _permutation(self.columns, scorer.columns or self.columns, scorer.name)
        self.specs = self.features.specs
        self.namespaces = self.features.namespaces
        self.caches: dict[str, dict[bytes, tuple]] = {state: {} for state in self.specs}
        self.cached = 0

    def rank(self, request: RankingEvent, explain: bool) -> list[dict[str, Any]]:
        if self.scorer.error is not None:
            raise ServiceUnavailable(f"model '{self.scorer.name}' is not loaded: {self.scorer.error}")
        records = self.fetch(request)
        reader = RecordReader(self.features, lambda ns, sid: records.get((ns, sid)), request.timestamp)
        values = self.features.values(request, reader, request.timestamp, online=True)
        matrix = self.matrix(values, len(request.items))
        scores = self.scorer.score(matrix, request)
        order = np.argsort(-scores, kind="stable")
        items = request.items
        out = [{"item": items[i].id, "score": float(scores[i])} for i in order.tolist()]
        if explain:
            self.explain(out, order, matrix)
        return out

    def fetch(self, request: RankingEvent) -> dict[tuple[str, str], tuple]:
        """The stored records this request reads, by (namespace, scope id): one store round trip."""
        pairs = dict.fromkeys(self.features.keys(request))
        prefixes = self.layout.state_prefix
        blobs = self.store.get_many([prefixes[state] + sid for state, sid in pairs])
        records, caches, namespaces = {}, self.caches, self.namespaces
        for (state, sid), blob in zip(pairs, blobs, strict=True):
            if blob is not None:
                record = caches[state].get(blob)
                records[namespaces[state], sid] = self._decode(state, blob) if record is None else record
        return records

    def matrix(self, values: dict[str, list], n: int) -> np.ndarray:
        """(items x model columns) float64, in the scorer's column order."""
        columns = row_matrix(values, self.names)
        if not columns:
            return np.empty((n, 0))
        matrix = np.array(columns, dtype=np.float64).T
        return matrix if self.order is None else matrix[:, self.order]

    def explain(self, out: list[dict], order: np.ndarray, matrix: np.ndarray) -> None:
        names = self.scorer.columns or self.columns
        contributions = self.scorer.contributions(matrix)
        for row, i in zip(out, order.tolist(), strict=True):
            row["features"] = {c: _json_float(v) for c, v in zip(names, matrix[i].tolist(), strict=True)}
            if contributions is not None:
                row["contributions"] = dict(zip(names, contributions[i].tolist(), strict=True))

    def _decode(self, state: str, blob: bytes) -> tuple:
        if self.cached >= CACHE_LIMIT:
            self.cached = 0
            for cache in self.caches.values():
                cache.clear()
        self.cached += 1
        record = self.caches[state][blob] = decode(self.specs[state], blob)
        return record


def _permutation(have: list[str], want: list[str], model: str) -> list[int] | None:
    """Indices turning config column order into the scorer's; None when they already agree."""
    if have == want:
        return None
    missing = [c for c in want if c not in have]
    if missing:
        raise ValueError(f"model '{model}' expects columns the config does not produce: {', '.join(missing)}")
    index = {c: i for i, c in enumerate(have)}
    return [index[c] for c in want]


def _json_float(value: float) -> float | None:
    return None if math.isnan(value) else value
