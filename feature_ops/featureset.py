"""The configured features as one unit: their states, salted namespaces, writes and ranking-time values.

This is the code every host runs: the embedded engine, the Flink operators and the API.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from math import isinf
from typing import Any

from feature_ops.events import Event, RankingEvent
from feature_ops.features import build_feature
from feature_ops.features.base import (
    ALL_KINDS,
    NAN,
    Feature,
    FeatureConfig,
    Key,
    RankingContext,
    StateReader,
    Write,
    request_scope_id,
)
from feature_ops.state import StateSpec


class FeatureSet:
    """Features built from their configs, with every named state's spec and namespace."""

    def __init__(self, configs: Sequence[FeatureConfig]) -> None:
        self.features: list[Feature] = [build_feature(c) for c in configs]
        check_names(self.features)
        self.by_name = {f.name: f for f in self.features}
        self.specs: dict[str, StateSpec] = {}
        self.namespaces: dict[str, str] = {}
        for feature in self.features:
            salt = feature.config.config_hash()
            for state, spec in feature.states().items():
                self.specs[state] = spec
                self.namespaces[state] = f"{state}@{salt}"
        self.write_targets = {state: (self.namespaces[state], spec) for state, spec in self.specs.items()}
        self.read_meta = {state: (self.namespaces[state], spec.ttl) for state, spec in self.specs.items()}
        self.ttls = {state: spec.ttl for state, spec in self.specs.items()}
        self._dependent = [f for f in self.features if type(f).dependent_keys is not Feature.dependent_keys]
        self.dependent_states = frozenset().union(*(f.dependent_states() for f in self.features))
        """States the second read step's keys are named from (``Feature.dependent_states``)."""
        self.writers = {kind: [f for f in self.features if kind in f.write_kinds()] for kind in ALL_KINDS}
        self._by_type: dict[str, list[Feature]] = {}
        self._scoped: dict[str, list[str]] = {}
        for feature in self.features:
            for state, scope in feature.key_scopes().items():
                self._scoped.setdefault(scope, []).append(state)
        self._keyed = [f for f in self.features if type(f).keys is not Feature.keys]
        self.item_fields = frozenset().union(*(f.item_fields() for f in self.features))
        digest = hashlib.sha1(",".join(f.config.config_hash() for f in self.features).encode())
        self.fingerprint = digest.hexdigest()[:8]

    def writes(self, event: Event) -> list[Write]:
        out: list[Write] = []
        kind = event.kind
        for feature in self.writers[kind] if kind != "interaction" else self._interaction_writers(event.type):
            out.extend(feature.writes(event))
        return out

    def _interaction_writers(self, type_: str) -> list[Feature]:
        writers = self._by_type.get(type_)
        if writers is None:
            writers = [f for f in self.writers["interaction"] if _writes_type(f, type_)]
            self._by_type[type_] = writers
        return writers

    def keys(self, request: RankingEvent) -> list[Key]:
        """Every (state, scope id) the features read to rank this request."""
        out: list[Key] = []
        for feature in self.features:
            out.extend(feature.keys(request))
        return out

    def key_groups(self, request: RankingEvent) -> list[tuple[tuple[str, ...], list[str]]]:
        """``keys(request)`` grouped by scope ids: (distinct scope ids, the states read for each of them).

        Built per scope (every item-scoped state shares one id tuple), not per (state, scope id) pair.
        """
        groups: dict[tuple[str, ...], list[str]] = {}
        for scope, states in self._scoped.items():
            if scope == "item":
                ids = tuple(dict.fromkeys([item.id for item in request.items]))
            else:
                sid = request_scope_id(scope, request)
                ids = () if sid is None else (sid,)
            if ids:
                groups.setdefault(ids, []).extend(states)
        by_state: dict[str, dict[str, None]] = {}
        for feature in self._keyed:
            for state, sid in feature.keys(request):
                by_state.setdefault(state, {})[sid] = None
        for state, sids in by_state.items():
            groups.setdefault(tuple(sids), []).append(state)
        return list(groups.items())

    def dependent_keys(self, request: RankingEvent, reader: StateReader, now: int) -> dict[str, list[str]]:
        """State -> scope ids of the second read step (``Feature.dependent_keys``), given the first read."""
        out: dict[str, dict[str, None]] = {}
        if self._dependent:
            ctx = RankingContext(request, reader, now, True)
            for feature in self._dependent:
                for state, sid in feature.dependent_keys(ctx):
                    out.setdefault(state, {})[sid] = None
        return {state: list(sids) for state, sids in out.items()}

    def values(self, request: RankingEvent, reader: StateReader, now: int, online: bool) -> dict[str, list]:
        """Feature name -> its value columns (one list of floats per column, one float per item)."""
        ctx = RankingContext(request, reader, now, online)
        return {f.name: finite_columns(f.values(ctx)) for f in self.features}

    def columns(self, names: Iterable[str]) -> list[str]:
        return [c for n in names for c in self.by_name[n].columns()]

    def categorical(self, names: Iterable[str]) -> list[str]:
        return [c for n in names if self.by_name[n].categorical for c in self.by_name[n].columns()]


