"""One training run per lambdamart model: load, split, fit, evaluate against baselines, save, report."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from feature_ops.config import Config, LambdaMARTModel
from feature_ops.ranker import Ranker, RankerMeta, meta_path, save_ranker
from jobs.s3workdir import scratch_root
from jobs.train import boosters, evaluate, report
from jobs.train import tune as tuning
from jobs.train.data import Dataset, Part, from_table
from jobs.train.errors import TrainError
from jobs.train.select import Selection, fit_selected
from jobs.train.split import split_groups
from jobs.train.tune import Trial
from jobs.workdir import completed_workdir, read_dataset
from serving import s3
from serving.s3 import is_s3

Log = Callable[[str], None]


@dataclass
class TrainResult:
    model: str
    path: Path
    report: Path
    plot: Path
    metrics: dict[str, dict[str, float]]
    counts: dict[str, int]
    best_iteration: int
    selection: Selection | None = None
    timings: dict[str, float] = field(default_factory=dict)
    trials: list[Trial] = field(default_factory=list)
    """The ``--tune`` grid, scored on the validation part (empty without --tune)."""


def lambdamart_models(config: Config, model: str | None) -> list[str]:
    names = [n for n, m in config.models.items() if isinstance(m, LambdaMARTModel)]
    if model is None:
        if not names:
            raise TrainError("the config defines no lambdamart models")
        return names
    if model not in config.models:
        raise TrainError(f"model '{model}' is not configured: expected one of {', '.join(config.models)}")
    if model not in names:
        raise TrainError(f"model '{model}' is of type '{config.models[model].type}': only lambdamart models are trained")
    return [model]


def train_models(config: Config, model: str | None = None, split: str | None = None,
                 baselines: list[str] = (), log: Log = print, tune: bool = False) -> list[TrainResult]:  # fmt: skip
    """Train one model, or every lambdamart model when ``model`` is None."""
    names = lambdamart_models(config, model)
    return [train_model(config, name, split, list(baselines), log, tune) for name in names]


def train_model(config: Config, name: str, split: str | None = None, baselines: list[str] = (),
                log: Log = print, tune: bool = False) -> TrainResult:  # fmt: skip
    """Load, split, (with ``tune``: pick booster settings on the validation part), fit with early stopping on
    the validation part, score the test split once against the baselines, save the model and its report."""
    model: LambdaMARTModel = config.models[name]  # type: ignore[assignment]
    clock = Clock()
    data = load(config, name, model)
    clock.lap("load")
    spec, seed = split or model.split, model.backend.seed
    test_mask = split_mask(data, spec, seed)
    train, test = data.part(~test_mask), data.part(test_mask)
    columns = evaluate.baseline_columns(data, list(baselines))
    metrics = evaluate.eval_metrics(model.eval)
    curve_metric = next(m for m in metrics if m.startswith("ndcg"))
    clock.lap("prepare")
    log(f"model '{name}': {model.backend.type}, split {spec}: train {len(train.groups):,} rankings "
        f"({train.rows:,} rows), test {len(test.groups):,} rankings ({test.rows:,} rows)")  # fmt: skip
    trials: list[Trial] = []
    if tune:
        model, trials = tuning.tune(model, data, test_mask, spec, curve_metric, log)
    fitted, selection = fit_selected(model, data, test_mask, spec, curve_metric, log)
    clock.lap("fit")
    counts = _counts(data, train, test)
    ranker = Ranker(_meta(config, name, data, fitted, spec, counts, selection), fitted.booster)
    scores = {name: ranker.score(test.X), **evaluate.baseline_scores(test, columns, seed)}
    results = evaluate.evaluate(test, scores, metrics)
    ranker.meta.metrics = results
    stats = report.feature_stats(data.all.X, data.columns, boosters.importance(fitted, data.columns))
    clock.lap("evaluate")
    path = local_model_path(model.path)
    save_ranker(path, ranker)
    clock.lap("save")
    log(f"iterations: {selection.describe(curve_metric)}")
    log(f"test metrics ({counts['test_evaluated']:,} rankings with a positive label), scored once:")
    log(evaluate.format_table(results, metrics))
    log(report.format_stats(stats, data.groups, data.all.rows))
    result = TrainResult(name, path, *report.report_paths(path, name), results, counts,
                         fitted.best_iteration, selection, clock.laps | {"booster": fitted.seconds}, trials)  # fmt: skip
    _write_report(result, ranker.meta, fitted, stats, curve_metric)
    result.timings["report"] = clock.lap("report")
    log(f"saved {result.path} (+ .meta.json), {result.report}, {result.plot}")
    if is_s3(model.path):
        log(f"uploaded to {publish_model(result, model.path)}")
    return result


def local_model_path(path: str) -> Path:
    """Where training writes the model: ``path``, or for an ``s3://`` one a local copy it uploads afterwards."""
    if not is_s3(path):
        return Path(path)
    folder, _, name = path.rpartition("/")
    return scratch_root(folder) / name


