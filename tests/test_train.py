"""Training: metrics against hand-computed values, splits, honest evaluation on a generated sample,
determinism, both boosters, and the model artifact's feature check."""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from feature_ops.config import ConfigError, parse_config
from feature_ops.features import FEATURE_TYPES
from feature_ops.ranker import ModelMismatchError, RankerMeta, feature_mismatch, load_ranker, read_ranker
from jobs.cli import main
from jobs.embedded import bootstrap_embedded
from jobs.generate import generate, load_truth
from jobs.manifest import file_entry
from jobs.train import TrainError, evaluate, train_model, tune
from jobs.train.command import load, split_mask, split_parts
from jobs.train.metrics import Grouped
from jobs.train.select import validation_mask
from jobs.train.split import split_groups

EXAMPLE = Path(__file__).parent.parent / "examples" / "ranklens" / "config.yml"
SIZES = {"users": 100, "items": 300, "rankings": 3000}
FEATURES = ["popularity", "vote_avg", "vote_cnt", "ctr", "global_item_click_count", "liked_genre", "liked_actors",
            "liked_director", "liked_tags", "query_title_match", "position"]  # fmt: skip
D2, D3, D4 = 1 / math.log2(3), 1 / math.log2(4), 1 / math.log2(5)


# --- metrics: one group per row, scores rank items left to right unless given ---------------------------------


@pytest.mark.parametrize(
    ("labels", "scores", "metric", "expected"),
    [
        ([0, 1, 0, 0], [4, 3, 2, 1], "ndcg@10", D2),
        ([0, 1, 0, 0], [4, 3, 2, 1], "ndcg@1", 0.0),
        ([1, 0, 0, 0], [4, 3, 2, 1], "ndcg@10", 1.0),
        ([0, 2, 1, 0], [4, 3, 2, 1], "ndcg@10", (3 * D2 + 1 * D3) / (3 + 1 * D2)),
        ([0, 2, 1, 0], [1, 2, 3, 4], "ndcg@10", (1 * D2 + 3 * D3) / (3 + 1 * D2)),
        ([0, 2, 1, 0], [4, 3, 2, 1], "ndcg@2", 3 * D2 / (3 + D2)),
        ([0, 1, 0, 1], [4, 3, 2, 1], "map@10", (1 / 2 + 2 / 4) / 2),
        ([0, 1, 0, 1], [4, 3, 2, 1], "map@2", (1 / 2) / 2),
        ([1, 1, 0, 0], [4, 3, 2, 1], "map@10", 1.0),
        ([0, 0, 1, 0], [4, 3, 2, 1], "mrr", 1 / 3),
        ([0, 0, 1, 0], [4, 3, 2, 1], "mrr@2", 0.0),
        ([0, 0, 1, 0], [1, 2, 3, 4], "mrr", 1 / 2),
        ([0, 1, 0, 0], [1, 1, 1, 1], "mrr", 1 / 2),  # ties keep dataset order
        ([0, 1, 0, 0], [1, np.nan, 0, 0], "mrr", 1 / 4),  # NaN ranks last
    ],
)
def test_metric_matches_hand_computed_value(labels, scores, metric, expected):
    grouped = Grouped(np.array(labels, dtype=float), np.array([0, len(labels)]))
    assert grouped.metric(metric, np.array(scores, dtype=float)) == pytest.approx(expected)


def test_groups_without_positive_label_are_excluded():
    labels = np.array([0, 1, 0, 0, 0, 0, 0, 0])  # second group has no positive label
    grouped = Grouped(labels.astype(float), np.array([0, 4, 8]))
    assert grouped.groups == 1
    assert grouped.metric("ndcg@10", np.arange(8, 0, -1, dtype=float)) == pytest.approx(D2)


def test_metric_means_over_groups():
    labels = np.array([1, 0, 0, 1], dtype=float)
    grouped = Grouped(labels, np.array([0, 2, 4]))
    assert grouped.metric("mrr", np.array([2.0, 1.0, 2.0, 1.0])) == pytest.approx((1 + 1 / 2) / 2)


