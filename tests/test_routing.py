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
    gather, reassembly, cts, parts = Gather(router.features), Reassembly(router.features), [], []
    before: dict[int, int] = {}

    def step(batch_id):
        ops, requests, read_buckets, closed = router.take()
        to = batch_id % 3  # gather keys: a bucket's parts to one key arrive in the order it sent them
        for b, bucket_ops in ops.items():
            answers = apply_ops(router.features, stores[b], pickle.loads(pickle.dumps(bucket_ops)), snapshots[b], to)
            assert (answers is not None) == (b in read_buckets)
            if answers is not None:
                answers = pickle.loads(pickle.dumps(answers))  # as across the JVM: copies
                cts.extend(reassembly.computed(gather.answers(batch_id, answers)))
        if requests:
            parts.append(("requests", batch_id, requests, len(read_buckets), to, before.get(to)))
            before[to] = batch_id
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


def test_a_gather_key_gets_records_once_then_only_the_writes_it_lacks(tmp_path):
    config = parse_config({**EXAMPLE, "bootstrap": {**EXAMPLE["bootstrap"], "workdir": str(tmp_path)}}, env={})
    features, store, snapshots = RouterEngine(config, MemoryStore()).features, MemoryStore(), Snapshots(log=2)
    read = (0, [("i1", ("global_item_click_count",))])

    def write(n):
        return ("global_item_click_count", "i1", n, 1_600_000_000_000 + n)

    first = apply_ops(features, store, [write(1), read], snapshots, to=0)
    record = store.get(features.namespaces["global_item_click_count"], "i1")
    assert first == [(0, [("i1", ("global_item_click_count",), (record,))])]
    assert apply_ops(features, store, [read], snapshots, to=0) == []  # held as it is: no entry, but a reply
    assert apply_ops(features, store, [write(2)], snapshots, to=0) is None  # no read: no reply
    delta = apply_ops(features, store, [read], snapshots, to=0)
    assert delta == [(0, [("i1", ("global_item_click_count",), None, [(0, 2, 1_600_000_000_002)])])]
    other_key = apply_ops(features, store, [read], snapshots, to=1)
    assert len(other_key[0][1][0]) == 3  # another gather key gets the records
    full = apply_ops(features, store, [write(3), write(4), write(5), read], snapshots, to=0)
    assert len(full[0][1][0]) == 3  # more writes than the log keeps: the records again


def test_a_gather_key_given_records_by_reference_gets_records_again_when_it_goes_by_value(tmp_path):
    config = parse_config({**EXAMPLE, "bootstrap": {**EXAMPLE["bootstrap"], "workdir": str(tmp_path)}}, env={})
    features, store, snapshots = RouterEngine(config, MemoryStore()).features, MemoryStore(), Snapshots()
    state = "global_item_click_count"
    read = (0, [("i1", (state,))])

    def write(n):
        return (state, "i1", n, 1_600_000_000_000 + n)

    apply_ops(features, store, [write(1), read], snapshots, to=0)
    by_reference = apply_ops(features, store, [write(2), read, read], snapshots, to=0, full=True)
    record = store.get(features.namespaces[state], "i1")
    assert by_reference == [(0, [("i1", (state,), (record,))])] * 2  # every read, the live record itself
    assert by_reference[0][1][0][2][0] is record
    again = apply_ops(features, store, [write(3), read], snapshots, to=0)
    assert again == [(0, [("i1", (state,), (store.get(features.namespaces[state], "i1"),))])]  # no delta
    assert apply_ops(features, store, [write(4), read], None) == apply_ops(features, store, [read], None, full=True)


def test_packed_values_and_pickled_rankings_round_trip(tmp_path):
    from feature_ops.events import RankingEvent, RankItem
    from feature_ops.routing import pack_values, unpack_values

    layout = [("a", 1), ("b", 2)]
    values = {"a": [[1.0, float("nan")]], "b": [[-0.0, 2.5], [1e308, 3.0]]}
    got = unpack_values(layout, pack_values(values), 2)
    assert repr(got) == repr(values)
    with pytest.raises(ValueError, match="3 floats for 2 items"):
        unpack_values(layout, pack_values({"a": [[1.0, 2.0, 3.0]]}), 2)
    plain = RankingEvent("r", 5, [RankItem("a"), RankItem("b")], "u", None, {"q": "x"})
    rich = RankingEvent("r", 5, [RankItem("a", 0.5, {"f": 1.0}), RankItem("b", label=1.0)], None, "s")
    for ranking in (plain, rich):
        assert pickle.loads(pickle.dumps(ranking)) == ranking
    assert len(pickle.dumps(plain)) < 100


def test_additive_writes_in_a_row_to_one_record_travel_as_one_op_until_a_read(tmp_path):
    from feature_ops.state import StateSpec

    spec, part, sums = StateSpec("periodic", bucket=10, keep=3), [], {}
    for value, ts in [(1, 100), (1, 103), (2, 107), (1, 112)]:
        RouterEngine._add(part, sums, spec, ("norm", "global"), value, ts)
    assert part == [("norm", "global", 4, 100, 107), ("norm", "global", 1, 112)]  # 112: the next bucket

    config = parse_config({**EXAMPLE, "bootstrap": {**EXAMPLE["bootstrap"], "workdir": str(tmp_path)}}, env={})
    router, combined = RouterEngine(config, MemoryStore()), 0
    for i, event in enumerate(sample_events(tmp_path)):
        router.process(event)
        if i % 500 == 499:
            for ops in router.take()[0].values():
                combined += sum(len(op) == 5 for op in ops)
    assert combined > 100  # the sample's equivalence tests above run through combined ops
