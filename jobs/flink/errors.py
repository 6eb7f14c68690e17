"""Errors raised by the PyFlink runtime layer (no pyflink import here)."""

from __future__ import annotations


class FlinkJobError(RuntimeError):
    """A Flink job failed, stalled or timed out.

    The message starts with what happened (job name and id) and, for task failures,
    carries the Python exception and traceback text raised inside the operator.
    """

    def __init__(self, message: str, job_id: str | None = None, detail: str = ""):
        self.job_id = job_id
        self.detail = detail
        super().__init__(f"{message}\n{detail}".rstrip())


class EngineError(RuntimeError):
    """The hosted feature engine raised while processing a batch (raised inside the task)."""
