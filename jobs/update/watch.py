"""Watch a running update job through the MiniCluster's REST API: progress, checkpoints, failure, stop."""

from __future__ import annotations

import os
import time
from pathlib import Path
from urllib.parse import urlparse

from pyflink.java_gateway import get_gateway

from jobs.flink.errors import FlinkJobError
from jobs.flink.failure import job_failure
from jobs.flink.rest import FlinkRest, metric_name
from jobs.update.run import UpdateProgress

SOURCE_OPERATORS = {"kafka": "Source: kafka", "rest": "feedback-stream"}
BATCHER = "timed-batcher"
"""Lines read = records into the batcher's vertex (PyFlink fuses Python operators, renaming their metrics)."""


class UpdateWatch:
    """One submitted update job: ``report()`` once a second, ``raise_if_ended()``, ``stop_with_savepoint()``."""

    def __init__(self, client, rest: FlinkRest, job_name: str, source_type: str, bad_log: Path) -> None:
        self.client, self.rest, self.job_name = client, rest, job_name
        self.job_id = str(client.get_job_id())
        self.lag_metric = metric_name(SOURCE_OPERATORS[source_type], "pendingRecords")
        self.bad_log, self.bad_offset, self.bad = bad_log, 0, 0
        self.started = self.last_time = time.monotonic()
        self.events = 0
        self._result = client._j_job_client.getJobExecutionResult()

    def raise_if_ended(self) -> None:
        if self._result.isDone():
            raise job_failure(self.client, self.rest, self.job_id, self.job_name, self.rest.job_state(self.job_id))

    def report(self) -> UpdateProgress:
        now = time.monotonic()
        job = self.rest.job(self.job_id) or {}
        seen = self._lines_read(job)
        rate = 0.0
        if seen is not None:
            rate = max(seen - self.events, 0) / max(now - self.last_time, 1e-9)
            self.events = seen
        self.last_time = now
        lag = self.rest.operator_sum(self.job_id, self.lag_metric)
        state = None if self.events else job.get("state")
        return UpdateProgress(self.events, rate, lag, self.bad, self.checkpoint(), state)

    def _lines_read(self, job: dict) -> int | None:
        for vertex in job.get("vertices", []):
            if vertex["name"].startswith(BATCHER):
                found = self.rest.get(f"/jobs/{self.job_id}/vertices/{vertex['id']}/subtasks/metrics"
                                      "?get=numRecordsIn&agg=sum")  # fmt: skip
                return int(float(found[0]["sum"])) if found else None
        return None

    def checkpoint(self) -> str | None:
        info = self.rest.get(f"/jobs/{self.job_id}/checkpoints") or {}
        completed = (info.get("latest") or {}).get("completed")
        if not completed:
            return None
        ago = max(time.time() - completed["latest_ack_timestamp"] / 1000, 0)
        return f"chk-{completed['id']}, {ago:.0f} s ago"

    def new_bad_messages(self) -> list[str]:
        """Bad messages the engine logged since the last call."""
        try:
            with open(self.bad_log, encoding="utf-8") as f:
                f.seek(self.bad_offset)
                text = f.read()
        except FileNotFoundError:
            return []
        complete = text[: text.rfind("\n") + 1]
        self.bad_offset += len(complete.encode())
        lines = complete.splitlines()
        self.bad += len(lines)
        return lines

    def stop_with_savepoint(self, directory: str) -> str:
        """Stop the job with a CANONICAL savepoint under the URI ``directory``; the savepoint's URI."""
        fmt = get_gateway().jvm.org.apache.flink.core.execution.SavepointFormatType.CANONICAL
        if directory.startswith("file:"):
            os.makedirs(urlparse(directory).path, exist_ok=True)
        try:
            return str(self.client._j_job_client.stopWithSavepoint(False, directory, fmt).get())
        except Exception as e:
            raise FlinkJobError(f"stop-with-savepoint of job {self.job_name!r} ({self.job_id}) failed", self.job_id,
                                str(e)) from e  # fmt: skip
