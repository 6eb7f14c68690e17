"""Ranking quality end to end on the generated scenarios, test NDCG@10 scored once after honest model
selection. RankLens-like (the example config, the default sample): the model beats the original and random
orders and reaches at least 0.9 of the oracle (ranking by the true relevance). News (shuffled feed, small
sample): the model beats the smoothed-CTR baseline and every other baseline."""

from pathlib import Path

import yaml

from feature_ops.config import parse_config
from jobs.embedded import bootstrap_embedded
from jobs.generate import generate, load_truth
from jobs.train import evaluate, train_model
from jobs.train.command import load, split_parts
from jobs.train.metrics import Grouped

NEWS_SIZES = {"items": 600, "users": 400, "rankings": 5000, "ranking_size": 20}


def test_example_config_on_the_default_sample_nears_the_oracle(tmp_path):
    summary = generate(tmp_path / "data")
    config, ndcg = _train_example(tmp_path, "ranklens")
    oracle = _oracle_ndcg(config, summary)
    assert ndcg["xgboost"] >= ndcg[evaluate.ORIGINAL] + 0.03
    assert ndcg["xgboost"] >= ndcg[evaluate.RANDOM] + 0.2
    assert ndcg["xgboost"] >= max(ndcg[evaluate.CTR], ndcg[evaluate.POPULARITY]) + 0.03
    assert ndcg["xgboost"] >= 0.9 * oracle, (ndcg, oracle)


def test_news_model_beats_every_baseline_on_the_shuffled_feed(tmp_path):
    """Shuffled display order, short-lived articles, a third of the clicks without a ranking: the model
    beats the smoothed CTR (and popularity, original and random order) on test NDCG@10."""
    summary = generate(tmp_path / "data", seed=5, scenario="news", **NEWS_SIZES)
    config, ndcg = _train_example(tmp_path, "news")
    assert ndcg["xgboost"] >= ndcg[evaluate.CTR] + 0.03, ndcg
    assert ndcg["xgboost"] > max(ndcg[evaluate.POPULARITY], ndcg[evaluate.ORIGINAL], ndcg[evaluate.RANDOM]) + 0.1
    assert ndcg[evaluate.CTR] > ndcg[evaluate.POPULARITY]
    assert ndcg["xgboost"] < _oracle_ndcg(config, summary)


def _train_example(tmp_path, example: str):
    """Bootstrap and train ``examples/<example>/config.yml`` on the sample generated in ``tmp_path / "data"``:
    the config and test NDCG@10 per scorer (the model and the baselines)."""
    raw = yaml.safe_load(Path(f"examples/{example}/config.yml").read_text())
    raw["bootstrap"].update(workdir=str(tmp_path / "wd"), source={"type": "file", "path": str(tmp_path / "data" / "events")})
    raw["models"]["xgboost"]["path"] = str(tmp_path / "models" / "xgboost.model")
    config = parse_config(raw, env={})
    bootstrap_embedded(config)
    result = train_model(config, "xgboost", log=lambda line: None)
    return config, {name: values["ndcg@10"] for name, values in result.metrics.items()}


def _oracle_ndcg(config, summary) -> float:
    """Test NDCG@10 of ranking by the generator's true relevance."""
    data = load(config, "xgboost", config.models["xgboost"])
    _, test = split_parts(data, "time=80%", 0)
    truth = load_truth(summary.truth_path)
    return Grouped(test.label, test.offsets).metric("ndcg@10", evaluate.oracle_scores(data, test, truth))
