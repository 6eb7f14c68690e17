"""The rankstream configuration: Metarank 0.4.1's YAML (features, models, bootstrap, inference) plus the
0.7 keys that do not conflict (``core.clickthrough``, model ``split`` and ``eval``).

Strict: unknown keys and wrong types are errors naming the key path; cross references are checked.
``METARANK_WORKDIR`` / ``RANKSTREAM_WORKDIR`` override ``bootstrap.workdir`` and ``METARANK_BOOTSTRAP_PATH`` /
``RANKSTREAM_BOOTSTRAP_PATH`` override the bootstrap file source path.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, Field, ValidationError, field_validator, model_validator

from feature_ops.baselines import PREFIX as BASELINE_PREFIX
from feature_ops.baselines import baseline_features
from feature_ops.features import FEATURE_TYPES, AnyFeatureConfig, build_feature
from feature_ops.featureset import check_names
from feature_ops.sources import EventSource, FileSource
from feature_ops.timestamps import TimestampPolicy
from feature_ops.types import STRICT, PathStr, PositiveDuration
from feature_ops.update import UpdateConfig


class ConfigError(ValueError):
    """A configuration problem; the message names the key path and what was expected."""


class XGBoostBackend(BaseModel):
    """XGBoost LambdaMART. The defaults come from the sweep in the README (Training): shallow trees, early
    stopping on the validation part picks the rounds below the ``iterations`` cap."""

    model_config = STRICT
    type: Literal["xgboost"]
    iterations: int = Field(300, gt=0)
    learningRate: float = Field(0.15, gt=0)
    ndcgCutoff: int = Field(10, gt=0)
    maxDepth: int = Field(3, gt=0)
    seed: int = 0
    sampling: float = Field(1.0, gt=0, le=1)
    objective: Literal["rank:ndcg", "rank:pairwise", "rank:map"] = "rank:ndcg"
    earlyStopping: int = Field(50, ge=0)
    """Patience: stop after this many rounds without a better validation metric (0: run every iteration)."""
    minChildWeight: float = Field(1.0, ge=0)


class LightGBMBackend(BaseModel):
    """LightGBM LambdaMART; defaults from the sweep in the README (Training), like XGBoost's."""

    model_config = STRICT
    type: Literal["lightgbm"]
    iterations: int = Field(300, gt=0)
    learningRate: float = Field(0.15, gt=0)
    ndcgCutoff: int = Field(10, gt=0)
    maxDepth: int = Field(3, gt=0)
    seed: int = 0
    numLeaves: int = Field(16, gt=1)
    sampling: float = Field(1.0, gt=0, le=1)
    earlyStopping: int = Field(50, ge=0)
    """Patience: stop after this many rounds without a better validation metric (0: run every iteration)."""
    minChildWeight: float = Field(0.001, ge=0)


Backend = Annotated[XGBoostBackend | LightGBMBackend, Field(discriminator="type")]
_SPLIT = re.compile(r"(time|random|hold_last)=([0-9]{1,2})%")
_METRIC = re.compile(r"(ndcg|map|mrr)(@[0-9]+)?")
_MODEL_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*")


def _port(value: int) -> int:
    if not 1 <= value <= 65535:
        raise ValueError(f"must be a TCP port in 1..65535, got {value}")
    return value


Port = Annotated[int, AfterValidator(_port)]


class LambdaMARTModel(BaseModel):
    """A learned ranker: booster settings, interaction weights (labels) and the features it uses."""

    model_config = STRICT
    type: Literal["lambdamart"]
    path: PathStr
    backend: Backend
    weights: dict[str, float] = Field(min_length=1)
    features: list[str] = Field(min_length=1)
    split: str = "time=80%"
    validation: str = "15%"
    """Share of the train rankings (newest for time= splits) that early stopping and --tune score on."""
    refit: bool = True
    """After choosing the rounds on the validation part, train again on every train ranking."""
    eval: list[str] = Field(default_factory=lambda: ["ndcg@10"])

    @field_validator("split")
    @classmethod
    def _split(cls, value: str) -> str:
        if not _SPLIT.fullmatch(value):
            raise ValueError(f"split must be time=N%, random=N% or hold_last=N%, got '{value}'")
        return value

    @field_validator("validation")
    @classmethod
    def _validation(cls, value: str) -> str:
        if not re.fullmatch(r"[0-9]{1,2}%", value):
            raise ValueError(f"validation must be a share of the train rankings like 15% (0% to 99%), got '{value}'")
        return value

    @field_validator("eval")
    @classmethod
    def _eval(cls, value: list[str]) -> list[str]:
        for metric in value:
            if not _METRIC.fullmatch(metric):
                raise ValueError(f"eval metric must be ndcg, map or mrr with an optional @N, got '{metric}'")
        return value


class ShuffleModel(BaseModel):
    model_config = STRICT
    type: Literal["shuffle"]
    maxPositionChange: int = Field(gt=0)


class NoopModel(BaseModel):
    model_config = STRICT
    type: Literal["noop"]


