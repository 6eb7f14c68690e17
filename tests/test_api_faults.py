"""The API under a real uvicorn and a real redis-server that dies, hangs (SIGSTOP) or is flooded: every store
failure is a 503 with a message, /health stays fast, big requests and headers are refused, the feedback
stream stays bounded, and the API listens on loopback unless told otherwise."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import threading
import time

import httpx
import orjson
import pytest
import redis

from feature_ops.config import parse_config
from serving.probe import StoreProbe
from serving.redis_store import RedisValueStore
from serving.resources import load_resources
from serving.testing import ApiServer, RedisServer
from tests.conftest import config_dict, with_state

pytestmark = pytest.mark.redis

RANKING = {"id": "r", "timestamp": 1, "user": "u1", "items": [{"id": f"m{i}"} for i in range(100)]}


def noop_only(config, state: dict, **inference):
    """``config`` with another state and only the noop model (nothing to train: healthy means the store)."""
    raw = config_dict(with_state(config, state, **inference))
    raw["models"] = {"noop": {"type": "noop"}}
    return parse_config(raw, env={})


@pytest.fixture
def redis_api(sample, tmp_path):
    """A private redis-server (the tests stop and kill it) and the API over it with a 200 ms store timeout."""
    with RedisServer(tmp_path / "redis") as server:
        state = {"type": "redis", "host": server.host, "port": server.port, "timeout": "200ms"}
        with ApiServer(noop_only(sample.config, state)) as api:
            yield server, api


def timed(method: str, url: str, client: httpx.Client | None = None, **kwargs) -> tuple[httpx.Response, float]:
    """The response and its seconds; pass a client made beforehand to time the request alone."""
    with httpx.Client(timeout=10) if client is None else contextlib.nullcontext(client) as c:
        start = time.perf_counter()
        response = c.request(method, url, **kwargs)
        return response, time.perf_counter() - start


def in_background(work) -> tuple[threading.Thread, dict]:
    out: dict = {}
    thread = threading.Thread(target=lambda: out.update(result=work()))
    thread.start()
    return thread, out


def test_a_request_in_flight_when_redis_is_killed_is_503(redis_api):
    server, api = redis_api
    assert httpx.post(f"{api.url}/rank/noop", json=RANKING).status_code == 200  # a pooled connection
    server.signal(signal.SIGSTOP)
    thread, out = in_background(lambda: timed("POST", f"{api.url}/rank/noop", json=RANKING))
    time.sleep(0.1)
    server.signal(signal.SIGKILL)  # the request waits on Redis: its connection is reset
    thread.join()
    response, seconds = out["result"]
    where = f"state store is unreachable: redis 127.0.0.1:{server.port}/0: "
    expected = [  # the retry on a fresh connection is refused, or reset while the dying server still listens
        f"{where}Error 111 connecting to 127.0.0.1:{server.port}. Connection refused.",
        f"{where}Error while reading from 127.0.0.1:{server.port} : (104, 'Connection reset by peer')",
    ]
    assert response.status_code == 503 and response.json()["error"] in expected
    assert seconds < 0.2


def test_a_hung_redis_is_503_within_the_timeout_and_health_stays_fast(redis_api):
    server, api = redis_api
    assert httpx.post(f"{api.url}/rank/noop", json=RANKING).status_code == 200
    server.signal(signal.SIGSTOP)
    stopped = time.monotonic()
    try:
        ranks = [in_background(lambda: timed("POST", f"{api.url}/rank/noop", json=RANKING)) for _ in range(4)]
        with httpx.Client(timeout=10) as client:
            while True:  # while four requests wait on Redis, every answer is fast and one soon says why
                health, seconds = timed("GET", f"{api.url}/health", client)
                assert seconds < 0.15  # at most a 50 ms wait on a ping, never the 200 ms timeout
                if health.status_code == 503:
                    break
                assert time.monotonic() - stopped < 1.0  # the ping's 200 ms timeout, then the next check
                time.sleep(0.02)
        reason = f"state store is unreachable: redis 127.0.0.1:{server.port}/0: no answer within 200 ms"
        assert health.json() == {"status": "unavailable", "reasons": [reason]}
        for thread, out in ranks:
            thread.join()
            response, seconds = out["result"]
            expected = f"state store is unreachable: redis 127.0.0.1:{server.port}/0: no answer within 200 ms"
            assert (response.status_code, response.json()) == (503, {"error": expected})
            assert 0.2 <= seconds < 0.6
        feedback = httpx.post(f"{api.url}/feedback", json={"event": "item", "id": "e", "timestamp": 1_650_000_000_000,
                                                                  "item": "a"})
        assert feedback.status_code == 503
    finally:
        server.signal(signal.SIGCONT)
    resumed = time.monotonic()
    assert httpx.post(f"{api.url}/rank/noop", json=RANKING).status_code == 200
    while httpx.get(f"{api.url}/health").status_code != 200:  # a ping sent during the hang may still be out
        assert time.monotonic() - resumed < 1.0
        time.sleep(0.01)


def test_the_store_probe_reports_a_hung_redis_once_its_ping_is_overdue(tmp_path):
    """Socket timeout 1 s: a check waits at most 50 ms, keeps the last result while the ping is out less
    than 250 ms, then says the store does not answer, at once, until a ping comes back."""
    with RedisServer(tmp_path / "redis") as server:
        store = RedisValueStore(server.host, server.port, timeout=1.0)
        probe = StoreProbe(store)

        async def checks() -> list[tuple[str | None, float]]:
            out = []
            for pause in (0, 0, 0.3, 0, 0.1):
                await asyncio.sleep(pause)
                start = time.perf_counter()
                out.append((await probe.check(), time.perf_counter() - start))
                if len(out) == 4:
                    server.signal(signal.SIGCONT)
            return out

        assert asyncio.run(probe.check()) is None
        server.signal(signal.SIGSTOP)
        results = asyncio.run(checks())
        probe.close()
        store.close()
    hung = f"state store is unreachable: redis 127.0.0.1:{server.port}/0: no answer within 250 ms"
    assert [result for result, _ in results] == [None, None, hung, hung, None]
    first, *later = [seconds for _, seconds in results[:4]]
    assert 0.05 <= first < 0.3 and max(later) < 0.04


def test_a_280k_item_request_is_refused_fast_without_blocking_others(redis_api):
    _, api = redis_api
    body = orjson.dumps({**RANKING, "items": [{"id": f"item{i}"} for i in range(280_000)]})
    thread, out = in_background(lambda: timed("POST", f"{api.url}/rank/noop", content=body))
    latencies = []
    with httpx.Client(timeout=10) as client:
        while thread.is_alive():
            latencies.append(timed("GET", f"{api.url}/health", client)[1])
    thread.join()
    response, seconds = out["result"]
    expected = {"error": "request has 280000 items, more than inference.maxItems (1000)"}
    assert (response.status_code, response.json()) == (413, expected)
    assert seconds < 2.0  # the issue: 5.4 s, blocking everything
    assert max(latencies) < 1.0, latencies


def test_a_one_megabyte_header_is_refused_with_431(redis_api):
    _, api = redis_api
    head = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 2**20 + b"\r\nConnection: close\r\n\r\n"
    with socket.create_connection(api.address, timeout=10) as s:
        s.sendall(head)
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
    status, _, body = reply.partition(b"\r\n\r\n")
    assert status.startswith(b"HTTP/1.1 431 ")
    assert orjson.loads(body) == {"error": "request headers are larger than inference.maxHeaderBytes (16384 bytes)"}


def test_the_feedback_stream_is_capped_at_about_max_length(sample, redis_db):
    state = {"type": "redis", "host": redis_db.host, "port": redis_db.port}
    config = noop_only(sample.config, state, feedback={"maxLength": 50})
    click = {"event": "interaction", "timestamp": 1_650_000_000_000, "item": "m1", "type": "click", "user": "u1"}
    with ApiServer(config) as api, httpx.Client() as client:
        for batch in range(20):
            events = [{**click, "id": f"c{batch}-{i}"} for i in range(100)]
            assert client.post(f"{api.url}/feedback", json=events).json()["accepted"] == 100
    stream = redis.Redis(host=redis_db.host, port=redis_db.port)
    assert 50 <= stream.xlen("rs@feedback") <= 150  # MAXLEN ~ trims whole stream nodes (100 entries each)
    assert stream.xrevrange("rs@feedback", count=1)[0][1][b"event"] == orjson.dumps({**click, "id": "c19-99"})


def test_the_api_listens_on_loopback_by_default(sample):
    raw = config_dict(noop_only(sample.config, {"type": "memory"}))
    raw["inference"].pop("host")
    config = parse_config(raw, env={})
    assert config.inference.host == "127.0.0.1"
    with ApiServer(config, load_resources(config)) as api:
        assert api.address[0] == "127.0.0.1"
        assert httpx.get(f"{api.url}/health").status_code == 200


def test_the_store_probe_reports_an_unexpected_ping_error_and_recovers():
    """A ping failing with something other than StoreUnavailable is a reason, not an exception left in the
    probe's future (which every later check would raise again, with no new ping ever sent)."""

    class Flaky:
        name = "flaky"

        def __init__(self) -> None:
            self.failures = 1

        def ping(self) -> None:
            if self.failures:
                self.failures -= 1
                raise RuntimeError("boom")

    probe = StoreProbe(Flaky())  # type: ignore[arg-type]
    try:
        assert asyncio.run(probe.check()) == "state store is unreachable: flaky: ping failed: RuntimeError: boom"
        assert asyncio.run(probe.check()) is None
    finally:
        probe.close()
