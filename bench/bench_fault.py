"""Benchmark of ``POST /rank`` while Redis hangs: 100-item requests at concurrency 8 for 20 s against a real
uvicorn over a real redis-server, SIGSTOPped for the middle 5 s, while a side prober calls ``GET /health``
every 20 ms. Prints one JSON line ``{"bench": "rank_under_fault", ...}``.

Goals: no response 500 (503 is the answer while Redis is down), ``/health`` within 100 ms throughout,
throughput back to normal within 1 s of Redis resuming. ``recovery_s``: from SIGCONT to the end of the first
200 ms window whose 200-responses rate is at least 80% of the rate before the fault. ``/health`` latency is
also given per phase (before, during, after the fault): on a CPU-starved machine the queue of ranking work
ahead of a probe, not Redis, sets it.

The client is asyncio over raw keep-alive connections with prebuilt requests (cheaper than an HTTP library,
so it takes little CPU from the API on a small machine); statuses and times of every response are kept.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_api import ROOT, prepare, requests_for, run, wait_ready  # noqa: E402

from serving.testing import RedisServer, free_port  # noqa: E402

SECONDS, FAULT_START, FAULT_SECONDS, CONCURRENCY, ITEMS, PROBE_EVERY, WINDOW = 20.0, 7.5, 5.0, 8, 100, 0.02, 0.2


def http_request(method: str, path: str, body: bytes = b"") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


async def exchange(reader, writer, request: bytes) -> int:
    """Send one request on a keep-alive connection and read its response; the status."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(int(line[15:]) for line in head.lower().split(b"\r\n") if line.startswith(b"content-length:"))
    await reader.readexactly(length)
    return int(head[9:12])


async def ranker(port: int, requests: list[bytes], offset: int, until: float, log: list) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = offset
    while (start := time.monotonic()) < until:
        status = await asyncio.wait_for(exchange(reader, writer, requests[i % len(requests)]), 10)
        log.append((start, time.monotonic(), status))
        i += CONCURRENCY
    writer.close()


async def prober(port: int, until: float, log: list) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = http_request("GET", "/health")
    while (start := time.monotonic()) < until:
        status = await asyncio.wait_for(exchange(reader, writer, request), 10)
        log.append((start, time.monotonic(), status))
        await asyncio.sleep(max(0.0, start + PROBE_EVERY - time.monotonic()))
    writer.close()


async def fault(redis: RedisServer, start: float) -> tuple[float, float]:
    await asyncio.sleep(start + FAULT_START - time.monotonic())
    redis.signal(signal.SIGSTOP)
    stopped = time.monotonic()
    await asyncio.sleep(FAULT_SECONDS)
    redis.signal(signal.SIGCONT)
    return stopped, time.monotonic()


async def load(port: int, requests: list[bytes], redis: RedisServer) -> tuple[list, list, float, float, float]:
    start = time.monotonic()
    until = start + SECONDS
    ranks: list = []
    health: list = []
    workers = [ranker(port, requests, i, until, ranks) for i in range(CONCURRENCY)]
    _, *_, (stopped, resumed) = await asyncio.gather(prober(port, until, health), *workers, fault(redis, start))
    return ranks, health, start, stopped, resumed


def summarize(ranks: list, health: list, start: float, stopped: float, resumed: float) -> dict:
    ends = np.array([end for _, end, _ in ranks])
    statuses = np.array([status for _, _, status in ranks])
    ms = np.array([end - begin for begin, end, _ in ranks]) * 1000
    ok = statuses == 200
    before = (ends > start + 1) & (ends < stopped)
    base_rate = ok[before].sum() / (stopped - start - 1)
    recovery = None
    for t in np.arange(resumed, ends.max() - WINDOW, WINDOW / 5):
        in_window = ok & (ends >= t) & (ends < t + WINDOW)
        if in_window.sum() / WINDOW >= 0.8 * base_rate:
            recovery = round(float(t + WINDOW - resumed), 3)
            break
    during = (ends >= stopped) & (ends < resumed)
    health_ms = [(end - begin) * 1000 for begin, end, _ in health]
    phases = {"before": (start, stopped), "during": (stopped, resumed), "after": (resumed, start + SECONDS)}
    health_max = {
        f"health_max_ms_{name}_fault": round(max(ms for (begin, _, _), ms in zip(health, health_ms, strict=True)
                                                 if low <= begin < high), 2)
        for name, (low, high) in phases.items()
    }  # fmt: skip
    codes = {str(code): int((statuses == code).sum()) for code in sorted(set(statuses.tolist()))}
    return {
        "bench": "rank_under_fault", "items": ITEMS, "concurrency": CONCURRENCY, "seconds": SECONDS,
        "fault_seconds": FAULT_SECONDS, "rps": round(len(ranks) / SECONDS, 1),
        "errors_5xx": int((statuses >= 500).sum()), "errors_500": int((statuses == 500).sum()), "statuses": codes,
        "p99_ms": round(float(np.percentile(ms, 99)), 2), "p99_ms_before_fault": round(float(np.percentile(ms[before], 99)), 2),
        "rps_ok_before_fault": round(float(base_rate), 1), "rps_during_fault": round(float(during.sum() / FAULT_SECONDS), 1),
        "recovery_s": recovery, "health_checks": len(health), "health_max_ms": round(max(health_ms), 2),
        "health_p99_ms": round(float(np.percentile(health_ms, 99)), 2), **health_max,
        "health_statuses": sorted({status for _, _, status in health}),
    }  # fmt: skip


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, RedisServer(Path(tmp) / "redis") as redis:
        path, config, rows = prepare(Path(tmp), redis)
        from jobs.upload import upload

        upload(config)
        port = free_port()
        api = subprocess.Popen([sys.executable, "-m", "jobs.cli", "api", str(path), "--port", str(port)], cwd=ROOT)
        try:
            wait_ready(f"http://127.0.0.1:{port}/health")
            url = f"http://127.0.0.1:{port}/rank/xgboost"
            run(url, requests_for(rows, ITEMS, 40), 1)
            requests = [http_request("POST", "/rank/xgboost", body) for body in requests_for(rows, ITEMS, 400)]
            print(json.dumps(summarize(*asyncio.run(load(port, requests, redis)))), flush=True)
        finally:
            api.terminate()
            api.wait(10)


if __name__ == "__main__":
    main()
