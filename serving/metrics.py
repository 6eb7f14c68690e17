"""Prometheus metrics of one API instance (its own registry, so several apps can live in one process)."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 1.0)


class Metrics:
    """Request counts and latencies per endpoint and model, feedback results and store errors."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "rankstream_requests_total", "HTTP requests", ["endpoint", "model", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "rankstream_request_seconds", "Request latency", ["endpoint", "model"], buckets=BUCKETS,
            registry=self.registry,
        )
        self.feedback = Counter(
            "rankstream_feedback_events_total", "Feedback events by result", ["result"], registry=self.registry
        )
        self.store_errors = Counter("rankstream_store_errors_total", "State store failures", registry=self.registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Pure ASGI middleware: times every HTTP request and counts it by endpoint, model and status."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start, status = time.perf_counter(), [500]

        async def record(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            resources = scope["app"].state.resources
            endpoint, model = _labels(scope["path"], resources.pipelines)
            resources.metrics.requests.labels(endpoint, model, str(status[0])).inc()
            resources.metrics.latency.labels(endpoint, model).observe(time.perf_counter() - start)


def _labels(path: str, models) -> tuple[str, str]:
    """Bounded label values: unknown models and paths collapse to '-' and 'other'."""
    if path.startswith("/rank/"):
        model = path[6:]
        return "/rank", model if model in models else "-"
    known = path in ("/feedback", "/health", "/metrics", "/openapi.json")
    return (path if known else "other"), "-"
