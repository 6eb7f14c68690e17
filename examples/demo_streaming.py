"""`make demo-streaming`: bootstrap -> update on Kafka -> /rank shows a feature value a new click changed.

Starts a Kafka broker and a Redis on loopback under out/streaming/, bootstraps the sample with Flink, uploads the
values, starts `rankstream update` (log in out/streaming/update.log) and the API, asks /rank/noop?explain=true
for the sample's last ranking, produces one click on its first item to Kafka and asks again until the item's
click count moved. Then stops the update job with a savepoint and everything else.

    python examples/demo_streaming.py [--config examples/ranklens/config.yml]
"""

from __future__ import annotations

import argparse
import functools
import gzip
import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import yaml
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from jobs.kafka_broker import KafkaBroker
from serving.testing import RedisServer, free_port

OUT = Path("out/streaming").absolute()
print = functools.partial(print, flush=True)  # noqa: A001 - interleave with the subprocesses' output
FEATURE = "global_item_click_count"


def rankstream(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "jobs.cli", *args], **kwargs)


def run(*args: str) -> None:
    if rankstream(*args).wait() != 0:
        sys.exit(f"rankstream {' '.join(args)} failed")


def write_config(base: Path, redis_port: int, brokers: str) -> Path:
    raw = yaml.safe_load(base.read_text())
    raw["bootstrap"]["workdir"] = str(OUT / "workdir")
    raw["models"] = {"noop": {"type": "noop"}}  # explain=true shows every feature; no model to train first
    raw["inference"].update(state={"type": "redis", "host": "127.0.0.1", "port": redis_port},
                            source={"type": "kafka", "brokers": [brokers], "topic": "events", "groupId": "demo",
                                    "offset": "latest"})  # fmt: skip
    raw["update"] = {"checkpointInterval": "5s"}
    path = OUT / "config.yml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def last_ranking(events: Path) -> dict:
    last = None
    with gzip.open(events, "rt") as stream:
        for line in stream:
            if '"ranking"' in line and '"event":"ranking"' in line.replace(" ", ""):
                last = json.loads(line)
    return last


def clicks(url: str, ranking: dict, item: str) -> float:
    body = {k: v for k, v in ranking.items() if k != "event"}
    request = urllib.request.Request(f"{url}/rank/noop?explain=true", json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as response:
        items = json.loads(response.read())["items"]
    return next(row["features"][FEATURE] for row in items if row["item"] == item)


def wait_healthy(url: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/health", timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    sys.exit("the API did not answer in time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="examples/ranklens/config.yml")
    parser.add_argument("--events", default="out/ranklens/events/events.jsonl.gz")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    with RedisServer(OUT / "redis") as redis_server, KafkaBroker(OUT / "kafka") as broker:
        config = write_config(Path(args.config), redis_server.port, broker.bootstrap)
        raw = yaml.safe_load(config.read_text())
        raw["bootstrap"]["source"]["path"] = str(Path(args.events).parent)
        config.write_text(yaml.safe_dump(raw, sort_keys=False))
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        admin.create_topics([NewTopic("events", 1)])["events"].result(30)
        run("bootstrap", str(config), "--engine", "flink")
        run("upload", str(config))
        demo(config, broker, Path(args.events))


def demo(config: Path, broker: KafkaBroker, events: Path) -> None:
    log = open(OUT / "update.log", "wb")  # noqa: SIM115 - held by the job
    update = rankstream("update", str(config), stdout=log, stderr=log)
    port = free_port()
    api = rankstream("api", str(config), "--port", str(port), stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url)
        ranking = last_ranking(events)
        item = ranking["items"][0]["id"]
        before = clicks(url, ranking, item)
        print(f"\n/rank/noop: item {item} {FEATURE} = {before:g}; waiting for the update job...")
        while "events (" not in (OUT / "update.log").read_text():
            time.sleep(0.5)
        producer = Producer({"bootstrap.servers": broker.bootstrap})
        click = {"event": "interaction", "id": f"demo-{time.time_ns()}", "timestamp": ranking["timestamp"] + 1000,
                 "ranking": ranking["id"], "user": ranking.get("user"), "session": ranking.get("session"),
                 "type": "click", "item": item}  # fmt: skip
        sent = time.monotonic()
        producer.produce("events", json.dumps(click).encode())
        producer.flush(10)
        print(f"produced a click on {item} to Kafka topic 'events'")
        after = before
        while after == before and time.monotonic() - sent < 60:
            time.sleep(0.05)
            after = clicks(url, ranking, item)
        print(f"/rank/noop: item {item} {FEATURE} = {after:g} ({(time.monotonic() - sent) * 1000:.0f} ms after the click)\n")
    finally:
        api.terminate()
        api.wait(30)
        run("update", "--stop", str(config))
        update.wait(60)


if __name__ == "__main__":
    main()
