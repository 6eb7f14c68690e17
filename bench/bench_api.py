"""Benchmark of ``POST /rank``: a real uvicorn (one worker, loopback) over a real redis-server.

Bootstraps the sample (out/ranklens, or a freshly generated one) with the 17-feature example config,
trains its xgboost model, uploads the latest values and ranks random real items as the last ranking's
visitor. Prints one JSON line per (items, concurrency) and one for Redis memory per user.
Goals: p99 <= 5 ms at 100 items and <= 12 ms at 300 (c=1); >= 300 rps at 100 items (c=8).

The load comes from ``wrk`` (Debian package ``wrk``) when it is on PATH: a separate C process with one
thread and ``c`` keep-alive connections that cycles through the request bodies (``WRK_SCRIPT``) for
``SECONDS``, so the client costs the API little CPU. Without it, a slower fallback: httpx clients in threads
of this process. Each line names the client it used.
"""

from __future__ import annotations

import gzip
import json
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import orjson
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from feature_ops.config import parse_config  # noqa: E402
from jobs.embedded import bootstrap_embedded  # noqa: E402
from jobs.generate import generate  # noqa: E402
from jobs.train.command import train_models  # noqa: E402
from jobs.upload import upload  # noqa: E402
from serving.testing import RedisServer, free_port  # noqa: E402

SIZES, CONCURRENCY, REQUESTS, WARMUP, SECONDS = (10, 100, 300), (1, 8), 400, 40, 5
WRK_SCRIPT = """
local bodies, i = {}, 0
function init(args)
  for line in io.lines(args[1]) do bodies[#bodies + 1] = line end
end
function request()
  i = i % #bodies + 1
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, bodies[i])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"p50_us": %d, "p99_us": %d, "requests": %d, "errors": %d, "seconds": %f}\\n',
    latency:percentile(50), latency:percentile(99), summary.requests,
    e.connect + e.read + e.write + e.status + e.timeout, summary.duration / 1e6))
end
"""

METARANK_P99_MS = {100: 9.8, 300: 23.7}
"""The baseline issue 5 names: Metarank's JVM API, p99 at 100 and 300 items (concurrency 1)."""


def prepare(tmp: Path, redis: RedisServer) -> tuple[Path, dict, list[dict]]:
    events = ROOT / "out" / "ranklens" / "events" / "events.jsonl.gz"
    if not events.exists():
        events = generate(tmp / "sample").events_path
    raw = yaml.safe_load((ROOT / "examples" / "ranklens" / "config.yml").read_text())
    raw["bootstrap"].update(workdir=str(tmp / "workdir"), source={"type": "file", "path": str(events)})
    raw["models"]["xgboost"]["path"] = str(tmp / "models" / "xgboost.model")
    raw["inference"]["state"] = {"type": "redis", "host": redis.host, "port": redis.port}
    config = parse_config(raw, env={})
    bootstrap_embedded(config)
    train_models(config, "xgboost", log=lambda line: None)
    path = tmp / "config.yml"
    path.write_text(yaml.safe_dump(raw))
    with gzip.open(events, "rb") as f:
        rows = [orjson.loads(line) for line in f]
    return path, config, rows


def requests_for(rows: list[dict], n: int, count: int) -> list[bytes]:
    items = sorted({e["item"] for e in rows if e["event"] == "item"})
    last = [e for e in rows if e["event"] == "ranking"][-1]
    rng = random.Random(n)
    base = {k: last[k] for k in ("timestamp", "user", "session", "fields") if k in last}
    return [orjson.dumps({**base, "id": f"bench-{n}-{i}", "items": [{"id": x} for x in rng.sample(items, n)]})
            for i in range(count)]  # fmt: skip


def run_wrk(wrk: str, url: str, bodies: list[bytes], concurrency: int, tmp: Path) -> dict:
    """p50/p99 ms and rps of ``wrk`` cycling through ``bodies`` for SECONDS on ``concurrency`` connections."""
    script, lines = tmp / "rank.lua", tmp / "bodies.jsonl"
    script.write_text(WRK_SCRIPT)
    lines.write_bytes(b"\n".join(bodies) + b"\n")
    args = [wrk, "-t1", f"-c{concurrency}", f"-d{SECONDS}s", "-s", str(script), url, "--", str(lines)]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    stats = json.loads(out.strip().splitlines()[-1])
    assert stats["errors"] == 0, out
    return {"p50_ms": round(stats["p50_us"] / 1000, 2), "p99_ms": round(stats["p99_us"] / 1000, 2),
            "rps": round(stats["requests"] / stats["seconds"], 1), "requests": stats["requests"]}  # fmt: skip


def run_httpx(url: str, bodies: list[bytes], concurrency: int) -> dict:
    latencies, seconds = run(url, bodies, concurrency)
    ms = np.array(latencies) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 2), "p99_ms": round(float(np.percentile(ms, 99)), 2),
            "rps": round(len(latencies) / seconds, 1), "requests": len(latencies)}  # fmt: skip


def run(url: str, bodies: list[bytes], concurrency: int) -> tuple[list[float], float]:
    latencies: list[float] = []
    lock = threading.Lock()
    chunks = [bodies[i::concurrency] for i in range(concurrency)]

    def worker(chunk: list[bytes]) -> None:
        with httpx.Client(timeout=10) as client:
            mine = []
            for body in chunk:
                start = time.perf_counter()
                response = client.post(url, content=body, headers={"content-type": "application/json"})
                mine.append(time.perf_counter() - start)
                assert response.status_code == 200, response.text
            with lock:
                latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(c,)) for c in chunks]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, time.perf_counter() - start


def wait_ready(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"API at {url} did not become healthy")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, RedisServer(Path(tmp) / "redis") as redis:
        import redis as redis_py

        client = redis_py.Redis(host=redis.host, port=redis.port)
        baseline = int(client.info("memory")["used_memory"])
        path, config, rows = prepare(Path(tmp), redis)
        result = upload(config)
        users = len({e["user"] for e in rows if e.get("user")})
        print(json.dumps({"bench": "redis_bytes_per_user", "users": users, "keys": result.keys,
                          "used_memory_bytes": result.used_memory - baseline,
                          "bytes_per_user": round((result.used_memory - baseline) / users)}))  # fmt: skip
        port = free_port()
        api = subprocess.Popen([sys.executable, "-m", "jobs.cli", "api", str(path), "--host", "127.0.0.1",
                                "--port", str(port)], cwd=ROOT)  # fmt: skip
        wrk = shutil.which("wrk")
        try:
            wait_ready(f"http://127.0.0.1:{port}/health")
            for n in SIZES:
                url = f"http://127.0.0.1:{port}/rank/xgboost"
                run(url, requests_for(rows, n, WARMUP), 1)
                for c in CONCURRENCY:
                    bodies = requests_for(rows, n, REQUESTS)
                    stats = run_wrk(wrk, url, bodies, c, Path(tmp)) if wrk else run_httpx(url, bodies, c)
                    baseline = METARANK_P99_MS.get(n) if c == 1 else None
                    vs = {"metarank_p99_ms": baseline, "p99_vs_metarank": round(stats["p99_ms"] / baseline, 3)} if baseline else {}
                    print(json.dumps({"bench": "rank_latency", "items": n, "concurrency": c, **stats, **vs,
                                      "model": "xgboost", "client": "wrk" if wrk else "httpx"}), flush=True)  # fmt: skip
        finally:
            api.terminate()
            api.wait(10)


if __name__ == "__main__":
    main()