# --- splits --------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def groups() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    return rng.integers(0, 10_000, 1000), rng.integers(0, 40, 1000)


@pytest.mark.parametrize(("spec", "test_share"), [("time=80%", 0.2), ("random=80%", 0.2), ("hold_last=20%", 0.2),
                                                  ("time=50%", 0.5), ("random=90%", 0.1), ("hold_last=30%", 0.3)])  # fmt: skip
def test_split_is_deterministic_and_sized(groups, spec, test_share):
    time, user = groups
    test = split_groups(spec, time, user, seed=1)
    assert np.array_equal(test, split_groups(spec, time, user, seed=1))
    assert test.dtype == bool and len(test) == len(time)  # each ranking on exactly one side
    assert test.mean() == pytest.approx(test_share, abs=0.03)


def test_time_split_tests_on_the_newest(groups):
    time, user = groups
    test = split_groups("time=80%", time, user, seed=1)
    assert time[~test].max() <= time[test].min()


def test_hold_last_tests_on_each_users_latest(groups):
    time, user = groups
    test = split_groups("hold_last=20%", time, user, seed=1)
    for u in np.unique(user):
        mine = user == u
        if test[mine].any() and (~test[mine]).any():
            assert time[mine & ~test].max() <= time[mine & test].min()


def test_random_split_depends_on_seed(groups):
    time, user = groups
    assert not np.array_equal(split_groups("random=80%", time, user, 1), split_groups("random=80%", time, user, 2))


def test_bad_split_is_rejected(groups):
    with pytest.raises(TrainError, match=r"^split must be time=N%, random=N% or hold_last=N%, got 'last=3'$"):
        split_groups("last=3", *groups, seed=0)


# --- model artifact: feature check ------------------------------------------------------------------------------


def _meta(features: list[str], hashes: dict[str, str]) -> RankerMeta:
    return RankerMeta("main", "xgboost", features, [], features, hashes)


@pytest.mark.parametrize(
    ("names", "hashes", "message"),
    [
        (["a", "b"], {"a": "1", "b": "2"}, None),
        (["a", "c"], {"a": "1", "c": "3"},
         "model 'main' was trained with features [a, b] but the config defines [a, c]: missing b, new c"),
        (["a"], {"a": "1"}, "model 'main' was trained with features [a, b] but the config defines [a]: missing b"),
        (["a", "b", "c"], {"a": "1", "b": "2", "c": "3"},
         "model 'main' was trained with features [a, b] but the config defines [a, b, c]: new c"),
        (["b", "a"], {"a": "1", "b": "2"},
         "model 'main' was trained with features [a, b] but the config defines [b, a]: different order"),
        (["a", "b"], {"a": "9", "b": "2"}, "model 'main' was trained with other definitions of features: a"),
    ],
)  # fmt: skip
def test_feature_mismatch_names_the_differences(names, hashes, message):
    assert feature_mismatch("main", _meta(["a", "b"], {"a": "1", "b": "2"}), names, hashes) == message


# --- the generated sample -------------------------------------------------------------------------------------------


def _raw_config(out: Path, iterations: int = 200) -> dict:
    raw = yaml.safe_load(EXAMPLE.read_text())
    features = raw["features"]
    raw["features"] = [f for f in features if f["name"] in FEATURES + ["budget"] and f["type"] in FEATURE_TYPES]
    for feature in raw["features"]:
        if feature["type"] == "interacted_with":
            feature.update(count=50, duration="60d")
    used = [f["name"] for f in raw["features"] if f["name"] != "budget"]
    raw["models"] = {
        backend: {"type": "lambdamart", "path": str(out / "models" / f"{backend}.model"), "features": used,
                  "backend": {"type": backend, "iterations": iterations, "maxDepth": 6}, "weights": {"click": 1, "like": 2}}
        for backend in ("xgboost", "lightgbm")
    }  # fmt: skip
    raw["bootstrap"].update(workdir=str(out / "workdir"), source={"type": "file", "path": str(out / "events")})
    return raw


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample")
    summary = generate(out, seed=7, **SIZES)
    raw = _raw_config(out)
    (out / "config.yml").write_text(yaml.safe_dump(raw))
    config = parse_config(raw)
    bootstrap_embedded(config)
    return out, raw, config, load_truth(summary.truth_path)


