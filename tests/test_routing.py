"""The engine split by scope id (feature_ops.routing) equals the embedded engine at any number of parts."""

import gzip
import json
import pickle
import random
from pathlib import Path

import pytest
import yaml

from feature_ops.config import parse_config
from feature_ops.engine import Engine
from feature_ops.events import parse_event
from feature_ops.routing import (
    BUCKETS,
    Gather,
    Reassembly,
    RouterEngine,
    Snapshots,
    apply_ops,
    latest_records,
    merge_latest,
)
from feature_ops.store import MemoryStore
from jobs.generate import generate
from tests.hand_cases import CASES, one_log

EXAMPLE = yaml.safe_load(Path("examples/ranklens/config.yml").read_text())


def embedded(config, events):
    cts = []
    engine = Engine(config, MemoryStore(), emit=cts.append)
    for e in events:
        engine.process(e)
    engine.flush()
    return [(ct.ranking.id, repr(ct.values), ct.interactions) for ct in cts], list(engine.latest()), engine.stats


def routed(config, events, batch: int, seed: int):
    """Router -> one store per bucket -> gather (parts delivered in a shuffled order) -> reassembly."""
    rng = random.Random(seed)
    router = RouterEngine(config, MemoryStore())
    stores = {b: MemoryStore() for b in range(BUCKETS)}
    snapshots = {b: Snapshots() for b in range(BUCKETS)}
    gather, reassembly, cts, parts = Gather(router.features), Reassembly(), [], []

    def step(batch_id):
        ops, requests, read_buckets, closed = router.take()
        for b, bucket_ops in ops.items():
            to = batch_id % 3  # gather keys: a bucket's parts to one key arrive in the order it sent them
            answers = apply_ops(router.features, stores[b], pickle.loads(pickle.dumps(bucket_ops)), snapshots[b], to)
            answers = pickle.loads(pickle.dumps(answers))  # as across the JVM: copies, sharing kept per record
            if answers:
                cts.extend(reassembly.computed(gather.answers(batch_id, answers, to)))
        parts.append(("requests", batch_id, requests, len(read_buckets)))
        cts.extend(reassembly.closed(closed))
        rng.shuffle(parts)
        while parts and rng.random() < 0.7:  # some parts wait for later batches
            kind, *args = parts.pop()
            cts.extend(reassembly.computed(getattr(gather, kind)(*args)))

    for i, e in enumerate(events):
        router.process(e)
        if i % batch == batch - 1:
            step(i)
    router.flush()
    step(len(events))
    for kind, *args in parts:
        cts.extend(reassembly.computed(getattr(gather, kind)(*args)))
    assert reassembly.waiting == 0 and not gather.pending
    latest = merge_latest(latest_records(router.features, stores[b], router.clock) for b in stores)
    return [(ct.ranking.id, repr(ct.values), ct.interactions) for ct in cts], latest, router.stats


def sample_events(tmp_path):
    generate(tmp_path, items=80, users=30, rankings=150, ranking_size=10)
    raw = gzip.decompress((tmp_path / "events" / "events.jsonl.gz").read_bytes()).decode().splitlines()
    return [parse_event(json.loads(line)) for line in raw]


@pytest.mark.parametrize("batch", [1, 7, 500])
def test_routed_engine_equals_embedded_on_the_sample(tmp_path, batch):
    config = parse_config({**EXAMPLE, "bootstrap": {**EXAMPLE["bootstrap"], "workdir": str(tmp_path)}}, env={})
    events = sample_events(tmp_path)
    expected = embedded(config, events)
    got = routed(config, sample_events(tmp_path), batch, seed=batch)
    assert len(expected[0]) > 50 and got == expected


@pytest.mark.parametrize("batch", [1, 5])
def test_routed_engine_equals_embedded_on_the_hand_cases(tmp_path, batch):
    features, events, _ = one_log(CASES)
    config = parse_config({
        "features": features,
        "models": {"m": {"type": "lambdamart", "path": str(tmp_path / "m"), "backend": {"type": "xgboost"},
                         "weights": {"click": 1}, "features": [f["name"] for f in features]}},
        "bootstrap": {"workdir": str(tmp_path), "source": {"type": "file", "path": str(tmp_path)}},
        "inference": {"source": {"type": "rest"}, "state": {"type": "memory"}},
    }, env={})  # fmt: skip
    expected = embedded(config, [parse_event(e) for e in events])
    assert routed(config, [parse_event(e) for e in events], batch, seed=3) == expected


def test_the_router_keeps_no_feature_state_but_the_field_copies_it_names_keys_from(tmp_path):
    config = parse_config({**EXAMPLE, "bootstrap": {**EXAMPLE["bootstrap"], "workdir": str(tmp_path)}}, env={})
    router = RouterEngine(config, MemoryStore())
    for e in sample_events(tmp_path):
        router.process(e)
    feature_namespaces = set(router.features.namespaces.values())
    kept = {ns for ns, d in router.store.data.items() if d} & feature_namespaces
    assert kept == {ns for ns, _ in router.replicas.values()}
