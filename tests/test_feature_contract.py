"""Contract tests run over every registered feature type, from the YAML example in its module docstring:
config round trip, state that pickles and encodes losslessly, well-shaped values with missing state."""

import math
import pickle
import re
import sys

import pytest
import yaml
from pydantic import TypeAdapter

from feature_ops.codec import decode, encode
from feature_ops.config import parse_config
from feature_ops.engine import Engine
from feature_ops.events import parse_event, parse_ranking_request
from feature_ops.features import REGISTRY, AnyFeatureConfig
from feature_ops.store import MemoryStore
from feature_ops.validation import INTERACTION_KEYS, needed_fields

ADAPTER = TypeAdapter(AnyFeatureConfig)
TYPES = {cls.model_fields["type"].annotation.__args__[0]: cls for cls in REGISTRY}
FIELD_VALUES = [
    "red green", 3.0, ["red", "blue"], [1.0, 2.0], True, "2022-03-28T12:00:00+02:00",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
    "https://www.google.com/search?q=x",
]


def example(type_name: str) -> dict:
    doc = sys.modules[TYPES[type_name].__module__].__doc__ or ""
    m = re.search(r"```yaml\n(.*?)```", doc, re.S)
    assert m, f"feature type '{type_name}' has no ```yaml example in its module docstring"
    entries = yaml.safe_load(m.group(1))
    return entries[0] if isinstance(entries, list) else entries


@pytest.mark.parametrize("type_name", sorted(TYPES))
def test_yaml_example_round_trips(type_name):
    config = ADAPTER.validate_python(example(type_name))
    dumped = config.model_dump(mode="json", by_alias=True)
    assert ADAPTER.validate_python(dumped) == config
    assert ADAPTER.validate_python(yaml.safe_load(yaml.safe_dump(dumped))) == config


def _events(feature_cfg) -> list[dict]:
    refs = needed_fields(_config(feature_cfg))
    kinds = {getattr(feature_cfg, k) for k in INTERACTION_KEYS if isinstance(getattr(feature_cfg, k, None), str)}
    kinds |= {"click", "impression"} | {r.interaction for r in refs if r.interaction}
    by_event = {}
    for ref in refs:
        by_event.setdefault(ref.event, set()).add(ref.field)
    events, ts = [], 1_648_461_600_000
    for n, value in enumerate(FIELD_VALUES):
        def fields(event, value=value):
            return [{"name": f, "value": value} for f in sorted(by_event.get(event, ()))]
        item, ts = f"i{n}", ts + 1000
        events.append({"event": "item", "id": f"e{n}", "timestamp": ts, "item": item, "fields": fields("item")})
        events.append({"event": "user", "id": f"u{n}", "timestamp": ts, "user": "u", "fields": fields("user")})
        events.append({"event": "ranking", "id": f"r{n}", "timestamp": ts + 1, "user": "u", "session": "s",
                       "fields": fields("ranking"), "items": [{"id": f"i{k}"} for k in range(n + 1)]})
        for kind in sorted(kinds):
            events.append({"event": "interaction", "id": f"x{n}{kind}", "timestamp": ts + 2, "ranking": f"r{n}",
                           "user": "u", "session": "s", "type": kind, "item": item, "fields": fields("interaction")})
    return events


def _config(feature_cfg):
    return parse_config({
        "features": [feature_cfg.model_dump(mode="json", by_alias=True)],
        "models": {"m": {"type": "lambdamart", "path": "/tmp/m", "backend": {"type": "xgboost"},
                         "weights": {"click": 1}, "features": [feature_cfg.name]}},
        "bootstrap": {"workdir": "/tmp/wd", "source": {"type": "file", "path": "/tmp/x"}},
        "inference": {"source": {"type": "rest"}, "state": {"type": "memory"}},
    }, env={})


@pytest.mark.parametrize("type_name", sorted(TYPES))
def test_state_pickles_and_encodes_losslessly(type_name):
    feature_cfg = ADAPTER.validate_python(example(type_name))
    store = MemoryStore()
    engine = Engine(_config(feature_cfg), store)
    for e in _events(feature_cfg):
        engine.process(parse_event(e))
    assert repr(pickle.loads(pickle.dumps(store.data))) == repr(store.data)  # repr: NaN-safe equality
    for state, _, record in engine.latest():
        spec = engine.features.specs[state]
        assert repr(decode(spec, encode(spec, record))) == repr(record)


@pytest.mark.parametrize("type_name", sorted(TYPES))
def test_values_with_no_state_have_the_declared_shape(type_name):
    feature_cfg = ADAPTER.validate_python(example(type_name))
    engine = Engine(_config(feature_cfg), MemoryStore())
    request = parse_ranking_request({"id": "r", "timestamp": 1, "items": [{"id": "a"}, {"id": "b"}, {"id": "c"}]})
    feature = engine.features.by_name[feature_cfg.name]
    columns = engine.values(request, online=True)[feature_cfg.name]
    assert len(columns) == len(feature.columns())
    for column in columns:
        assert len(column) == 3
        assert all(isinstance(v, float) for v in column)
        assert all(math.isnan(v) or v == 0.0 for v in column) or type_name in ("position", "random")
