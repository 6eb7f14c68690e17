"""The trained ranker artifact: a booster file plus ``<path>.meta.json``, shared by training and the API.

Files (format version 1)::

    <models.<name>.path>            XGBoost JSON model or LightGBM text model
    <models.<name>.path>.meta.json  backend, columns in order, categorical columns, feature names, feature
                                    config hashes, booster params, metrics and dataset counts

``load_ranker`` refuses a config whose feature list or feature definitions differ from the ones the model was
trained with: the booster's columns would silently mean something else. Scoring takes a row-major float
matrix (rows = ranked items, columns = ``Ranker.columns``, NaN = missing).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

FORMAT_VERSION = 1
BACKENDS = ("xgboost", "lightgbm")


class ModelError(ValueError):
    """A trained model cannot be loaded: missing files, unknown format or backend."""


class ModelMismatchError(ModelError):
    """The config's features differ from the ones the model was trained with."""


@dataclass
class RankerMeta:
    """What the booster was trained on; stored as JSON beside it."""

    model: str
    backend: str
    columns: list[str]
    categorical: list[str]
    features: list[str]
    feature_hashes: dict[str, str]
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    format: int = FORMAT_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str, where: str) -> RankerMeta:
        raw = json.loads(text)
        if raw.get("format") != FORMAT_VERSION:
            raise ModelError(f"{where}: model format {raw.get('format')!r} is not supported, expected {FORMAT_VERSION}")
        if raw.get("backend") not in BACKENDS:
            raise ModelError(f"{where}: backend {raw.get('backend')!r} is not supported, expected one of: {', '.join(BACKENDS)}")
        return cls(**raw)


def meta_path(path: str | Path) -> Path:
    return Path(f"{path}.meta.json")


class Ranker:
    """A loaded booster: ``score`` for ranking, ``contributions`` for explain."""

    def __init__(self, meta: RankerMeta, booster: Any) -> None:
        self.meta, self.booster = meta, booster
        self.columns = meta.columns

    @classmethod
    def from_bytes(cls, meta: RankerMeta, raw: bytes) -> Ranker:
        if meta.backend == "xgboost":
            import xgboost as xgb

            booster = xgb.Booster()
            booster.load_model(bytearray(raw))
            return cls(meta, booster)
        import lightgbm as lgb

        return cls(meta, lgb.Booster(model_str=raw.decode()))

    def to_bytes(self) -> bytes:
        if self.meta.backend == "xgboost":
            return bytes(self.booster.save_raw(raw_format="json"))
        return self.booster.model_to_string().encode()

    def score(self, matrix: np.ndarray) -> np.ndarray:
        """One score per row (higher ranks first)."""
        matrix = self._check(matrix)
        if self.meta.backend == "xgboost":
            return np.asarray(self.booster.inplace_predict(matrix, missing=np.nan), dtype=np.float64)
        return np.asarray(self.booster.predict(matrix, raw_score=True), dtype=np.float64)

    def contributions(self, matrix: np.ndarray) -> np.ndarray:
        """Per-row SHAP contributions, shape (rows, len(columns) + 1): one per column, then the bias.

        Each row sums to its score.
        """
        matrix = self._check(matrix)
        if self.meta.backend == "xgboost":
            import xgboost as xgb

            dmatrix = xgb.DMatrix(matrix, missing=np.nan, feature_names=self.columns, feature_types=self._xgb_types())
            return np.asarray(self.booster.predict(dmatrix, pred_contribs=True), dtype=np.float64)
        return np.asarray(self.booster.predict(matrix, pred_contrib=True), dtype=np.float64)

    def _xgb_types(self) -> list[str] | None:
        categorical = set(self.meta.categorical)
        return ["c" if c in categorical else "q" for c in self.columns] if categorical else None

    def _check(self, matrix: np.ndarray) -> np.ndarray:
        matrix = np.asarray(matrix, dtype=np.float64)
        if matrix.ndim != 2 or matrix.shape[1] != len(self.columns):
            raise ValueError(f"model '{self.meta.model}' scores {len(self.columns)} columns, got shape {matrix.shape}")
        return matrix


def save_ranker(path: str | Path, ranker: Ranker) -> None:
    """Write the booster and its meta file (each atomically; the meta last)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(path, ranker.to_bytes())
    _atomic_write(meta_path(path), ranker.meta.to_json().encode())


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def read_ranker(path: str | Path) -> Ranker:
    """Load a model without checking it against a config."""
    path, meta_file = Path(path), meta_path(path)
    if not path.is_file() or not meta_file.is_file():
        missing = path if not path.is_file() else meta_file
        raise ModelError(f"{missing} does not exist: run `rankstream train` first")
    return Ranker.from_bytes(RankerMeta.from_json(meta_file.read_text(), str(meta_file)), path.read_bytes())


def load_ranker(
    path: str | Path, config: Any, model_name: str, read: Callable[[str | Path], Ranker] = read_ranker
) -> Ranker:
    """Load a model (with ``read``: from a local file by default) and check that ``config`` defines the
    features it was trained with."""
    model = config.models.get(model_name)
    if getattr(model, "type", None) != "lambdamart":
        raise ModelError(f"model '{model_name}' is not a lambdamart model of the config")
    ranker = read(path)
    names = list(model.features)
    hashes = {name: config.feature(name).config_hash() for name in names}
    problem = feature_mismatch(model_name, ranker.meta, names, hashes)
    if problem:
        raise ModelMismatchError(problem)
    return ranker


def feature_mismatch(model: str, meta: RankerMeta, names: list[str], hashes: dict[str, str]) -> str | None:
    """Why a config's features (names in order, config hashes) do not fit a trained model, or None."""
    trained = meta.features
    if names != trained:
        missing = [n for n in trained if n not in names]
        new = [n for n in names if n not in trained]
        what = ", ".join(filter(None, [_listed("missing", missing), _listed("new", new)])) or "different order"
        return (
            f"model '{model}' was trained with features [{', '.join(trained)}] "
            f"but the config defines [{', '.join(names)}]: {what}"
        )
    changed = [n for n in names if meta.feature_hashes.get(n) != hashes[n]]
    if changed:
        return f"model '{model}' was trained with other definitions of features: {', '.join(changed)}"
    return None


def _listed(label: str, names: list[str]) -> str:
    return f"{label} {', '.join(names)}" if names else ""
