"""The last step of `make demo`: start the API on the sample (memory state), rerank one ranking, stop.

Picks the sample's last ranking event, posts it to /rank/xgboost on a free loopback port and
prints the request's original order next to the reranked one.

    python examples/demo_rank.py [--config examples/ranklens/config.yml] [--events out/ranklens/events]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def last_ranking(events: Path) -> dict:
    ranking = None
    for path in sorted(events.rglob("*.jsonl.gz")):
        with gzip.open(path, "rt") as stream:
            for line in stream:
                if '"event":"ranking"' in line.replace(" ", ""):
                    ranking = json.loads(line)
    if ranking is None:
        sys.exit(f"no ranking event under {events}")
    ranking.pop("event")
    return ranking


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, api: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if api.poll() is not None:
            sys.exit(f"the API exited with code {api.returncode}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    sys.exit("the API did not become healthy in time")


def post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as r:
        return json.loads(r.read())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="examples/ranklens/config.yml")
    parser.add_argument("--events", default="out/ranklens/events")
    args = parser.parse_args()
    port = free_port()
    rankstream = os.path.join(os.path.dirname(sys.executable), "rankstream")
    api = subprocess.Popen([rankstream, "api", args.config, "--host", "127.0.0.1", "--port", str(port)])
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, api)
        ranking = last_ranking(Path(args.events))
        response = post(f"{url}/rank/xgboost", ranking)
        print(f"POST /rank/xgboost for ranking {ranking['id']} (user {ranking.get('user')}), took {response['took']} ms")
        print(f"{'#':>3}  {'request order':<14} {'reranked':<10} {'score':>8}")
        for i, (before, after) in enumerate(zip(ranking["items"], response["items"], strict=True)):
            print(f"{i:>3}  {before['id']:<14} {after['item']:<10} {after['score']:>8.4f}")
    finally:
        api.terminate()
        api.wait(timeout=30)


if __name__ == "__main__":
    main()
