"""The training dataset as numpy arrays: a feature matrix, labels and ranking-group offsets.

Rows of one ranking are contiguous in the Parquet file, so a group is a slice ``offsets[g]:offsets[g+1]``.
Columns go from Arrow to numpy directly; nothing is regrouped in Python.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from feature_ops.dataset import KEY_COLUMNS
from jobs.train.errors import TrainError


class DatasetError(TrainError):
    """The dataset file cannot be trained on; the message says why."""


@dataclass
class Part:
    """Some ranking groups of the dataset: their rows, labels, positions and offsets."""

    X: np.ndarray
    label: np.ndarray
    position: np.ndarray
    offsets: np.ndarray
    groups: np.ndarray
    baselines: dict[str, np.ndarray] = field(default_factory=dict)
    """The built-in baseline columns (``baseline_clicks``, ``baseline_ctr``): scores, not model features."""

    @property
    def sizes(self) -> np.ndarray:
        return np.diff(self.offsets)

    @property
    def rows(self) -> int:
        return len(self.label)


@dataclass
class Dataset:
    """A model's whole dataset; ``group_*`` arrays hold one value per ranking."""

    model: str
    columns: list[str]
    categorical: list[str]
    features: list[str]
    table: pa.Table
    all: Part
    group_time: np.ndarray
    group_user: np.ndarray

    @property
    def groups(self) -> int:
        return len(self.group_time)

    def part(self, mask: np.ndarray) -> Part:
        """The groups where ``mask`` is true, in dataset order."""
        groups = np.flatnonzero(mask)
        rows = np.repeat(mask, self.all.sizes)
        offsets = np.concatenate([[0], np.cumsum(self.all.sizes[groups])])
        baselines = {name: values[rows] for name, values in self.all.baselines.items()}
        return Part(self.all.X[rows], self.all.label[rows], self.all.position[rows], offsets, groups, baselines)

    def key(self, name: str, rows: np.ndarray) -> list:
        """Values of a key column (ranking, item, user, ...) at some row indexes."""
        return self.table.column(KEY_COLUMNS.index(name)).take(pa.array(rows)).to_pylist()


def from_table(table: pa.Table, model: str) -> Dataset:
    """Arrays of a dataset table written by the bootstrap (feature_ops.dataset format 1)."""
    meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
    if meta.get("rankstream.format") != "1":
        raise DatasetError(f"dataset of model '{model}': format {meta.get('rankstream.format')!r} is not supported, expected '1'")
    columns = json.loads(meta["rankstream.columns"])
    baselines = json.loads(meta.get("rankstream.baselines", "[]"))
    if table.num_rows == 0:
        raise DatasetError(f"dataset of model '{model}' has no rows: were there any clickthroughs?")
    width = len(KEY_COLUMNS) + len(columns) + len(baselines)
    if table.schema.names[: len(KEY_COLUMNS)] != list(KEY_COLUMNS) or table.num_columns != width:
        raise DatasetError(f"dataset of model '{model}': columns do not match its rankstream.columns metadata")
    key = {name: table.column(i) for i, name in enumerate(KEY_COLUMNS)}
    X = np.empty((table.num_rows, len(columns)), dtype=np.float64, order="F")
    for i in range(len(columns)):
        X[:, i] = _floats(table.column(len(KEY_COLUMNS) + i))
    ranking = _codes(key["ranking"])
    starts = np.flatnonzero(np.concatenate([[True], ranking[1:] != ranking[:-1]]))
    if len(starts) != len(np.unique(ranking)):
        raise DatasetError(f"dataset of model '{model}': rows of one ranking are not contiguous")
    offsets = np.append(starts, table.num_rows)
    first = len(KEY_COLUMNS) + len(columns)
    extra = {name: _floats(table.column(first + i)) for i, name in enumerate(baselines)}
    part = Part(X, _floats(key["label"]), key["position"].to_numpy(), offsets, np.arange(len(starts)), extra)
    return Dataset(
        model,
        columns,
        json.loads(meta.get("rankstream.categorical", "[]")),
        json.loads(meta.get("rankstream.features", "[]")),
        table,
        part,
        key["timestamp"].to_numpy()[starts],
        _codes(key["user"])[starts],
    )


def _floats(column: pa.ChunkedArray) -> np.ndarray:
    return pc.fill_null(column, np.nan).to_numpy() if column.null_count else column.to_numpy()


def _codes(column: pa.ChunkedArray) -> np.ndarray:
    """Integer codes of a string column (equal strings, equal codes; nulls share one code)."""
    encoded = pc.dictionary_encode(pc.fill_null(column, "")).combine_chunks()
    return encoded.indices.to_numpy()
