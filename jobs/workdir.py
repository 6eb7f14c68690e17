"""The bootstrap workdir: training datasets, latest feature values and the manifest.

Layout (a local path, or ``s3://bucket/prefix`` with the same keys: ``jobs.s3workdir``)::

    <workdir>/dataset/<model>.parquet     training rows (feature_ops.dataset, format version 1)
    <workdir>/values/values.jsonl.gz      latest state record per (state, scope id), sorted
    <workdir>/values/item-fields.jsonl.gz the item fields the engine joins onto interactions
    <workdir>/values/sessions.jsonl.gz    clickthrough sessions still open (feature_ops.sessions)
    <workdir>/savepoint/savepoint-<id>/   Flink savepoints (flink engine only; the manifest names the current one)
    <workdir>/manifest.json               engine, config hash, counts, timings, savepoint, each output's size
                                          and SHA-256 (jobs.manifest); written last
    <workdir>/.staging-<run>/             a running bootstrap's outputs before publication (jobs.staging)
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from feature_ops.baselines import dataset_columns
from feature_ops.clickthrough import Clickthrough, Pending
from feature_ops.codec import record_from_json, record_to_json
from feature_ops.config import Config, LambdaMARTModel
from feature_ops.dataset import KEY_COLUMNS, DatasetSchema, clickthrough_rows
from feature_ops.featureset import FeatureSet
from feature_ops.sessions import session_from_json, sessions_to_json
from jobs.errors import WorkdirError
from jobs.manifest import check_workdir
from serving.s3 import is_s3


def local_workdir(path: str, create: bool = True) -> Path:
    """The local directory of workdir ``path``: the path itself, or an ``s3://`` workdir's scratch directory."""
    if is_s3(path):
        from jobs.s3workdir import scratch_root

        return scratch_root(path)
    if "://" in path:
        raise WorkdirError(f"workdir {path}: only local paths and s3://bucket/prefix are supported")
    root = Path(path)
    if create:
        try:
            root.mkdir(parents=True, exist_ok=True)
            probe = root / ".write-test"
            probe.write_text("")
            probe.unlink()
        except OSError as e:
            raise WorkdirError(f"workdir {root} is not writable: {e.strerror}") from None
    return root


def completed_workdir(path: str, *needed: str) -> Path:
    """The workdir of a completed bootstrap whose outputs match its manifest and include ``needed``
    (names like ``values/values.jsonl.gz``); otherwise a ``WorkdirError`` saying what is wrong. An ``s3://``
    workdir is checked, and a local copy holding ``needed`` returned."""
    if is_s3(path):
        from jobs.s3workdir import fetch

        return fetch(path, *needed)
    root = local_workdir(path, create=False)
    check_workdir(root, *needed)
    return root


def _schema(schema: DatasetSchema) -> pa.Schema:
    fields = [
        pa.field("ranking", pa.string()),
        pa.field("timestamp", pa.int64()),
        pa.field("user", pa.string()),
        pa.field("session", pa.string()),
        pa.field("item", pa.string()),
        pa.field("position", pa.int32()),
        pa.field("label", pa.float64()),
    ] + [pa.field(c, pa.float64()) for c in schema.value_columns]
    return pa.schema(fields, metadata=schema.metadata())


class DatasetWriter:
    """Streams clickthroughs into one Parquet file per lambdamart model."""

    def __init__(self, root: Path, config: Config, features: FeatureSet, row_group: int = 65_536) -> None:
        (root / "dataset").mkdir(parents=True, exist_ok=True)
        self.models = {
            name: (m, DatasetSchema.for_model(name, features, m.features, dataset_columns(m.weights)))
            for name, m in config.models.items()
            if isinstance(m, LambdaMARTModel)
        }
        self.paths = {name: root / "dataset" / f"{name}.parquet" for name in self.models}
        self.writers = {name: pq.ParquetWriter(self.paths[name], _schema(s)) for name, (_, s) in self.models.items()}
        self.buffers: dict[str, dict[str, list]] = {name: {} for name in self.models}
        self.rows = dict.fromkeys(self.models, 0)
        self.row_group = row_group

    def add(self, ct: Clickthrough) -> None:
        for name, (model, schema) in self.models.items():
            rows = clickthrough_rows(ct, schema, model.weights)
            buffer = self.buffers[name]
            for column, values in rows.items():
                buffer.setdefault(column, []).extend(values)
            self.rows[name] += len(rows["item"])
            if len(buffer["item"]) >= self.row_group:
                self._write(name)

    def _write(self, name: str) -> None:
        buffer = self.buffers[name]
        if buffer:
            schema = self.writers[name].schema
            self.writers[name].write_table(pa.table(buffer, schema=schema))
            self.buffers[name] = {}

    def close(self) -> dict[str, int]:
        for name, writer in self.writers.items():
            self._write(name)
            writer.close()
        return dict(self.rows)


