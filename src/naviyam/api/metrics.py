"""Prometheus metrics: request counts, latency histograms, errors, model versions.

One process: each app gets its own CollectorRegistry, so several apps
(tests) never clash over global collectors.

Several workers (``naviyam serve --workers N``): every worker writes its
values to files in prometheus_client's multiprocess folder
(``PROMETHEUS_MULTIPROC_DIR``, made fresh by ``serve`` for each server and
read by prometheus_client itself when it is imported), and ``/metrics``, on
whichever worker answers, merges the files of all workers with
``MultiProcessCollector``: counters and histograms add up over the workers
(those of a worker that died included), and each gauge declares how workers
combine (``livemax``: model versions some live worker serves; ``livemin``:
Redis is up only if every live worker reaches it). A worker's live gauges
are dropped when it stops (``mark_process_dead``) and, for a worker that was
killed, at the next scrape.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from naviyam.core.process import pid_alive

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
#: The variable prometheus_client reads for its multiprocess folder (a library protocol, not a naviyam setting).
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: Where ``naviyam serve --workers N`` keeps one multiprocess folder per running server (its pid).
MULTIPROC_SUBDIR = "metrics-multiproc"


def multiprocess_dir() -> Path | None:
    """The folder this process writes its metrics to, or None when it keeps them in memory (one process)."""
    if values.ValueClass is values.MutexValue:
        return None
    path = os.environ.get(MULTIPROC_ENV)
    return Path(path) if path else None




def prepare_multiprocess_dir(var_dir: Path, server_pid: int | None = None) -> Path:
    """A fresh, empty multiprocess folder for one server: ``var_dir/metrics-multiproc/<pid>``.

    Folders of servers that are no longer running are removed; two servers on one var folder
    (a second one on another port) each count their own workers.
    """
    server_pid = server_pid or os.getpid()
    base = Path(var_dir) / MULTIPROC_SUBDIR
    base.mkdir(parents=True, exist_ok=True)
    for d in base.iterdir():
        if d.is_dir() and d.name.isdigit() and int(d.name) != server_pid and not pid_alive(int(d.name)):
            shutil.rmtree(d, ignore_errors=True)
    path = base / str(server_pid)
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir()
    return path


def prune_dead_workers(path: Path) -> list[int]:
    """``mark_process_dead`` for every worker that left live gauges behind and no longer runs (killed)."""
    dead = set()
    for f in Path(path).glob("gauge_live*_*.db"):
        pid = f.stem.rsplit("_", 1)[-1]
        if pid.isdigit() and not pid_alive(int(pid)):
            dead.add(int(pid))
    for pid in dead:
        multiprocess.mark_process_dead(pid, str(path))
    return sorted(dead)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.multiprocess_dir = multiprocess_dir()
        self.requests = Counter("naviyam_http_requests_total", "HTTP requests", ["method", "route", "status"],
                                registry=self.registry)
        self.latency = Histogram("naviyam_http_request_seconds", "HTTP request latency", ["method", "route"],
                                 buckets=LATENCY_BUCKETS, registry=self.registry)
        self.errors = Counter("naviyam_http_errors_total", "Responses with status >= 500", ["route"],
                              registry=self.registry)
        self.model_version = Gauge("naviyam_model_version_info", "Model version in use (value 1)",
                                   ["kind", "version"], registry=self.registry, multiprocess_mode="livemax")
        self.chat_intents = Counter("naviyam_chat_intents_total", "Chat turns by intent", ["intent"],
                                    registry=self.registry)
        self.cache_lookups = Counter("naviyam_cache_lookups_total", "Serving cache lookups (query_embedding, nlu) "
                                     "by result (hit, miss); hit rate = hit / (hit + miss)", ["cache", "result"],
                                     registry=self.registry)
        self._versions: dict[str, str] = {}
        self._cache_seen: dict[tuple[str, str], int] = {}
        if self.multiprocess_dir is not None:
            prune_dead_workers(self.multiprocess_dir)

    def gauge(self, name: str, documentation: str, multiprocess_mode: str) -> Gauge:
        """A gauge of this app; ``multiprocess_mode`` says how the workers' values combine."""
        return Gauge(name, documentation, registry=self.registry, multiprocess_mode=multiprocess_mode)

    def set_model_versions(self, versions: dict[str, str]) -> None:
        """Versions served now are 1, versions this worker served before are 0.

        (Not ``clear()``: in multiprocess mode a cleared series stays in the worker's file with its last value.)
        """
        for kind, version in self._versions.items():
            if versions.get(kind) != version:
                self.model_version.labels(kind=kind, version=version).set(0)
        for kind, version in versions.items():
            self.model_version.labels(kind=kind, version=version).set(1)
        self._versions = dict(versions)

    def follow_runtime(self, app) -> None:
        """Publish the versions this worker serves when its runtime swapped models (a background reload)."""
        runtime = getattr(getattr(app, "state", None), "runtime", None)
        if runtime is None:
            return
        versions = runtime.model_versions()
        if versions != self._versions:
            self.set_model_versions(versions)
        counts = getattr(runtime, "cache_counts", None)
        if callable(counts):
            self.follow_caches(counts())

    def follow_caches(self, counts: dict[str, tuple[int, int]]) -> None:
        """Add what the caches counted since the last look (a swapped model starts its counts at 0 again)."""
        for cache, pair in counts.items():
            for result, value in zip(("hit", "miss"), pair, strict=True):
                key = (cache, result)
                seen = self._cache_seen.get(key, 0)
                delta = value - seen if value >= seen else value
                if delta:
                    self.cache_lookups.labels(cache=cache, result=result).inc(delta)
                self._cache_seen[key] = value

    def render(self) -> Response:
        if self.multiprocess_dir is None:
            return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)

        prune_dead_workers(self.multiprocess_dir)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=str(self.multiprocess_dir))
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    def close(self) -> None:
        """This worker stops: its live gauges leave the merged view (its counters stay counted)."""
        if self.multiprocess_dir is not None:
            multiprocess.mark_process_dead(os.getpid(), str(self.multiprocess_dir))


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
        status = {"code": 500, "counted": False}

        def record() -> None:
            status["counted"] = True
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "GET")
            self.metrics.requests.labels(method, path, str(status["code"])).inc()
            self.metrics.latency.labels(method, path).observe(time.perf_counter() - start)
            if status["code"] >= 500:
                self.metrics.errors.labels(path).inc()

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            elif (message["type"] == "http.response.body" and not message.get("more_body", False)
                  and not status["counted"]):
                # Counted before the last byte leaves: a response the client has is always in the counts,
                # even when the worker is killed the moment after (busy machines delay what runs after send).
                record()
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            if not status["counted"]:
                record()
            self.metrics.follow_runtime(scope.get("app"))


def metrics_endpoint(request: Request) -> Response:
    metrics = request.app.state.metrics
    metrics.follow_runtime(request.app)
    return metrics.render()