@pytest.fixture(scope="module")
def trained(sample):
    _, _, config, _ = sample
    return {name: train_model(config, name, log=lambda line: None) for name in config.models}


@pytest.mark.parametrize("backend", ["xgboost", "lightgbm"])
def test_model_beats_baselines_and_nears_oracle(sample, trained, backend):
    _, _, config, truth = sample
    data = load(config, backend, config.models[backend])
    _, test = split_parts(data, "time=80%", 0)
    oracle = Grouped(test.label, test.offsets).metric("ndcg@10", evaluate.oracle_scores(data, test, truth))
    ndcg = {name: values["ndcg@10"] for name, values in trained[backend].metrics.items()}
    assert ndcg[backend] >= ndcg[evaluate.ORIGINAL] + 0.03
    assert ndcg[backend] >= ndcg[evaluate.RANDOM] + 0.2
    # 0.9 of the oracle is reached on the full 8,000-ranking sample; this 3,000-ranking one gets about 0.86
    assert ndcg[backend] >= 0.83 * oracle


@pytest.mark.parametrize("backend", ["xgboost", "lightgbm"])
def test_saved_model_loads_and_scores_as_evaluated(sample, trained, backend):
    _, _, config, _ = sample
    ranker = load_ranker(config.models[backend].path, config, backend)
    data = load(config, backend, config.models[backend])
    _, test = split_parts(data, "time=80%", 0)
    scores = ranker.score(test.X)
    assert evaluate.evaluate(test, {"m": scores}, ["ndcg@10"])["m"]["ndcg@10"] == trained[backend].metrics[backend]["ndcg@10"]
    contributions = ranker.contributions(test.X[:300])
    assert contributions.shape == (300, len(ranker.columns) + 1)
    assert np.allclose(contributions.sum(axis=1), scores[:300], atol=1e-3)
    assert ranker.meta.counts["test_rankings"] == len(test.groups) and ranker.meta.backend == backend


@pytest.mark.parametrize("backend", ["xgboost", "lightgbm"])
def test_same_seed_gives_same_model_bytes(sample, tmp_path, backend):
    out, raw, _, _ = sample
    runs = []
    for run in ("a", "b"):
        raw = _raw_config(out, iterations=15)
        raw["models"][backend]["path"] = str(tmp_path / run / "model")
        result = train_model(parse_config(raw), backend, log=lambda line: None)
        runs.append(((tmp_path / run / "model").read_bytes(), result.metrics))
    assert runs[0] == runs[1]


def test_config_with_other_features_is_refused(sample, trained):
    _, raw, _, _ = sample
    changed = json.loads(json.dumps(raw))
    features = changed["models"]["xgboost"]["features"]
    features[features.index("vote_cnt")] = "budget"
    with pytest.raises(ModelMismatchError) as error:
        load_ranker(raw["models"]["xgboost"]["path"], parse_config(changed), "xgboost")
    trained_with, defined = ", ".join(raw["models"]["xgboost"]["features"]), ", ".join(features)
    assert str(error.value) == (
        f"model 'xgboost' was trained with features [{trained_with}] but the config defines [{defined}]: "
        "missing vote_cnt, new budget"
    )


def test_config_with_changed_definition_is_refused(sample, trained):
    _, raw, _, _ = sample
    changed = json.loads(json.dumps(raw))
    next(f for f in changed["features"] if f["name"] == "popularity")["ttl"] = "30d"
    with pytest.raises(ModelMismatchError, match=r"^model 'lightgbm' was trained with other definitions of features: popularity$"):
        load_ranker(raw["models"]["lightgbm"]["path"], parse_config(changed), "lightgbm")