def write_values(root: Path, features: FeatureSet, records: Iterable[tuple[str, str, tuple]]) -> int:
    """The latest record per (state, scope id) as sorted JSON lines; returns how many."""
    rows = ({"state": state, "id": sid, "record": record_to_json(features.specs[state], record)}
            for state, sid, record in records)  # fmt: skip
    return _write_rows(root / "values" / "values.jsonl.gz", rows)


def write_item_fields(root: Path, items: Iterable[tuple[str, dict]]) -> int:
    """The engine's item field store (what interactions join) as JSON lines: the API's standalone engine
    needs it to join feedback interactions on bootstrapped items."""
    rows = ({"item": item, "fields": {name: list(v) if isinstance(v, tuple) else v for name, v in fields.items()}}
            for item, fields in items)  # fmt: skip
    return _write_rows(root / "values" / "item-fields.jsonl.gz", rows)


def _write_rows(path: Path, rows: Iterable[dict]) -> int:
    """JSON objects as a gzipped JSON-lines output (zero mtime: the same rows give the same bytes); returns
    how many."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with gzip.GzipFile(path, "wb", mtime=0) as out:
        for row in rows:
            out.write(orjson.dumps(row) + b"\n")
            count += 1
    return count


def _rows(path: Path) -> Iterator[dict]:
    """The JSON objects of a gzipped JSON-lines output, or an error pointing to the bootstrap."""
    if not path.exists():
        raise WorkdirError(f"{path} does not exist: run `rankstream bootstrap` first")
    try:
        with gzip.open(path, "rb") as stream:
            for line in stream:
                yield orjson.loads(line)
    except (EOFError, OSError, zlib.error, orjson.JSONDecodeError) as e:
        raise WorkdirError(f"{path} is damaged or truncated ({str(e).strip()}): run `rankstream bootstrap` again") from None


def read_item_fields(root: Path) -> Iterator[tuple[str, dict]]:
    for row in _rows(root / "values" / "item-fields.jsonl.gz"):
        yield row["item"], {k: tuple(v) if isinstance(v, list) else v for k, v in row["fields"].items()}


def write_sessions(root: Path, sessions: Iterable[tuple[str, Pending]]) -> int:
    """The engine's open clickthrough sessions as JSON lines: the API's standalone engine continues them, so
    feedback on a ranking near the end of the bootstrap joins it and injects impressions."""
    return _write_rows(root / "values" / "sessions.jsonl.gz", sessions_to_json(sessions))


def read_sessions(root: Path) -> Iterator[tuple[str, Pending]]:
    return map(session_from_json, _rows(root / "values" / "sessions.jsonl.gz"))


def read_values(root: Path, features: FeatureSet) -> Iterator[tuple[str, str, tuple]]:
    """(state, scope id, record) from a values file, skipping states the config no longer defines."""
    for row in _rows(root / "values" / "values.jsonl.gz"):
        spec = features.specs.get(row["state"])
        if spec is not None:
            yield row["state"], row["id"], record_from_json(spec, row["record"])


def read_dataset(root: Path, model: str) -> pa.Table:
    """A model's training rows, from a workdir whose last bootstrap completed and wrote them."""
    check_workdir(root, f"dataset/{model}.parquet")
    path = root / "dataset" / f"{model}.parquet"
    try:
        return pq.ParquetFile(path).read()  # tolerates a feature column named like a key column (e.g. position)
    except (OSError, pa.ArrowInvalid) as e:
        raise WorkdirError(f"{path} is damaged or truncated ({str(e).strip()}): run `rankstream bootstrap` again") from None


__all__ = [
    "KEY_COLUMNS", "DatasetWriter", "WorkdirError", "completed_workdir", "local_workdir", "read_dataset", "write_values",
]
