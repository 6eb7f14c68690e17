"""Tiny client for the MiniCluster / JobManager REST API (job state, operator counters)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

_METRIC_ESCAPES = str.maketrans({" ": "_", ":": "_", ".": "_"})


def metric_name(operator_name: str, metric: str) -> str:
    """Flink's operator-scoped metric id: spaces, colons and dots in the name become underscores."""
    return operator_name.translate(_METRIC_ESCAPES) + "." + metric


class FlinkRest:
    """JSON GETs against ``http://<host>:<port>``; returns None while the endpoint is not up."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 5.0):
        self.base = f"http://{host}:{port}"
        self.timeout = timeout

    def get(self, path: str) -> Any:
        try:
            with urllib.request.urlopen(self.base + path, timeout=self.timeout) as resp:
                return json.load(resp)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return None

    def job(self, job_id: str) -> dict | None:
        return self.get(f"/jobs/{job_id}")

    def job_state(self, job_id: str) -> str | None:
        job = self.job(job_id)
        return job.get("state") if job else None

    def operator_sum(self, job_id: str, operator_metric: str) -> int | None:
        """Sum over subtasks of an operator metric (e.g. ``Source__x.numRecordsOut``), in any vertex."""
        job = self.job(job_id)
        for vertex in (job or {}).get("vertices", []):
            query = urllib.parse.urlencode({"get": operator_metric, "agg": "sum"})
            found = self.get(f"/jobs/{job_id}/vertices/{vertex['id']}/subtasks/metrics?{query}")
            if found:
                return int(float(found[0]["sum"]))
        return None

    def root_exception(self, job_id: str) -> str:
        """The stack trace text of the job's root failure ('' if none or unreachable)."""
        info = self.get(f"/jobs/{job_id}/exceptions") or {}
        history = info.get("exceptionHistory", {}).get("entries") or []
        if history:
            return history[0].get("stacktrace", "")
        return info.get("root-exception", "") or ""