def test_cli_trains_logs_and_writes_report(sample, capsys):
    out, raw, _, _ = sample
    raw = _raw_config(out, iterations=5)
    raw["models"]["xgboost"]["path"] = str(out / "cli" / "xgboost.model")
    (out / "cli.yml").write_text(yaml.safe_dump(raw))
    assert main(["train", str(out / "cli.yml"), "xgboost", "--split", "random=70%", "--baseline", "popularity"]) == 0
    printed = capsys.readouterr().out
    assert "[0] NDCG@train = " in printed and " NDCG@validation = " in printed and "NDCG@test" not in printed
    assert re.search(r"\niterations: \d+ rounds, chosen by early stopping \(patience 50, \d+ rounds run\) on ndcg@10 "
                     r"over [\d,]+ validation rankings \(15% of train, a seeded sample\); then refit on all [\d,]+ "
                     r"train rankings\n", printed)  # fmt: skip
    assert re.search(r"\nscorer +ndcg@10 +map@10 +mrr\nxgboost +0\.\d{4} ", printed)
    assert re.search(r"\n  popularity: +zero=\d+ nonzero=\d+ nan=\d+ weight=\d", printed)
    report = json.loads((out / "cli" / "xgboost.report.json").read_text())
    assert set(report["metrics"]) == {"xgboost", "original order", "random order", "popularity (clicks)",
                                      "ctr (smoothed)", "popularity"}  # fmt: skip
    assert re.search(r"\npopularity \(clicks\) +0\.\d{4} .*\nctr \(smoothed\) +0\.\d{4} ", printed)
    assert report["params"]["split"] == "random=70%" and len(report["curves"]["ndcg@10"]["validation"]) == 5
    assert set(report["curves"]["ndcg@10"]) == {"train", "validation"}
    assert report["selection"]["method"] == "early stopping" and report["selection"]["ran"] == 5
    assert report["selection"]["rounds"] == report["best_iteration"] + 1 <= 5
    assert (out / "cli" / "xgboost.ndcg.png").stat().st_size > 1000
    assert read_ranker(out / "cli" / "xgboost.model").meta.features == raw["models"]["xgboost"]["features"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "error: model 'nope' is not configured: expected one of lightgbm, xgboost"),
        (["xgboost", "--baseline", "pop"], "error: --baseline 'pop' is not a column of model 'xgboost': expected one of "),
        (["xgboost", "--split", "time=80"], "error: split must be time=N%, random=N% or hold_last=N%, got 'time=80'"),
    ],
)
def test_cli_errors_say_what_to_fix(sample, capsys, args, message):
    out, _, _, _ = sample
    assert main(["train", str(out / "config.yml"), *args]) == 2
    assert capsys.readouterr().err.startswith(message)


@pytest.mark.parametrize("backend", ["xgboost", "lightgbm"])
def test_index_encoded_strings_train_as_categorical_features(tmp_path, backend):
    out = tmp_path
    generate(out, seed=3, users=40, items=80, rankings=400)
    raw = _raw_config(out, iterations=5)
    raw["features"].append({"name": "genre_idx", "type": "string", "source": "item.genres", "encode": "index",
                            "values": ["drama", "comedy", "action", "thriller", "romance", "horror"]})
    raw["models"] = {backend: {**raw["models"][backend], "features": [*raw["models"][backend]["features"], "genre_idx"]}}
    config = parse_config(raw)
    bootstrap_embedded(config)
    train_model(config, backend, log=lambda line: None)
    ranker = load_ranker(config.models[backend].path, config, backend)
    assert ranker.meta.categorical == ["genre_idx"]
    if backend == "lightgbm":  # LightGBM lists the category values of categorical features only
        infos = ranker.booster.dump_model()["feature_infos"]
        assert set(infos["genre_idx"]["values"]) >= {1, 2, 3} and infos["popularity"]["values"] == []
    else:
        assert ranker.booster.feature_types[ranker.columns.index("genre_idx")] == "c"


