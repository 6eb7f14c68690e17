"""``inference.source: rest``: every event the API acknowledged on /feedback reaches the feature values, across a
restart of the API and a kill -9 of the update job."""

from __future__ import annotations

import httpx
import pytest

from jobs.upload import upload
from serving.testing import ApiServer
from tests.update_helpers import (
    copy_workdir,
    kill_update,
    make_config,
    reference,
    start_update,
    stop_update,
    wait_for_checkpoint,
    wait_for_values,
    write_config,
)

pytestmark = [pytest.mark.flink, pytest.mark.redis]


def post(url: str, lines: list[str]) -> bool:
    """Whether the API at ``url`` acknowledged every event of the body (2xx with all accepted)."""
    try:
        response = httpx.post(f"{url}/feedback", content="\n".join(lines).encode(), timeout=10)
    except httpx.TransportError:
        return False
    return response.status_code == 200 and response.json()["accepted"] == len(lines)


def test_acknowledged_feedback_survives_an_api_restart_and_a_killed_update_job(halves, redis_db, tmp_path):
    workdir = copy_workdir(halves, tmp_path / "wd")
    config = make_config(workdir, tmp_path, redis_db.port, {"type": "rest"}, batchSize=64)
    path = write_config(tmp_path / "config.yml", config)
    upload(config)
    job = start_update(path, tmp_path / "update.log")
    chunks = [halves.second[i : i + 40] for i in range(0, len(halves.second), 40)]
    acked: list[str] = []
    api = ApiServer(config).__enter__()
    try:
        for n, chunk in enumerate(chunks):
            if n == len(chunks) // 3:  # the API restarts: a request in between is refused, then sent again
                url = api.url
                api.__exit__()
                assert not post(url, chunk)
                api = ApiServer(config).__enter__()
            if n == 2 * len(chunks) // 3:  # the update job dies mid-stream; events arrive while it is down
                wait_for_checkpoint(workdir)
                kill_update(job)
            assert post(api.url, chunk)
            acked += chunk
        job = start_update(path, tmp_path / "update.log")
    except BaseException:
        kill_update(job)
        raise
    finally:
        api.__exit__()
    expected = reference(tmp_path, halves.first + acked, redis_db.port, db=1)
    try:
        wait_for_values(redis_db.port, expected)
    finally:
        stopped = stop_update(path, job)
    assert acked == halves.second
    assert stopped.returncode == 0, stopped.stderr
    assert "restoring from checkpoint: file:" in (tmp_path / "update.log").read_text()
