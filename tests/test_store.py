"""The value store contract, run against both implementations (memory and a real Redis)."""

from __future__ import annotations

import signal
import threading
import time

import pytest
import redis

from feature_ops.codec import decode
from feature_ops.config import parse_config
from feature_ops.featureset import FeatureSet
from serving.errors import StoreUnavailable
from serving.redis_store import RedisValueStore
from serving.store import KeyLayout, MemoryValueStore, open_store, ttl_items
from serving.testing import RedisServer, free_port, started

pytestmark = pytest.mark.redis


@pytest.fixture(params=["memory", "redis"])
def store(request):
    if request.param == "memory":
        yield MemoryValueStore()
    else:
        yield request.getfixturevalue("redis_store")


def test_missing_keys_and_fields_read_as_none(store):
    store.put_many([("rs:p1", "a@1", b"v", 60_000)])
    assert store.get_many([("rs:x", ("a@1", "b@1")), ("rs:p1", ("b@1", "a@1"))]) == [[None, None], [None, b"v"]]


def test_empty_read_is_empty(store):
    assert store.get_many([]) == []


def test_values_come_back_in_lookup_and_field_order_with_duplicates(store):
    items = [("k1", "f", b"\x01[1,2]", 60_000), ("k2", "f", b"two", 60_000), ("k2", "g", b"three", 60_000)]
    assert store.put_many(items) == 3
    lookups = [("k2", ("g", "f")), ("missing", ("f",)), ("k1", ("f", "f")), ("k2", ("f",))]
    assert store.get_many(lookups) == [[b"three", b"two"], [None], [b"\x01[1,2]", b"\x01[1,2]"], [b"two"]]


def test_put_overwrites_a_field_and_keeps_the_others(store):
    store.put_many([("k", "a", b"old", 60_000), ("k", "b", b"other", 60_000)])
    store.put_many([("k", "a", b"new", 60_000)])
    assert store.get_many([("k", ("a", "b"))]) == [[b"new", b"other"]]


def test_ttl_really_expires_keys(store):
    store.put_many([("short", "f", b"v", 50), ("long", "f", b"v", 60_000)])
    assert store.get_many([("short", ("f",))]) == [[b"v"]]
    time.sleep(0.15)
    assert store.get_many([("short", ("f",)), ("long", ("f",))]) == [[None], [b"v"]]


def test_a_hash_lives_as_long_as_its_longest_lived_field(store):
    store.put_many([("k", "long", b"v", 60_000), ("k", "short", b"v", 50)])
    store.put_many([("k", "short", b"w", 50)])
    store.put_many([("j", "short", b"v", 50)])
    store.put_many([("j", "long", b"v", 60_000)])
    time.sleep(0.15)
    assert store.get_many([("k", ("long", "short")), ("j", ("long", "short"))]) == [[b"v", b"w"], [b"v", b"v"]]


def test_feedback_is_appended(store):
    assert store.append_feedback([b'{"event":"item"}', b'{"event":"user"}']) == 2


@pytest.mark.parametrize("kind", ["memory", "redis"])
def test_the_feedback_stream_keeps_about_max_feedback_events(kind, request):
    if kind == "memory":
        store, length = MemoryValueStore(max_feedback=50), lambda: len(store.feedback)
    else:
        address = request.getfixturevalue("redis_db")
        store = RedisValueStore(address.host, address.port, max_feedback=50)
        length = lambda: redis.Redis(host=address.host, port=address.port).xlen("rs@feedback")  # noqa: E731
    for batch in range(30):
        store.append_feedback([b"%d" % (batch * 100 + i) for i in range(100)])
    assert (length() == 50) if kind == "memory" else (50 <= length() <= 150)  # Redis trims whole 100-entry nodes


def test_ping_answers(store):
    assert store.ping() is None


