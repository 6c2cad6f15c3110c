"""Prometheus metrics: request counts, latency histograms, errors, model versions.

Each app gets its own CollectorRegistry, so several apps (tests, workers)
never clash over global collectors.
"""

from __future__ import annotations

import time

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("naviyam_http_requests_total", "HTTP requests", ["method", "route", "status"],
                                registry=self.registry)
        self.latency = Histogram("naviyam_http_request_seconds", "HTTP request latency", ["method", "route"],
                                 buckets=LATENCY_BUCKETS, registry=self.registry)
        self.errors = Counter("naviyam_http_errors_total", "Responses with status >= 500", ["route"],
                              registry=self.registry)
        self.model_version = Gauge("naviyam_model_version_info", "Model version in use (value 1)",
                                   ["kind", "version"], registry=self.registry)
        self.chat_intents = Counter("naviyam_chat_intents_total", "Chat turns by intent", ["intent"],
                                    registry=self.registry)

    def set_model_versions(self, versions: dict[str, str]) -> None:
        self.model_version.clear()
        for kind, version in versions.items():
            self.model_version.labels(kind=kind, version=version).set(1)

    def render(self) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


class MetricsMiddleware:
    """Pure ASGI middleware (no per-request task overhead) that times every HTTP request."""

    def __init__(self, app: ASGIApp, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = {"code": 500}

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "GET")
            self.metrics.requests.labels(method, path, str(status["code"])).inc()
            self.metrics.latency.labels(method, path).observe(time.perf_counter() - start)
            if status["code"] >= 500:
                self.metrics.errors.labels(path).inc()


def metrics_endpoint(request: Request) -> Response:
    return request.app.state.metrics.render()
