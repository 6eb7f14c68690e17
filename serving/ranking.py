"""One model's ranking pipeline: keys -> one store round trip -> decoded records -> feature values ->
feature matrix -> scores -> stable descending sort.

Everything that does not depend on the request (feature set, key prefixes, specs, column order) is built
once when the API starts. Decoded records are cached by their encoded bytes, per state and per whole hash
read (a row: the tuple of one scope id's field values), so an unchanged item costs one dict lookup; identical
bytes always decode to the same record, so the cache can never serve a stale value.

Ranking is a coroutine: the computing runs on the event loop, one request at a time, and the store round
trips go through ``read``. The API hands a blocking store's reads to worker threads (``serving.resources``),
so a slow or hung store only holds the requests waiting on it; ``read`` defaults to calling the store.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import numpy as np

from feature_ops.codec import decode
from feature_ops.config import Config
from feature_ops.events import RankingEvent
from feature_ops.featureset import ColumnReader, FeatureSet, row_matrix
from serving.errors import ServiceUnavailable
from serving.models import Scorer
from serving.store import KeyLayout, Lookup, ValueStore

CACHE_LIMIT = 200_000
Read = Callable[[Sequence[Lookup]], Awaitable[list[list[bytes | None]]]]
"""An awaitable ``ValueStore.get_many``."""


class RankPipeline:
    """Ranks requests for one model against a value store."""

    def __init__(self, config: Config, scorer: Scorer, store: ValueStore, prefix: str, read: Read | None = None) -> None:
        self.scorer = scorer
        self.store = store
        self.read = read or self._read
        self.features = FeatureSet([config.feature(n) for n in scorer.features])
        self.layout = KeyLayout(self.features, prefix)
        self.names = list(scorer.features)
        self.columns = self.features.columns(self.names)
        self.order = _permutation(self.columns, scorer.columns or self.columns, scorer.name)
        self.specs = self.features.specs
        self.namespaces = self.features.namespaces
        self.shapes: dict[tuple[str, ...], tuple[tuple[str, ...], dict]] = {}
        self.blobs: dict[str, dict[bytes, tuple]] = {state: {} for state in self.specs}
        self.cached = 0

    async def rank(self, request: RankingEvent, explain: bool) -> list[dict[str, Any]]:
        if self.scorer.error is not None:
            raise ServiceUnavailable(f"model '{self.scorer.name}' is not loaded: {self.scorer.error}")
        columns = await self.fetch(request)
        reader = ColumnReader(self.features, columns, request.timestamp)
        dependent = self.features.dependent_keys(request, reader, request.timestamp)
        if dependent:  # a second round trip, only for features that need one (rate over item.<field>)
            columns.update(await self.fetch_states(dependent))
            reader = ColumnReader(self.features, columns, request.timestamp)
        values = self.features.values(request, reader, request.timestamp, online=True)
        matrix = self.matrix(values, len(request.items))
        scores = self.scorer.score(matrix, request)
        order = np.argsort(-scores, kind="stable").tolist()
        items, scores = request.items, scores.tolist()
        out = [{"item": items[i].id, "score": scores[i]} for i in order]
        if explain:
            self.explain(out, order, matrix)
        return out

    async def fetch(self, request: RankingEvent) -> dict[str, tuple[list[str], tuple]]:
        """Per state read, (its scope ids, their stored records in that order): one store round trip, one
        hash per scope id. The states read for the same scope ids (``FeatureSet.key_groups``: every item's,
        say) are fetched and decoded together, a row per scope id."""
        prefix, lookups, plan = self.layout.key_prefix, [], []
        for sids, states in self.features.key_groups(request):
            fields, cache = self._shape(tuple(states))
            lookups += [(prefix + sid, fields) for sid in sids]
            plan.append((sids, states, cache))
        replies = await self.read(lookups)
        columns: dict[str, tuple[list[str], tuple]] = {}
        start = 0
        for sids, states, cache in plan:
            end = start + len(sids)
            rows = [cache.get(blobs) or self._decode_row(states, blobs) for blobs in map(tuple, replies[start:end])]
            ids = list(sids)
            for state, column in zip(states, zip(*rows, strict=True), strict=True):
                columns[state] = (ids, column)
            start = end
        return columns

    async def fetch_states(self, wanted: dict[str, list[str]]) -> dict[str, tuple[list[str], tuple]]:
        """Per state, the records of the given scope ids: one store round trip."""
        prefix = self.layout.key_prefix
        lookups = [(prefix + sid, (self.namespaces[state],)) for state, sids in wanted.items() for sid in sids]
        replies = iter(await self.read(lookups))
        out = {}
        for state, sids in wanted.items():
            blobs = [next(replies)[0] for _ in sids]
            out[state] = (sids, tuple(None if blob is None else self._decode(state, blob) for blob in blobs))
        return out

    async def _read(self, lookups: Sequence[Lookup]) -> list[list[bytes | None]]:
        return self.store.get_many(lookups)

    def matrix(self, values: dict[str, list], n: int) -> np.ndarray:
        """(items x model columns) float64, in the scorer's column order."""
        columns = row_matrix(values, self.names)
        if not columns:
            return np.empty((n, 0))
        matrix = np.array(columns, dtype=np.float64).T
        return matrix if self.order is None else matrix[:, self.order]

    def explain(self, out: list[dict], order: list[int], matrix: np.ndarray) -> None:
        names = self.scorer.columns or self.columns
        contributions = self.scorer.contributions(matrix)
        for row, i in zip(out, order, strict=True):
            row["features"] = {c: _json_float(v) for c, v in zip(names, matrix[i].tolist(), strict=True)}
            if contributions is not None:
                row["contributions"] = dict(zip(names, contributions[i].tolist(), strict=True))

    def _shape(self, shape: tuple[str, ...]) -> tuple[tuple[str, ...], dict]:
        """(the hash fields of these states, their decoded rows by the tuple of stored bytes)."""
        known = self.shapes.get(shape)
        if known is None:
            known = self.shapes[shape] = (tuple(self.namespaces[state] for state in shape), {})
        return known

    def _decode_row(self, shape: list[str], blobs: tuple[bytes | None, ...]) -> tuple:
        if self.cached >= CACHE_LIMIT:
            self.cached = 0
            for cache in (*self.blobs.values(), *(c for _, c in self.shapes.values())):
                cache.clear()
        self.cached += 1 + len(blobs)
        row = tuple(
            None if blob is None else self._decode(state, blob)
            for state, blob in zip(shape, blobs, strict=True)
        )
        self.shapes[tuple(shape)][1][blobs] = row
        return row

    def _decode(self, state: str, blob: bytes) -> tuple:
        cache = self.blobs[state]
        record = cache.get(blob)
        if record is None:
            record = cache[blob] = decode(self.specs[state], blob)
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
