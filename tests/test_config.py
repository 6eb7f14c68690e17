import copy

import pytest
import yaml

from feature_ops.config import ConfigError, load_config, parse_config

BASE = yaml.safe_load("""
features:
  - {name: popularity, type: number, source: item.popularity, ttl: 60d, refresh: 1h}
  - {name: ctr, type: rate, top: click, bottom: impression, bucket: 1d, periods: [7, 30]}
models:
  main:
    type: lambdamart
    path: /tmp/xgboost.model
    backend: {type: xgboost, iterations: 10}
    weights: {click: 1}
    features: [popularity, ctr]
bootstrap:
  workdir: file:///tmp/bootstrap
  source: {type: file, path: file:///ranklens/events/}
inference:
  source: {type: rest}
  state: {type: redis, host: localhost, port: 6379}
""")


def _with(change):
    raw = copy.deepcopy(BASE)
    change(raw)
    return raw


def test_loads_metarank_0_4_1_shape_with_defaults():
    config = parse_config(BASE, env={})
    model = config.models["main"]
    assert config.bootstrap.workdir == "/tmp/bootstrap"
    assert config.bootstrap.source.path == "/ranklens/events/"
    assert config.features[0].ttl == 60 * 86_400_000 and config.features[0].refresh == 3_600_000
    assert model.backend.learningRate == 0.15 and model.backend.ndcgCutoff == 10 and model.backend.seed == 0
    assert model.split == "time=80%" and model.eval == ["ndcg@10"]
    assert config.bootstrap.syntheticImpression.eventName == "impression"
    assert config.core.clickthrough.maxSessionLength == 30 * 60_000


def test_environment_overrides():
    env = {"METARANK_WORKDIR": "s3://bucket/wd", "METARANK_BOOTSTRAP_PATH": "/data/events"}
    config = parse_config(BASE, env=env)
    assert config.bootstrap.workdir == "s3://bucket/wd" and config.bootstrap.source.path == "/data/events"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r["features"][1].update(bucket="1x"),
         "features[1] (ctr).bucket: duration is in wrong format: '1x', expected e.g. 30s, 30m, 1h, 90d"),
        (lambda r: r["features"][1].update(type="foo"),
         "features[1] (ctr).type: feature type 'foo' is not supported, expected one of: "),
        (lambda r: r["features"][0].update(colour=1), "features[0] (popularity).colour: unknown key"),
        (lambda r: r["models"]["main"]["features"].append("nope"),
         "feature 'nope' is used by model 'main' but not defined in features"),
        (lambda r: r["features"].append({"name": "ctr", "type": "number", "source": "item.x"}),
         "feature 'ctr' is defined more than once"),
        (lambda r: r["models"]["main"]["backend"].update(iterations="x"),
         "models.main.backend.iterations: input should be a valid integer, unable to parse string as an integer, got 'x'"),
        (lambda r: r["bootstrap"]["source"].update(offset="id=5"),
         "bootstrap.source.offset: offset id=5 is not supported, expected earliest, latest, ts=<millis> or last=<N><s|m|h|d>"),
        (lambda r: r["features"][0].update(source="foo"),
         "features[0] (popularity).source: cannot decode source field 'foo': expected <event>.<field> with event item, user, ranking or interaction:<type>"),
        (lambda r: r["features"][0].update(scope="item", source="user.age"),
         "features[0] (popularity): scope 'item' cannot be filled from source 'user.age' (user events carry no item id)"),
        (lambda r: r["inference"].pop("state"), "inference.state: required key is missing"),
        (lambda r: r["models"]["main"].update(split="time=80"),
         "models.main.split: split must be time=N%, random=N% or hold_last=N%, got 'time=80'"),
        (lambda r: r.update(features=[]), "features: list should have at least 1 item after validation, not 0"),
        (lambda r: r["models"]["main"]["backend"].update(type="catboost"),
         "models.main.backend.type: 'catboost' is not supported, expected one of: 'xgboost', 'lightgbm'"),
        (lambda r: r["features"][0].update(ttl=-5), "features[0] (popularity).ttl: duration must be positive, got -5"),
        (lambda r: r["features"][0].update(ttl="0s"),
         "features[0] (popularity).ttl: duration must be positive, got '0s'"),
        (lambda r: r["features"][0].update(refresh=-1),
         "features[0] (popularity).refresh: duration must not be negative, got -1"),
        (lambda r: r["inference"].update(port=70000), "inference.port: must be a TCP port in 1..65535, got 70000"),
        (lambda r: r["inference"].update(port=0), "inference.port: must be a TCP port in 1..65535, got 0"),
        (lambda r: r["inference"]["state"].update(port=-1), "inference.state.port: must be a TCP port in 1..65535, got -1"),
        (lambda r: r["models"].update({"../../etc": r["models"].pop("main")}),
         "models: model name '../../etc' must use only letters, digits, '_', '.' and '-' and not start with '.' "
         "(it names files in the workdir)"),
        (lambda r: r["models"].update({".hidden": {"type": "noop"}}),
         "models: model name '.hidden' must use only letters, digits, '_', '.' and '-' and not start with '.' "
         "(it names files in the workdir)"),
        (lambda r: r.update(core={"clickthrough": {"maxSessionLength": "0s"}}),
         "core.clickthrough.maxSessionLength: duration must be positive, got '0s'"),
        (lambda r: r["features"][1].update(name=""), "features[1].name: must be a non-empty string"),
        (lambda r: r["features"][0].update(name="  "), "features[0].name: must be a non-empty string"),
        # YAML's .inf passed gt=0: every ctr value was NaN, silently
        (lambda r: r["features"][1].update(normalize={"weight": float("inf")}),
         "features[1] (ctr).normalize.weight: input should be a finite number, got inf"),
        (lambda r: r["models"]["main"]["backend"].update(learningRate=float("inf")),
         "models.main.backend.learningRate: input should be a finite number, got inf"),
    ],
)
def test_errors_name_the_key_path(change, message):
    with pytest.raises(ConfigError) as e:
        parse_config(_with(change), env={}, where="config.yml")
    assert str(e.value).startswith(f"config.yml: {message}")


@pytest.mark.parametrize("name", ["main", "xgboost-v2", "m_1.2", "_x"])
def test_safe_model_names_are_accepted(name):
    config = parse_config(_with(lambda r: r["models"].update({name: r["models"].pop("main")})), env={})
    assert list(config.models) == [name]


def test_load_config_reports_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match=r"config file .*nope.yml does not exist"):
        load_config(tmp_path / "nope.yml", env={})
    bad = tmp_path / "bad.yml"
    bad.write_text("features: [")
    with pytest.raises(ConfigError, match=r"bad.yml: invalid YAML"):
        load_config(bad, env={})
    with pytest.raises(ConfigError, match="no config given"):
        load_config(None, env={})


def test_example_configs_load():
    config = load_config("examples/ranklens/config.yml", env={})
    assert len(config.features) == 17 and config.models["xgboost"].features == [f.name for f in config.features]