def test_many_items_are_written_in_batches(store):
    items = [(f"key{i // 2}", f"f{i % 2}", str(i).encode(), 60_000) for i in range(2500)]
    assert store.put_many(iter(items)) == 2500
    lookups = [("key0", ("f0", "f1")), ("key999", ("f1",)), ("key1249", ("f0", "f1"))]
    assert store.get_many(lookups) == [[b"0", b"1"], [b"1999"], [b"2498", b"2499"]]


def test_redis_key_ttl_is_the_largest_field_ttl(redis_store, redis_db):
    redis_store.put_many([("k", "a", b"v", 30_000), ("k", "b", b"v", 90_000)])
    redis_store.put_many([("k", "a", b"w", 60_000)])
    redis_store.put_many([("n", "a", b"v", 40_000)])
    client = redis.Redis(host=redis_db.host, port=redis_db.port)
    assert 89_000 < client.pttl("k") <= 90_000
    assert 39_000 < client.pttl("n") <= 40_000
    assert client.hgetall("k") == {b"a": b"w", b"b": b"v"}


def test_redis_key_of_another_type_reads_as_missing(redis_store, redis_db):
    redis_store.append_feedback([b"{}"])
    redis_store.put_many([("rs:p1", "a", b"v", 60_000)])
    assert redis_store.get_many([("rs@feedback", ("a", "b")), ("rs:p1", ("a",))]) == [[None, None], [b"v"]]


@pytest.mark.parametrize("fast", [True, False], ids=["hiredis-reader", "connection-api"])
def test_redis_read_paths_agree(redis_store, monkeypatch, fast):
    import serving.redis_store as module

    if not fast:
        monkeypatch.setattr(module, "_NOT_ENOUGH_DATA", None)
    redis_store.append_feedback([b"{}"])
    redis_store.put_many([(f"rs:{i}", f, b"x" * i, 60_000) for i in range(0, 3000, 7) for f in ("a", "b")])
    lookups = [(f"rs:{i}", ("b", "c", "a")) for i in range(0, 3000, 3)] + [("rs@feedback", ("a",))]
    expected = [[b"x" * i, None, b"x" * i] if i % 7 == 0 else [None] * 3 for i in range(0, 3000, 3)]
    assert redis_store.get_many(lookups) == [*expected, [None]]
    conn = redis_store.client.connection_pool.get_connection()
    assert module._fast_parser(conn) is fast
    redis_store.client.connection_pool.release(conn)


def test_redis_feedback_goes_to_the_prefixed_stream(redis_db):
    store = RedisValueStore(redis_db.host, redis_db.port, prefix="shop")
    store.append_feedback([b'{"a":1}', b'{"b":2}'])
    entries = redis.Redis(host=redis_db.host, port=redis_db.port).xrange("shop@feedback")
    assert [fields[b"event"] for _, fields in entries] == [b'{"a":1}', b'{"b":2}']


@pytest.mark.parametrize("call", ["get_many", "put_many", "append_feedback", "ping", "used_memory"])
def test_unreachable_redis_raises_store_unavailable(call):
    port = free_port()
    store = RedisValueStore("127.0.0.1", port, timeout=0.2)
    args = {"get_many": ([("k", ("f",))],), "put_many": ([("k", "f", b"v", 1000)],), "append_feedback": ([b"{}"],)}
    with pytest.raises(StoreUnavailable) as error:
        getattr(store, call)(*args.get(call, ()))
    assert error.value.status == 503
    assert error.value.message == (
        f"state store is unreachable: redis 127.0.0.1:{port}/0: Error 111 connecting to 127.0.0.1:{port}. "
        "Connection refused."
    )


@pytest.fixture
def hung_redis(tmp_path):
    """A redis-server that answered once (a pooled connection), then SIGSTOPped; resumed and stopped after."""
    with RedisServer(tmp_path / "redis") as server:
        store = RedisValueStore(server.host, server.port, timeout=0.2)
        store.put_many([("k", "f", b"v", 60_000)])
        server.signal(signal.SIGSTOP)
        yield server, store
        if server.process is not None:
            server.signal(signal.SIGCONT)


