"""Watch a running job until its completion file appears: progress, failure, stall and timeout."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from jobs.flink.errors import FlinkJobError
from jobs.flink.failure import job_failure
from jobs.flink.rest import FlinkRest, metric_name
from jobs.flink.sources import SOURCE_NAME

LINES_METRIC = metric_name(SOURCE_NAME, "numRecordsOut")
POLL_SECONDS = 0.05
REPORT_SECONDS = 1.0


@dataclass(frozen=True)
class Progress:
    """One report: lines the source has emitted, the expected total, the recent rate, seconds since start,
    and (until the first line) the job's state as Flink reports it (CREATED, INITIALIZING, RUNNING...)."""

    lines: int
    total: int | None
    lines_per_second: float
    elapsed: float
    state: str | None = None


def waiting_text(progress: Progress) -> str | None:
    """What the job is doing before its first line, for a person to read; None once lines flow."""
    if progress.lines:
        return None
    if progress.state == "RUNNING":
        return "job running, waiting for first events"
    return f"job {(progress.state or 'submitted').lower()}, deploying tasks..."


class PhaseReport:
    """Reports for a person: each status line once (``starting Flink MiniCluster...``, then what the job
    does before its first line), then line counts for a throughput callback (``lines``)."""

    def __init__(self, lines: Callable[[int], None] | None, status: Callable[[str], None] | None) -> None:
        self.lines, self._status, self.said = lines, status, None

    def status(self, text: str) -> None:
        if text != self.said:
            self.said = text
            if self._status is not None:
                self._status(text)

    def __call__(self, progress: Progress) -> None:
        text = waiting_text(progress)
        if text is not None:
            self.status(text)
        elif self.lines is not None:
            self.lines(progress.lines)


class JobWatch:
    """Polls one job: fails fast if it terminates, reports progress once a second, enforces time limits.

    ``stall_timeout`` applies while the source is still reading (lines < total, or total
    unknown); after that only ``timeout`` bounds the engine's ``finish()``.
    """

    def __init__(
        self,
        client,
        rest: FlinkRest,
        job_name: str,
        total: int | None,
        progress: Callable[[Progress], None] | None,
        timeout: float,
        stall_timeout: float,
    ):
        self.client, self.rest, self.job_name, self.total = client, rest, job_name, total
        self.job_id = str(client.get_job_id())
        self.progress, self.timeout, self.stall_timeout = progress, timeout, stall_timeout
        self.started = self.last_change = self.last_report = time.monotonic()
        self.lines = 0
        self._result = client._j_job_client.getJobExecutionResult()

    def wait_for(self, done_file: str) -> None:
        """Return once ``done_file`` exists; raise ``FlinkJobError`` on failure, stall or timeout."""
        while not os.path.exists(done_file):
            if self._result.isDone():
                raise job_failure(
                    self.client, self.rest, self.job_id, self.job_name, self.rest.job_state(self.job_id)
                )
            now = time.monotonic()
            if now - self.last_report >= REPORT_SECONDS:
                self._report(now)
            self._check_time(now)
            time.sleep(POLL_SECONDS)

    def _report(self, now: float) -> None:
        seen = self.rest.operator_sum(self.job_id, LINES_METRIC)
        rate = 0.0
        if seen is not None and seen != self.lines:
            rate = (seen - self.lines) / max(now - self.last_report, 1e-9)
            self.lines, self.last_change = seen, now
        self.last_report = now
        if self.progress:
            state = None if self.lines else self.rest.job_state(self.job_id)
            self.progress(Progress(self.lines, self.total, rate, now - self.started, state))

    def _check_time(self, now: float) -> None:
        reading = self.total is None or self.lines < self.total
        if now - self.started > self.timeout:
            reason = f"did not finish within {self.timeout:.0f} s"
        elif reading and now - self.last_change > self.stall_timeout:
            reason = f"made no progress for {self.stall_timeout:.0f} s"
        else:
            return
        self.cancel()
        total = "?" if self.total is None else self.total
        raise FlinkJobError(
            f"job {self.job_name!r} ({self.job_id}) {reason}: the source had read "
            f"{self.lines} of {total} lines; the job was cancelled",
            self.job_id,
        )

    def cancel(self) -> None:
        """Cancel the job, ignoring errors: it may already be gone, and the caller raises anyway."""
        with contextlib.suppress(Exception):
            self.client.cancel().result()