def publish_model(result: TrainResult, uri: str) -> str:
    """Upload the model, its report and plot next to ``uri``, its ``.meta.json`` last (the API reads the pair)."""
    folder = uri.rpartition("/")[0]
    for file in (result.path, result.report, result.plot, meta_path(result.path)):
        s3.upload(file, uri if file == result.path else s3.join(folder, file.name))
    return uri


def load(config: Config, name: str, model: LambdaMARTModel) -> Dataset:
    root = completed_workdir(config.bootstrap.workdir, f"dataset/{name}.parquet")
    data = from_table(read_dataset(root, name), name)
    if data.features != model.features:
        raise TrainError(
            f"dataset of model '{name}' was bootstrapped with features [{', '.join(data.features)}] but the config "
            f"defines [{', '.join(model.features)}]: run `rankstream bootstrap` again"
        )
    _check_labels(name, model, data.all.label)
    return data


def _check_labels(name: str, model: LambdaMARTModel, label: np.ndarray) -> None:
    if getattr(model.backend, "objective", "lambdarank") == "rank:pairwise":
        return
    bad = label[(label != np.round(label)) | (label < 0) | (label > 30)]
    if len(bad):
        raise TrainError(
            f"model '{name}': {model.backend.type} lambdarank needs whole-number labels in 0..30, but weights "
            f"{model.weights} give {bad[0]:g}: use whole-number weights (or xgboost objective rank:pairwise)"
        )


def split_mask(data: Dataset, spec: str, seed: int) -> np.ndarray:
    """The test rankings of the split (a mask over rankings); both sides must hold a positive label."""
    test = split_groups(spec, data.group_time, data.group_user, seed)
    for side, mask in (("train", ~test), ("test", test)):
        if not (data.all.label[np.repeat(mask, data.all.sizes)] > 0).any():
            raise TrainError(
                f"model '{data.model}': the {side} split ({spec}) of {data.groups:,} rankings has no positive label"
            )
    return test


def split_parts(data: Dataset, spec: str, seed: int) -> tuple[Part, Part]:
    test = split_mask(data, spec, seed)
    return data.part(~test), data.part(test)


def _counts(data: Dataset, train: Part, test: Part) -> dict[str, int]:
    positive = np.add.reduceat(test.label > 0, test.offsets[:-1]) > 0 if test.rows else np.array([])
    return {
        "rankings": data.groups, "rows": data.all.rows,
        "train_rankings": len(train.groups), "train_rows": train.rows,
        "test_rankings": len(test.groups), "test_rows": test.rows, "test_evaluated": int(positive.sum()),
    }  # fmt: skip


def _meta(config: Config, name: str, data: Dataset, fitted: boosters.Fitted, spec: str,
          counts: dict[str, int], selection: Selection) -> RankerMeta:  # fmt: skip
    model: LambdaMARTModel = config.models[name]  # type: ignore[assignment]
    hashes = {f: config.feature(f).config_hash() for f in model.features}
    params = fitted.params | {"split": spec, "best_iteration": fitted.best_iteration, "iterations": fitted.rounds,
                              "selection": selection.as_dict()}  # fmt: skip
    return RankerMeta(name, fitted.backend, data.columns, data.categorical, list(model.features), hashes,
                      params, {}, counts)  # fmt: skip


def _write_report(result: TrainResult, meta: RankerMeta, fitted: boosters.Fitted, stats: list[dict[str, Any]],
                  metric: str) -> None:  # fmt: skip
    doc = {
        "model": result.model, "backend": meta.backend, "path": str(result.path), "params": meta.params,
        "metrics": result.metrics, "curves": {metric: fitted.curves}, "best_iteration": fitted.best_iteration,
        "selection": meta.params["selection"] | {"summary": result.selection.describe(metric)},  # type: ignore[union-attr]
        "tuning": [asdict(t) for t in result.trials],
        "features": stats, "counts": result.counts, "timings": result.timings,
    }  # fmt: skip
    report.write_report(result.report, doc)
    baselines = {n: v[metric] for n, v in result.metrics.items() if n != result.model}
    report.plot_curves(result.plot, result.model, metric, fitted.curves, baselines, fitted.best_iteration)


class Clock:
    """Wall-clock laps: ``lap(name)`` records the seconds since the previous lap."""

    def __init__(self) -> None:
        self.last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> float:
        now = time.perf_counter()
        self.laps[name], self.last = now - self.last, now
        return self.laps[name]