class FallbackModel(BaseModel):
    """A ranker without training: ``popularity`` orders by the item's ``interaction`` count so far, ``ctr`` by
    its smoothed click-through rate (the built-in baselines, ``feature_ops.baselines``); ties keep the
    request order. For new sites without a model, or as the floor a trained model must beat."""

    model_config = STRICT
    type: Literal["popularity", "ctr"]
    interaction: str = "click"


ModelConfig = Annotated[LambdaMARTModel | ShuffleModel | NoopModel | FallbackModel, Field(discriminator="type")]


class SyntheticImpression(BaseModel):
    """Impressions the engine injects: ``cascade`` (default), every item down to the deepest interacted one
    when an interaction joins; ``all``, every ranked item when the ranking arrives (feeds shown without a
    position bias, where the deepest click says little about what was seen)."""

    model_config = STRICT
    enabled: bool = True
    eventName: str = "impression"
    mode: Literal["cascade", "all"] = "cascade"


class BootstrapConfig(BaseModel):
    model_config = STRICT
    workdir: PathStr
    parallelism: int = Field(1, gt=0)
    syntheticImpression: SyntheticImpression = SyntheticImpression()
    source: EventSource
    errors: Literal["skip", "fail"] = "skip"
    timestamps: TimestampPolicy = TimestampPolicy()


class RedisState(BaseModel):
    model_config = STRICT
    type: Literal["redis"]
    host: str = "localhost"
    port: Port = 6379
    db: int = 0
    format: Literal["binary", "json", "protobuf"] = "binary"
    prefix: str = "rs"
    timeout: PositiveDuration = 500
    """Socket timeout of every Redis call (connect, send, read): a hung Redis costs a request this long, then 503."""


class MemoryState(BaseModel):
    model_config = STRICT
    type: Literal["memory"]
    port: Port | None = None
    format: Literal["binary", "json", "protobuf"] = "binary"


StateConfig = Annotated[RedisState | MemoryState, Field(discriminator="type")]


class AuthConfig(BaseModel):
    """Bearer token the API requires on ``endpoints``: ``tokenEnv`` names the environment variable that holds
    it (keeps the secret out of the file), or ``token`` gives it inline; exactly one of them."""

    model_config = STRICT
    token: str | None = Field(None, min_length=1)
    tokenEnv: str | None = Field(None, min_length=1)
    endpoints: list[Literal["rank", "feedback", "health", "metrics", "openapi"]] = ["feedback"]

    @model_validator(mode="after")
    def _one_source(self) -> AuthConfig:
        if (self.token is None) == (self.tokenEnv is None):
            raise ValueError("set exactly one of token and tokenEnv (the environment variable holding the token)")
        return self


class FeedbackConfig(BaseModel):
    model_config = STRICT
    maxLength: int = Field(1_000_000, gt=0)
    """The ``<prefix>@feedback`` stream is trimmed to about this many events (``XADD MAXLEN ~``)."""


class InferenceConfig(BaseModel):
    model_config = STRICT
    port: Port = 8080
    host: str = "127.0.0.1"
    parallelism: int = Field(1, gt=0)
    source: EventSource
    state: StateConfig
    maxBodyBytes: int = Field(10 * 1024 * 1024, gt=0)
    maxItems: int = Field(1000, gt=0)
    maxHeaderBytes: int = Field(16 * 1024, gt=0)
    auth: AuthConfig | None = None
    feedback: FeedbackConfig = FeedbackConfig()


class ClickthroughConfig(BaseModel):
    model_config = STRICT
    maxSessionLength: PositiveDuration = 30 * 60_000
    maxParallelSessions: int = Field(100_000, gt=0)


class CoreConfig(BaseModel):
    model_config = STRICT
    clickthrough: ClickthroughConfig = ClickthroughConfig()


class Config(BaseModel):
    """The whole configuration file."""

    model_config = STRICT
    features: list[AnyFeatureConfig] = Field(min_length=1)  # type: ignore[valid-type]
    models: dict[str, ModelConfig] = Field(min_length=1)
    bootstrap: BootstrapConfig
    inference: InferenceConfig
    core: CoreConfig = CoreConfig()
    update: UpdateConfig = UpdateConfig()

    @field_validator("models")
    @classmethod
    def _model_names(cls, models: dict) -> dict:
        for name in models:
            if not _MODEL_NAME.fullmatch(name):
                raise ValueError(
                    f"model name {name!r} must use only letters, digits, '_', '.' and '-' and not start with '.' "
                    "(it names files in the workdir)"
                )
        return models

    @model_validator(mode="after")
    def _cross_references(self) -> Config:
        seen: set[str] = set()
        for i, feature in enumerate(self.features):
            if not feature.name.strip():
                raise ValueError(f"features[{i}].name: must be a non-empty string")
            if feature.name in seen:
                raise ValueError(f"feature '{feature.name}' is defined more than once")
            seen.add(feature.name)
        check_names([build_feature(f) for f in self.features])
        for name, model in self.models.items():
            for feature in getattr(model, "features", []):
                if feature not in seen:
                    raise ValueError(f"feature '{feature}' is used by model '{name}' but not defined in features")
        return self

    def feature(self, name: str):
        return next(f for f in self.all_features if f.name == name)

    @property
    def all_features(self) -> list:
        """The configured features, then the built-in baselines (``feature_ops.baselines``): what engines run."""
        weights = {n: m.weights for n, m in self.models.items() if isinstance(m, LambdaMARTModel)}
        fallback = [m.interaction for m in self.models.values() if isinstance(m, FallbackModel)]
        impression = self.bootstrap.syntheticImpression.eventName
        return [*self.features, *baseline_features(weights, fallback, impression)]

    @model_validator(mode="after")
    def _reserved_names(self) -> Config:
        for feature in self.features:
            if feature.name.startswith(BASELINE_PREFIX):
                raise ValueError(
                    f"feature '{feature.name}': names starting with '{BASELINE_PREFIX}' are reserved for the "
                    "built-in baselines"
                )
        return self


