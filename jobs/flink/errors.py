"""Errors raised by the PyFlink runtime layer (no pyflink import here)."""

from __future__ import annotations


class FlinkJobError(RuntimeError):
    """A Flink job failed, stalled or timed out.

    The message starts with what happened (job name and id) and, for task failures,
    carries the Python exception and traceback text raised inside the operator. ``reason`` is that
    failure in one line for a person (a bad input line's ``path:line: what is wrong``), when known.
    """

    def __init__(self, message: str, job_id: str | None = None, detail: str = "", reason: str | None = None):
        self.job_id = job_id
        self.headline = message
        self.detail = detail
        self.reason = reason
        super().__init__(f"{message}\n{detail}".rstrip())


class EngineError(RuntimeError):
    """The hosted feature engine raised while processing a batch (raised inside the task)."""
