"""The value store contract, run against both implementations (memory and a real Redis)."""

from __future__ import annotations

import time

import pytest
import redis

from feature_ops.codec import decode
from feature_ops.config import parse_config
from feature_ops.featureset import FeatureSet
from serving.errors import StoreUnavailable
from serving.redis_store import RedisValueStore
from serving.store import KeyLayout, MemoryValueStore, open_store, ttl_items
from serving.testing import free_port

pytestmark = pytest.mark.redis


@pytest.fixture(params=["memory", "redis"])
def store(request):
    if request.param == "memory":
        yield MemoryValueStore()
    else:
        yield request.getfixturevalue("redis_store")


def test_missing_keys_read_as_none(store):
    assert store.get_many(["rs:a@1:x", "rs:b@1:y"]) == [None, None]


def test_empty_read_is_empty(store):
    assert store.get_many([]) == []


def test_values_come_back_in_key_order_with_duplicates(store):
    assert store.put_many([("k1", b"\x01[1,2]", None), ("k2", b"two", 60_000)]) == 2
    assert store.get_many(["k2", "missing", "k1", "k2"]) == [b"two", None, b"\x01[1,2]", b"two"]


def test_put_overwrites(store):
    store.put_many([("k", b"old", None)])
    store.put_many([("k", b"new", None)])
    assert store.get_many(["k"]) == [b"new"]


def test_ttl_really_expires_keys(store):
    store.put_many([("short", b"v", 50), ("long", b"v", 60_000), ("forever", b"v", None)])
    assert store.get_many(["short"]) == [b"v"]
    time.sleep(0.15)
    assert store.get_many(["short", "long", "forever"]) == [None, b"v", b"v"]


def test_feedback_is_appended(store):
    assert store.append_feedback([b'{"event":"item"}', b'{"event":"user"}']) == 2


def test_ping_answers(store):
    assert store.ping() is None


def test_many_items_are_written_in_batches(store):
    items = [(f"key{i}", str(i).encode(), 60_000) for i in range(2500)]
    assert store.put_many(iter(items)) == 2500
    assert store.get_many(["key0", "key1999", "key2499"]) == [b"0", b"1999", b"2499"]


def test_redis_sets_ttl_with_the_value(redis_store, redis_db):
    redis_store.put_many([("k", b"v", 90_000), ("p", b"v", None)])
    client = redis.Redis(host=redis_db.host, port=redis_db.port)
    assert 89_000 < client.pttl("k") <= 90_000
    assert client.pttl("p") == -1


def test_redis_feedback_goes_to_the_prefixed_stream(redis_db):
    store = RedisValueStore(redis_db.host, redis_db.port, prefix="shop")
    store.append_feedback([b'{"a":1}', b'{"b":2}'])
    entries = redis.Redis(host=redis_db.host, port=redis_db.port).xrange("shop:feedback")
    assert [fields[b"event"] for _, fields in entries] == [b'{"a":1}', b'{"b":2}']


@pytest.mark.parametrize("call", ["get_many", "put_many", "append_feedback", "ping", "used_memory"])
def test_unreachable_redis_raises_store_unavailable(call):
    port = free_port()
    store = RedisValueStore("127.0.0.1", port, timeout=0.2)
    args = {"get_many": (["k"],), "put_many": ([("k", b"v", None)],), "append_feedback": ([b"{}"],)}
    with pytest.raises(StoreUnavailable) as error:
        getattr(store, call)(*args.get(call, ()))
    assert error.value.status == 503
    assert error.value.message == (
        f"state store is unreachable: redis 127.0.0.1:{port}/0: Error 111 connecting to 127.0.0.1:{port}. "
        "Connection refused."
    )


CONFIG = {
    "features": [
        {"name": "price", "type": "number", "scope": "item", "source": "item.price", "ttl": "1h"},
        {"name": "clicks", "type": "interaction_count", "interaction": "click", "scope": "item", "ttl": "2h"},
    ],
    "models": {"noop": {"type": "noop"}},
    "bootstrap": {"workdir": "/tmp/unused", "source": {"type": "file", "path": "/tmp/unused"}},
    "inference": {"source": {"type": "rest"}, "state": {"type": "memory"}},
}
HOUR = 3_600_000


def test_key_layout_uses_prefix_and_salted_namespace():
    features = FeatureSet(parse_config(CONFIG, env={}).features)
    layout = KeyLayout(features, "shop")
    assert layout.key("price", "p1") == f"shop:{features.namespaces['price']}:p1"
    assert features.namespaces["price"].startswith("price@") and layout.feedback == "shop:feedback"


@pytest.mark.parametrize(
    ("state", "record", "now", "ttl"),
    [
        ("price", (9.5, 1000), 1000, HOUR),  # written at the last event: the full ttl
        ("price", (9.5, 1000), 1000 + HOUR - 1, 1),  # one ms left
        ("price", (9.5, 1000), 1000 + HOUR, None),  # expired exactly at the last event: not written
        ("clicks", (3, 5000), 5000 + HOUR, HOUR),  # another feature's ttl
        ("price", (9.5, 1000, 9.0, 500), 1000, HOUR),  # refresh records expire from their last write
    ],
)
def test_ttl_items_give_the_ttl_left_at_the_last_event(state, record, now, ttl):
    features = FeatureSet(parse_config(CONFIG, env={}).features)
    items = list(ttl_items(features, KeyLayout(features), [(state, "p1", record)], now))
    if ttl is None:
        assert items == []
    else:
        ((key, value, got),) = items
        assert (key, got) == (f"rs:{features.namespaces[state]}:p1", ttl)
        assert decode(features.specs[state], value) == record


def test_open_store_picks_the_implementation():
    config = parse_config(CONFIG, env={})
    assert isinstance(open_store(config.inference.state), MemoryValueStore)
    raw = {**CONFIG, "inference": {**CONFIG["inference"], "state": {"type": "redis", "port": 1, "prefix": "x"}}}
    store = open_store(parse_config(raw, env={}).inference.state)
    assert isinstance(store, RedisValueStore) and store.stream == "x:feedback" and store.where == "localhost:1/0"