def load_config(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Read, override from the environment, and validate a YAML config file."""
    env = os.environ if env is None else env
    path = path or env.get("RANKSTREAM_CONFIG") or env.get("METARANK_CONFIG")
    if not path:
        raise ConfigError("no config given: pass a path or set RANKSTREAM_CONFIG / METARANK_CONFIG")
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"config file {file} does not exist")
    try:
        raw = yaml.safe_load(file.read_text())
    except yaml.YAMLError as e:
        raise ConfigError(f"{file}: invalid YAML: {e}") from e
    return parse_config(raw, env, where=str(file))


def parse_config(raw: Any, env: Mapping[str, str] | None = None, where: str = "config") -> Config:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping with features, models, bootstrap and inference")
    raw = _apply_env(raw, os.environ if env is None else env)
    try:
        return Config.model_validate(raw)
    except ValidationError as e:
        raise ConfigError(f"{where}: " + "\n  ".join(format_errors(e, raw))) from None


def _apply_env(raw: dict, env: Mapping[str, str]) -> dict:
    workdir = env.get("RANKSTREAM_WORKDIR") or env.get("METARANK_WORKDIR")
    source = env.get("RANKSTREAM_BOOTSTRAP_PATH") or env.get("METARANK_BOOTSTRAP_PATH")
    if not (workdir or source) or not isinstance(raw.get("bootstrap"), dict):
        return raw
    bootstrap = dict(raw["bootstrap"])
    if workdir:
        bootstrap["workdir"] = workdir
    if source and isinstance(bootstrap.get("source"), dict):
        bootstrap["source"] = {**bootstrap["source"], "path": source}
    return {**raw, "bootstrap": bootstrap}


def format_errors(error: ValidationError, raw: Any) -> list[str]:
    """One line per problem: ``key.path: what is wrong``."""
    return [_format_one(e, raw) for e in error.errors()]


def _format_one(err: dict, raw: Any) -> str:
    path = _path(err["loc"], raw)
    kind, msg = err["type"], err["msg"]
    if kind == "extra_forbidden":
        return f"{path}: unknown key"
    if kind == "missing":
        return f"{path}: required key is missing"
    if kind == "union_tag_invalid":
        tag = err.get("ctx", {}).get("tag")
        expected = err.get("ctx", {}).get("expected_tags", "")
        if path.startswith("features"):
            return f"{path}.type: feature type '{tag}' is not supported, expected one of: {', '.join(FEATURE_TYPES)}"
        return f"{path}.type: '{tag}' is not supported, expected one of: {expected}"
    if kind == "union_tag_not_found":
        return f"{path}.type: required key is missing"
    if kind == "value_error":
        msg = msg.removeprefix("Value error, ")
        return f"{path}: {msg}" if path else msg
    got = err.get("input")
    shown = "" if isinstance(got, dict | list) else f", got {got!r}"
    return f"{path}: {msg[0].lower()}{msg[1:]}{shown}"


def _path(loc: tuple, raw: Any) -> str:
    parts: list[str] = []
    node = raw
    skip_tag = False
    for part in loc:
        if skip_tag:
            skip_tag = False
            continue
        if isinstance(part, int):
            name = node[part].get("name") if isinstance(node, list) and isinstance(node[part], dict) else None
            parts[-1] += f"[{part}]" + (f" ({name})" if name else "")
        else:
            parts.append(str(part))
        skip_tag = _is_union_slot(parts, part)
        node = node[part] if _indexable(node, part) else None
    return ".".join(parts)


def _is_union_slot(parts: list[str], part: Any) -> bool:
    return isinstance(part, int) or (len(parts) >= 2 and parts[-2] == "models") or part == "source" or part in (
        "backend",
        "state",
    )


def _indexable(node: Any, part: Any) -> bool:
    if isinstance(node, list) and isinstance(part, int):
        return 0 <= part < len(node)
    return isinstance(node, dict) and part in node


__all__ = ["Config", "ConfigError", "FileSource", "load_config", "parse_config"]