@pytest.mark.parametrize("call", ["get_many", "put_many", "append_feedback", "ping", "used_memory"])
def test_a_hung_redis_raises_store_unavailable_after_the_timeout(hung_redis, call):
    server, store = hung_redis
    args = {"get_many": ([("k", ("f",))],), "put_many": ([("k", "f", b"v", 1000)],), "append_feedback": ([b"{}"],)}
    start = time.perf_counter()
    with pytest.raises(StoreUnavailable) as error:
        getattr(store, call)(*args.get(call, ()))
    assert 0.2 <= time.perf_counter() - start < 0.6  # one timeout: a timed-out call is not retried
    assert error.value.message == f"state store is unreachable: redis 127.0.0.1:{server.port}/0: no answer within 200 ms"
    server.signal(signal.SIGCONT)
    assert store.get_many([("k", ("f",))]) == [[b"v"]]  # and it recovers on a fresh connection


def test_a_read_whose_connection_is_reset_raises_store_unavailable(hung_redis):
    """SIGKILL while the read waits: the unread request resets the connection (the built-in
    ConnectionResetError on the hiredis path); the retry finds the server gone."""
    server, store = hung_redis
    kill = threading.Timer(0.1, server.signal, (signal.SIGKILL,))
    kill.start()
    with pytest.raises(StoreUnavailable) as error:
        store.get_many([("k", ("f",))])
    kill.join()
    where = f"state store is unreachable: redis 127.0.0.1:{server.port}/0: "
    assert error.value.message in [  # the retry is refused, or reset while the dying server still listens
        f"{where}Error 111 connecting to 127.0.0.1:{server.port}. Connection refused.",
        f"{where}Error while reading from 127.0.0.1:{server.port} : (104, 'Connection reset by peer')",
    ]


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


def test_key_layout_is_a_hash_per_scope_id_with_a_field_per_salted_namespace():
    features = FeatureSet(parse_config(CONFIG, env={}).features)
    layout = KeyLayout(features, "shop")
    assert layout.key("p1") == "shop:p1" and layout.fields["price"] == features.namespaces["price"]
    assert features.namespaces["price"].startswith("price@") and layout.feedback == "shop@feedback"


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
        ((key, field, value, got),) = items
        assert (key, field, got) == ("rs:p1", features.namespaces[state], ttl)
        assert decode(features.specs[state], value) == record


def test_open_store_picks_the_implementation():
    config = parse_config(CONFIG, env={})
    assert isinstance(open_store(config.inference.state), MemoryValueStore)
    raw = {**CONFIG, "inference": {**CONFIG["inference"], "state": {"type": "redis", "port": 1, "prefix": "x"}}}
    store = open_store(parse_config(raw, env={}).inference.state)
    assert isinstance(store, RedisValueStore) and store.stream == "x@feedback" and store.name == "redis localhost:1/0"


def test_a_test_server_counts_as_started_once_it_answers_and_not_after_it_exits_or_times_out(tmp_path):
    import subprocess
    import sys

    flag = tmp_path / "up"
    writer = subprocess.Popen([sys.executable, "-c", f"import time, pathlib; time.sleep(0.2); pathlib.Path({str(flag)!r}).touch(); time.sleep(30)"])  # fmt: skip
    try:
        assert started(writer, flag.exists, timeout=10, interval=0.02)
        assert not started(writer, lambda: False, timeout=0.2, interval=0.02)  # alive, never answers: timeout
    finally:
        writer.kill()
        writer.wait()
    quitter = subprocess.Popen([sys.executable, "-c", "pass"])
    began = time.monotonic()
    assert not started(quitter, lambda: False, timeout=30, interval=0.02)  # exited: no need to wait out 30 s
    assert time.monotonic() - began < 10
