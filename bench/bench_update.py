"""The update job on a real Kafka broker and Redis: sustained throughput, then freshness at a fixed rate.

Bootstraps (Flink) the first ``--bootstrap-share`` of the sample, uploads it, produces the rest to a topic and
starts ``rankstream update`` on it. Prints two JSON lines:

- ``{"bench": "update_throughput", "events", "events_per_s"}``: the backlog from the first batch's writes in
  Redis to the last event's (a start and an end marker item around the backlog);
- ``{"bench": "update_freshness", "rate": 500, "events", "p50_ms", "p99_ms", "max_ms"}``: clicks produced at
  ``rate`` per second, each on its own new item, timed from the produce call until its click count is
  readable in Redis (polled every 2 ms).

    python bench/bench_update.py [--config examples/ranklens/config.yml] [--rate 500] [--seconds 20]
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import tempfile
import threading
import time
from pathlib import Path

import redis
from confluent_kafka import Producer

from feature_ops.config import load_config
from jobs.flink.bootstrap import bootstrap_flink
from jobs.kafka_broker import KafkaBroker
from jobs.update.run import run_update
from jobs.upload import upload
from serving.testing import RedisServer


def configure(config, workdir: Path, events: Path, redis_port: int, brokers: str):
    raw = config.model_dump(mode="json", by_alias=True, exclude_none=True)
    raw["bootstrap"].update(workdir=str(workdir), source={"type": "file", "path": str(events)})
    raw["inference"].update(state={"type": "redis", "host": "127.0.0.1", "port": redis_port},
                            source={"type": "kafka", "brokers": [brokers], "topic": "events", "groupId": "bench",
                                    "offset": "earliest"})  # fmt: skip
    return type(config).model_validate(raw)


def marker(item: str, ts: int) -> bytes:
    return json.dumps({"event": "item", "id": f"{item}-{ts}", "timestamp": ts, "item": item,
                       "fields": [{"name": "popularity", "value": 1.0}]}).encode()  # fmt: skip


def click(n: int, ts: int) -> bytes:
    return json.dumps({"event": "interaction", "id": f"fresh-{n}", "timestamp": ts, "user": "bench",
                       "session": "bench-s", "type": "click", "item": f"fresh-{n}"}).encode()  # fmt: skip


FAILED: list[BaseException] = []


def wait_key(client: redis.Redis, key: str, timeout: float = 600.0) -> float:
    deadline = time.monotonic() + timeout
    while not client.exists(key):
        if FAILED:
            raise FAILED[0]
        if time.monotonic() > deadline:
            raise TimeoutError(f"{key} never appeared in Redis")
        time.sleep(0.002)
    return time.monotonic()


def throughput(producer: Producer, client: redis.Redis, backlog: list[str], ts: int) -> dict:
    producer.produce("events", marker("bench-start", ts))
    for line in backlog:
        producer.produce("events", line.encode())
        producer.poll(0)
    producer.produce("events", marker("bench-end", ts))
    producer.flush(60)
    start = wait_key(client, "rs:bench-start")
    seconds = wait_key(client, "rs:bench-end") - start
    return {"bench": "update_throughput", "events": len(backlog), "events_per_s": round(len(backlog) / seconds, 1)}


def freshness(producer: Producer, client: redis.Redis, rate: int, seconds: float, ts: int) -> dict:
    sent: dict[int, float] = {}
    latencies: list[float] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set() or sent:
            pending = sorted(sent)[:500]
            if pending:
                pipe = client.pipeline(transaction=False)
                for n in pending:
                    pipe.exists(f"rs:fresh-{n}")
                now = time.monotonic()
                for n, seen in zip(pending, pipe.execute(), strict=True):
                    if seen:
                        latencies.append((now - sent.pop(n)) * 1000)
            time.sleep(0.002)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    total = int(rate * seconds)
    begin = time.monotonic()
    for n in range(total):
        delay = begin + n / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        sent[n] = time.monotonic()
        producer.produce("events", click(n, ts + n))
        producer.poll(0)
    producer.flush(30)
    done.set()
    watcher.join(120)
    latencies.sort()
    pick = lambda q: round(latencies[min(int(q * len(latencies)), len(latencies) - 1)], 1)  # noqa: E731
    return {"bench": "update_freshness", "rate": rate, "events": len(latencies), "p50_ms": pick(0.5),
            "p99_ms": pick(0.99), "max_ms": round(latencies[-1], 1)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="examples/ranklens/config.yml")
    parser.add_argument("--bootstrap-share", type=float, default=0.2)
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    config = load_config(args.config)
    lines = gzip.decompress(Path(config.bootstrap.source.path, "events.jsonl.gz").read_bytes()).decode().splitlines()
    cut = int(len(lines) * args.bootstrap_share)
    root = Path(tempfile.mkdtemp(prefix="bench-update-"))
    (root / "events").mkdir()
    (root / "events" / "part.jsonl").write_text("\n".join(lines[:cut]) + "\n")
    redis_server = RedisServer(root / "redis").start()
    try:
        with KafkaBroker(root / "kafka") as broker:
            config = configure(config, root / "workdir", root / "events", redis_server.port, broker.bootstrap)
            bootstrap_flink(config)
            upload(config)
            run(config, broker, redis_server.port, lines[cut:], args)
    finally:
        redis_server.stop()
        shutil.rmtree(root, ignore_errors=True)


def run(config, broker: KafkaBroker, port: int, backlog: list[str], args) -> None:
    stop = threading.Event()

    def update() -> None:
        try:
            run_update(config, stop=stop)
        except BaseException as e:  # noqa: BLE001 - reported by wait_key
            FAILED.append(e)

    job = threading.Thread(target=update, daemon=True)
    job.start()
    client = redis.Redis(host="127.0.0.1", port=port)
    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0, "queue.buffering.max.messages": 1_000_000})
    ts = max(json.loads(line)["timestamp"] for line in backlog[-100:]) if backlog else 0
    ts = int(ts) + 1
    try:
        print(json.dumps(throughput(producer, client, backlog, ts)), flush=True)
        print(json.dumps(freshness(producer, client, args.rate, args.seconds, ts + 1)), flush=True)
    finally:
        stop.set()
        job.join(120)


if __name__ == "__main__":
    main()
