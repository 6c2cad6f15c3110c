"""/metrics with `naviyam serve --workers 2`: whichever worker answers the scrape, counts are the sum of all workers."""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from support.faults import WORKERS, fresh_get, wait_for_workers

ROUTE = {"method": "GET", "route": "/shops/{shop_id}", "status": "200"}


def scrape(base: str) -> tuple[str, dict]:
    """(answering worker, {(sample name, frozenset(labels)): value}) from one scrape on a fresh connection."""
    r = fresh_get(base + "/metrics")
    assert r.status_code == 200, r.text
    samples = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            key = (s.name, frozenset(s.labels.items()))
            assert key not in samples, f"duplicate series {key}"
            samples[key] = s.value
    return r.headers["X-Naviyam-Worker"], samples


def shop_hits(samples: dict) -> float:
    return samples.get(("naviyam_http_requests_total", frozenset(ROUTE.items())), 0.0)


def hit_until_both_workers_answered(base: str, n: int) -> dict[str, int]:
    """``n`` GET /shops/{id} requests, each on its own connection, eight at a time; answers per worker."""
    def one(i: int) -> str:
        r = fresh_get(f"{base}/shops/{1 + i % 20}")
        assert r.status_code == 200, r.text
        return r.headers["X-Naviyam-Worker"]

    with ThreadPoolExecutor(8) as pool:
        workers = list(pool.map(one, range(n)))
    return {w: workers.count(w) for w in set(workers)}


def scrapes_from_every_worker(base: str, n: int, timeout: float = 60) -> dict[str, dict]:
    """Scrape until ``n`` different workers have answered one (each scrape on a new connection)."""
    seen: dict[str, dict] = {}
    deadline = time.monotonic() + timeout
    with ThreadPoolExecutor(4) as pool:
        while len(seen) < n and time.monotonic() < deadline:
            for worker, samples in pool.map(lambda _: scrape(base), range(4)):
                seen.setdefault(worker, samples)
    assert len(seen) >= n, f"only workers {sorted(seen)} answered /metrics"
    return seen


def test_request_counts_add_up_over_both_workers_whichever_answers_the_scrape(served):
    wait_for_workers(served, WORKERS)
    _, before = scrape(served.base)
    n, per_worker = 0, {}
    while len(per_worker) < WORKERS:  # the kernel decides who accepts; go on until both served some
        for w, k in hit_until_both_workers_answered(served.base, 40).items():
            per_worker[w] = per_worker.get(w, 0) + k
        n += 40
        assert n <= 400, per_worker
    assert sum(per_worker.values()) == n
    views = scrapes_from_every_worker(served.base, WORKERS)
    for worker, samples in views.items():
        # Exactly n more, in every worker's view: no jumps, no resets, nothing counted twice.
        assert shop_hits(samples) - shop_hits(before) == n, (worker, per_worker)
        buckets = samples[("naviyam_http_request_seconds_count",
                           frozenset({"method": "GET", "route": "/shops/{shop_id}"}.items()))]
        assert buckets >= shop_hits(samples)  # the latency histogram is merged the same way
        # Gauges merge into one series per label set (no per-process copies): the versions served, Redis up.
        versions = {dict(k[1])["kind"]: dict(k[1])["version"] for k, v in samples.items()
                    if k[0] == "naviyam_model_version_info" and v == 1}
        assert {"nlu", "index"} <= set(versions), versions
        assert not [k for k in samples if any(name == "pid" for name, _ in k[1])]
        assert samples[("naviyam_redis_up", frozenset())] == 1.0


def test_a_killed_workers_counts_stay_and_its_live_gauges_go(served):
    wait_for_workers(served, WORKERS)
    _, before = scrape(served.base)
    per_worker = hit_until_both_workers_answered(served.base, 40)
    victim = int(max(per_worker, key=per_worker.get))
    folder = Path(served.env["NAVIYAM_VAR_DIR"]) / "metrics-multiproc" / str(served.proc.pid)
    assert (folder / f"gauge_livemax_{victim}.db").exists()
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and victim in served.worker_pids():
        time.sleep(0.2)
    wait_for_workers(served, WORKERS)  # the supervisor's replacement is serving
    _, after = scrape(served.base)
    assert shop_hits(after) - shop_hits(before) == 40  # the dead worker's requests still count
    assert not (folder / f"gauge_livemax_{victim}.db").exists()
    assert not (folder / f"gauge_livemin_{victim}.db").exists()
    assert (folder / f"counter_{victim}.db").exists()