def check_names(features: Sequence[Feature]) -> None:
    """Reject two features that keep a state, or write a column, of the same name: state is keyed by the bare
    state name and dataset columns by the bare column name, so one would silently read or overwrite the other.

    >>> from feature_ops.features import AnyFeatureConfig
    >>> from pydantic import TypeAdapter
    >>> configs = TypeAdapter(list[AnyFeatureConfig]).validate_python([
    ...     {"name": "ctr", "type": "rate", "top": "click", "bottom": "impression", "periods": [7]},
    ...     {"name": "ctr_click", "type": "interaction_count", "interaction": "click"}])
    >>> check_names([build_feature(c) for c in configs])
    Traceback (most recent call last):
    ...
    ValueError: feature 'ctr_click' collides with the state 'ctr_click' of feature 'ctr' (rate); rename one of them
    """
    for what in ("state", "column"):
        owners: dict[str, Feature] = {}
        for feature in features:
            for name in feature.states() if what == "state" else feature.columns():
                other = owners.setdefault(name, feature)
                if other is not feature:
                    raise ValueError(_collision(what, name, other, feature))


def _collision(what: str, name: str, first: Feature, second: Feature) -> str:
    if name in (first.name, second.name):
        own, derived = (first, second) if name == first.name else (second, first)
        return (
            f"feature '{own.name}' collides with the {what} '{name}' of feature '{derived.name}' "
            f"({derived.type_name}); rename one of them"
        )
    return (
        f"features '{first.name}' ({first.type_name}) and '{second.name}' ({second.type_name}) both have a "
        f"{what} named '{name}'; rename one of them"
    )


def finite_columns(columns: list[list[float]]) -> list[list[float]]:
    """±inf (a vector's sum of 1e308s) becomes NaN, missing: training rows and served values never hold inf."""
    for i, column in enumerate(columns):
        if any(map(isinf, column)):
            columns[i] = [NAN if isinf(v) else v for v in column]
    return columns


class RecordReader:
    """Reads visible states at ``now`` from raw records looked up by (namespace, scope id).

    Same rule as ``feature_ops.state.visible``, inlined: this is the hottest call of ranking.
    """

    __slots__ = ("meta", "now")

    def __init__(self, features: FeatureSet, lookup, now: int, getters: Mapping[str, Callable] | None = None) -> None:
        """``lookup(namespace, scope id) -> record``, or ``getters[namespace](scope id)`` where faster."""
        self.now = now
        self.meta = {
            state: (getters[ns] if getters is not None else partial(lookup, ns), ttl)
            for state, (ns, ttl) in features.read_meta.items()
        }

    def get(self, state: str, scope_id: str) -> Any | None:
        getter, ttl = self.meta[state]
        record = getter(scope_id)
        if record is None or self.now - record[1] > ttl:
            return None
        return record[0] if len(record) == 2 else record[2]

    def get_many(self, state: str, scope_ids: Sequence[str | None]) -> list[Any | None]:
        """``get`` for each scope id (None for a None id), in one call: ranking reads one state per item."""
        getter, ttl = self.meta[state]
        oldest = self.now - ttl
        if None in scope_ids:
            records: Iterable = (None if sid is None else getter(sid) for sid in scope_ids)
        else:
            records = map(getter, scope_ids)
        # record[-2] is the visible state of both record shapes: (state, ts) and (state, ts, shown, shown_ts)
        return [None if record is None or record[1] < oldest else record[-2] for record in records]


class ColumnReader:
    """Reads visible states at ``now`` from fetched columns: per state, its scope ids and their records in
    the same order (the API's store read, one column per state of ``key_groups``). Same rule as
    ``RecordReader``; ``get_many`` of exactly a column's ids (every item's, say) reads the column as is.
    """

    __slots__ = ("columns", "dicts", "now", "ttls")

    def __init__(self, features: FeatureSet, columns: Mapping[str, tuple[list[str], Sequence]], now: int) -> None:
        self.ttls = features.ttls
        self.columns = columns
        self.now = now
        self.dicts: dict[str, dict[str, Any]] = {}

    def _records(self, state: str) -> dict[str, Any]:
        records = self.dicts.get(state)
        if records is None:
            column = self.columns.get(state)
            records = self.dicts[state] = {} if column is None else dict(zip(*column, strict=True))
        return records

    def get(self, state: str, scope_id: str) -> Any | None:
        record = self._records(state).get(scope_id)
        if record is None or self.now - record[1] > self.ttls[state]:
            return None
        return record[0] if len(record) == 2 else record[2]

    def get_many(self, state: str, scope_ids: Sequence[str | None]) -> list[Any | None]:
        oldest = self.now - self.ttls[state]
        column = self.columns.get(state)
        if column is not None and column[0] == scope_ids:
            records: Iterable = column[1]
        else:
            get = self._records(state).get
            records = (None if sid is None else get(sid) for sid in scope_ids)
        return [None if record is None or record[1] < oldest else record[-2] for record in records]


def _writes_type(feature: Feature, type_: str) -> bool:
    types = feature.interaction_types()
    return types is None or type_ in types


def row_matrix(values: dict[str, list], names: Sequence[str]) -> list[list[float]]:
    """Columns of the named features, in order: the model's feature matrix in column-major form."""
    return [col for name in names for col in values[name]]