# --- model selection never reads the test split ------------------------------------------------------------------


def _poisoned_copy(raw: dict, tmp: Path, backend: str) -> dict:
    """The config over a copy of the workdir whose test labels are scrambled (features and train rows kept)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    config = parse_config(raw)
    data = load(config, backend, config.models[backend])
    test = np.repeat(split_mask(data, config.models[backend].split, 0), data.all.sizes)
    table = pq.ParquetFile(Path(raw["bootstrap"]["workdir"]) / "dataset" / f"{backend}.parquet").read()
    index = table.schema.names.index("label")
    label = table.column(index).to_numpy().copy()
    label[test] = np.random.default_rng(5).integers(0, 3, int(test.sum()))
    poisoned = table.set_column(index, "label", pa.array(label))
    shutil.copytree(raw["bootstrap"]["workdir"], tmp / "workdir")
    path = tmp / "workdir" / "dataset" / f"{backend}.parquet"
    pq.write_table(poisoned, path)
    manifest_path = tmp / "workdir" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    if "outputs" in manifest:  # the bootstrap's record of its outputs: keep it consistent with the new file
        manifest["outputs"][f"dataset/{backend}.parquet"] = file_entry(path)
        manifest_path.write_text(json.dumps(manifest))
    raw = json.loads(json.dumps(raw))
    raw["bootstrap"]["workdir"] = str(tmp / "workdir")
    raw["models"][backend]["path"] = str(tmp / "model")
    return raw


@pytest.mark.parametrize("backend", ["xgboost", "lightgbm"])
def test_poisoned_test_labels_change_neither_the_rounds_nor_the_model(sample, tmp_path, backend):
    out, _, _, _ = sample
    raw = _raw_config(out, iterations=60)
    raw["models"][backend].update(path=str(tmp_path / "clean" / "model"))
    raw["models"][backend]["backend"]["earlyStopping"] = 5
    clean = train_model(parse_config(raw), backend, log=lambda line: None)
    poisoned_raw = _poisoned_copy(raw, tmp_path / "poisoned", backend)
    poisoned = train_model(parse_config(poisoned_raw), backend, log=lambda line: None)
    assert clean.selection.method == "early stopping" and clean.selection.ran < 60  # it did stop early
    assert (poisoned.selection, poisoned.best_iteration) == (clean.selection, clean.best_iteration)
    assert (tmp_path / "poisoned" / "model").read_bytes() == (tmp_path / "clean" / "model").read_bytes()
    assert poisoned.metrics[backend] != clean.metrics[backend]  # the test split was read, once, at the end


@pytest.mark.parametrize(("spec", "validation"), [("time=80%", "15%"), ("random=70%", "20%"), ("hold_last=20%", "10%")])
def test_validation_part_is_carved_from_train_like_the_split(sample, spec, validation):
    _, raw, config, _ = sample
    data = load(config, "xgboost", config.models["xgboost"])
    model = config.models["xgboost"].model_copy(update={"validation": validation})
    test = split_mask(data, spec, 0)
    valid = validation_mask(model, data, test, spec, 0)
    assert not (valid & test).any()
    assert valid.sum() == pytest.approx(int(validation[:-1]) / 100 * (~test).sum(), rel=0.1)
    train_time, valid_time = data.group_time[~test & ~valid], data.group_time[valid]
    if spec.startswith("time"):
        assert train_time.max() <= valid_time.min() and valid_time.max() <= data.group_time[test].min()
    assert not validation_mask(model.model_copy(update={"validation": "0%"}), data, test, spec, 0).any()


@pytest.mark.parametrize(
    ("model_keys", "backend_keys", "summary"),
    [
        ({"validation": "0%"}, {}, "12 rounds, as configured (iterations; no early stopping: validation: 0%)"),
        ({}, {"earlyStopping": 0}, "12 rounds, as configured (iterations; no early stopping: earlyStopping: 0)"),
    ],
)
def test_without_early_stopping_every_iteration_is_kept(sample, tmp_path, model_keys, backend_keys, summary):
    out, _, _, _ = sample
    raw = _raw_config(out, iterations=12)
    raw["models"]["xgboost"].update(path=str(tmp_path / "model"), **model_keys)
    raw["models"]["xgboost"]["backend"].update(backend_keys)
    result = train_model(parse_config(raw), "xgboost", log=lambda line: None)
    assert result.selection.describe("ndcg@10") == summary
    assert read_ranker(tmp_path / "model").booster.num_boosted_rounds() == 12


def test_refit_false_keeps_the_early_stopped_model_and_refit_trains_on_all_train_rankings(sample, tmp_path):
    out, _, _, _ = sample
    results = {}
    for refit in (True, False):
        raw = _raw_config(out, iterations=40)
        raw["models"]["xgboost"].update(path=str(tmp_path / str(refit) / "model"), refit=refit)
        raw["models"]["xgboost"]["backend"]["earlyStopping"] = 3
        results[refit] = train_model(parse_config(raw), "xgboost", log=lambda line: None)
    assert results[True].selection.rounds == results[False].selection.rounds
    assert results[False].selection.fit_rankings + results[False].selection.validation_rankings == (
        results[True].selection.train_rankings
    )
    boosters = {refit: read_ranker(tmp_path / str(refit) / "model").booster for refit in results}
    assert boosters[True].num_boosted_rounds() == boosters[False].num_boosted_rounds() == results[True].selection.rounds
    assert (tmp_path / "True" / "model").read_bytes() != (tmp_path / "False" / "model").read_bytes()


def test_validation_share_is_checked():
    raw = _raw_config(Path("/tmp/x"))
    raw["models"]["xgboost"]["validation"] = "15"
    with pytest.raises(ConfigError, match=r"models\.xgboost\.validation: validation must be a share of the train "
                                          r"rankings like 15% \(0% to 99%\), got '15'$"):  # fmt: skip
        parse_config(raw)


def test_tune_picks_the_best_validation_score_and_never_reads_test(sample, tmp_path, monkeypatch):
    out, _, _, _ = sample
    monkeypatch.setitem(tune.GRIDS, "xgboost", {"maxDepth": (2, 6), "learningRate": (0.3,), "minChildWeight": (1.0,)})
    raw = _raw_config(out, iterations=30)
    raw["models"]["xgboost"].update(path=str(tmp_path / "clean" / "model"))
    raw["models"]["xgboost"]["backend"]["earlyStopping"] = 5
    lines: list[str] = []
    clean = train_model(parse_config(raw), "xgboost", log=lines.append, tune=True)
    best = max(clean.trials, key=lambda t: t.validation)
    assert [t.settings["maxDepth"] for t in clean.trials] == [2, 6]
    assert read_ranker(tmp_path / "clean" / "model").meta.params["max_depth"] == best.settings["maxDepth"]
    assert f"tune: chose maxDepth={best.settings['maxDepth']} learningRate=0.3 minChildWeight=1 " in "\n".join(lines)
    report = json.loads(clean.report.read_text())
    assert [t["validation"] for t in report["tuning"]] == [t.validation for t in clean.trials]
    poisoned = train_model(parse_config(_poisoned_copy(raw, tmp_path / "poisoned", "xgboost")), "xgboost",
                           log=lambda line: None, tune=True)  # fmt: skip
    assert poisoned.trials == clean.trials
    assert (tmp_path / "poisoned" / "model").read_bytes() == (tmp_path / "clean" / "model").read_bytes()


def test_tune_needs_a_validation_part(sample, tmp_path):
    out, _, _, _ = sample
    raw = _raw_config(out, iterations=5)
    raw["models"]["xgboost"].update(path=str(tmp_path / "model"), validation="0%")
    with pytest.raises(TrainError, match=r"^model 'xgboost': --tune needs a validation part and early stopping "
                                         r"\(validation above 0% and earlyStopping above 0\)$"):  # fmt: skip
        train_model(parse_config(raw), "xgboost", log=lambda line: None, tune=True)
