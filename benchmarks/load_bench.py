"""Load test of the multi-worker PostgreSQL setup: rising concurrency, a mix of /chat, /shops and /feedback.

Each level runs ``--duration`` seconds with that many concurrent virtual
users (keep-alive connections). A user chats in short conversations (same
``session_id`` for a few turns, sometimes as a known user), browses shops
and sends feedback on what it was shown. Reported per level: throughput,
p50/p95/p99 latency (all requests and per endpoint), errors (transport
errors and 5xx; 4xx counted apart) and how many workers answered.

    # against a running `make run-prod` (start it with rate limits off for a load test):
    NAVIYAM_RATE_LIMIT_PER_MINUTE_IP=0 NAVIYAM_RATE_LIMIT_PER_MINUTE_USER=0 make run-prod
    .venv/bin/python benchmarks/load_bench.py --base-url http://127.0.0.1:8000

    # or let the benchmark start `naviyam serve --workers 2` on the run-prod database itself:
    .venv/bin/python benchmarks/load_bench.py --serve --workers 2 --levels 1,4,16,64 --duration 20

The load generator runs on the same machine and takes CPU from the server;
its own CPU use is printed so that a saturated client is not mistaken for a
slow server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import signal
import socket
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx

MESSAGES = [
    "떡볶이 먹고 싶어", "만원 이하로 분식 추천해줘", "급식카드 되는 곳", "관악구 근처 한식", "치킨 말고 다른 거",
    "친구 3명이랑 피자", "더 싼 데는?", "안 매운 걸로", "지금 열린 곳", "김밥 5천원 이하", "중식 먹고 싶어",
    "안녕", "고마워", "짜장면 맛집", "착한가게 추천", "돈까스 8천원으로",
]
MIX = (("chat", 0.5), ("shops", 0.3), ("feedback", 0.2))
DEFAULT_DB = "postgresql+psycopg://postgres@127.0.0.1:5432/naviyam?connect_timeout=3"


@dataclass
class Level:
    concurrency: int
    duration: float
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    workers: Counter = field(default_factory=Counter)
    elapsed: float = 0.0
    client_cpu_s: float = 0.0

    def summary(self) -> dict:
        every = sorted(x for xs in self.latencies.values() for x in xs)
        n = len(every)
        server_errors = sum(c for s, c in self.statuses.items() if s >= 500)
        client_errors = sum(c for s, c in self.statuses.items() if 400 <= s < 500)
        per = {k: {"n": len(v), "p50": _pct(sorted(v), 50), "p95": _pct(sorted(v), 95)}
               for k, v in sorted(self.latencies.items())}
        return {"concurrency": self.concurrency, "requests": n, "seconds": round(self.elapsed, 1),
                "throughput_rps": round(n / self.elapsed, 1) if self.elapsed else 0.0,
                "p50_ms": _pct(every, 50), "p95_ms": _pct(every, 95), "p99_ms": _pct(every, 99),
                "errors": server_errors + sum(self.errors.values()), "transport_errors": dict(self.errors),
                "status": dict(sorted(self.statuses.items())), "4xx": client_errors,
                "workers": len(self.workers), "per_endpoint": per,
                "client_cpu_pct": round(100 * self.client_cpu_s / self.elapsed, 0) if self.elapsed else 0}


def _pct(sorted_ms: list[float], p: float) -> float:
    if not sorted_ms:
        return float("nan")
    k = min(len(sorted_ms) - 1, max(0, round(p / 100 * len(sorted_ms)) - 1))
    return round(sorted_ms[k], 1)


class VirtualUser:
    def __init__(self, rng: random.Random, shop_ids: list[int], n_users: int):
        self.rng = rng
        self.shop_ids = shop_ids
        self.n_users = n_users
        self.session_id: str | None = None
        self.turns_left = 0
        self.user_id: int | None = None
        self.last_shown: list[tuple[int, int]] = []  # (interaction_id, shop_id)

    def next_request(self) -> tuple[str, str, str, dict]:
        kind = self.rng.choices([k for k, _ in MIX], [w for _, w in MIX])[0]
        if kind == "chat":
            if self.turns_left <= 0:
                self.session_id = None
                self.turns_left = self.rng.randint(2, 5)
                self.user_id = self.rng.randint(1, self.n_users) if self.rng.random() < 0.5 else None
            self.turns_left -= 1
            body = {"message": self.rng.choice(MESSAGES), "user_id": self.user_id}
            if self.session_id:
                body["session_id"] = self.session_id
            return kind, "POST", "/chat", {"json": body}
        if kind == "shops":
            if self.rng.random() < 0.5:
                return kind, "GET", f"/shops/{self.rng.choice(self.shop_ids)}", {}
            params = {"limit": 20, "offset": self.rng.randint(0, 100)}
            if self.rng.random() < 0.5:
                params["district"] = self.rng.choice(["관악구", "동작구", "강남구", "마포구", "노원구"])
            if self.rng.random() < 0.5:
                params["category"] = self.rng.choice(["분식", "한식", "중식", "치킨", "피자"])
            return kind, "GET", "/shops", {"params": params}
        body = {"shop_id": self.rng.choice(self.shop_ids), "feedback_type": self.rng.choice(
            ["clicked", "clicked", "ordered", "favorited", "dismissed"]), "user_id": self.user_id}
        if self.last_shown:
            interaction_id, shop_id = self.rng.choice(self.last_shown)
            body.update(interaction_id=interaction_id, shop_id=shop_id)
        return kind, "POST", "/feedback", {"json": body}

    def saw(self, kind: str, response: httpx.Response) -> None:
        if kind == "chat" and response.status_code == 200:
            data = response.json()
            self.session_id = data["session_id"]
            shown = [(data["interaction_id"], r["shop_id"]) for r in data.get("recommendations", [])]
            if shown:
                self.last_shown = shown


async def run_level(base: str, concurrency: int, duration: float, shop_ids: list[int], n_users: int,
                    seed: int) -> Level:
    level = Level(concurrency, duration)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
        deadline = time.monotonic() + duration

        async def user(i: int) -> None:
            vu = VirtualUser(random.Random(seed * 1000 + i), shop_ids, n_users)
            while time.monotonic() < deadline:
                kind, method, path, kw = vu.next_request()
                t0 = time.perf_counter()
                try:
                    r = await client.request(method, path, **kw)
                except httpx.HTTPError as exc:
                    level.errors[exc.__class__.__name__] += 1
                    await asyncio.sleep(0.05)
                    continue
                level.latencies[kind].append((time.perf_counter() - t0) * 1000)
                level.statuses[r.status_code] += 1
                level.workers[r.headers.get("x-naviyam-worker", "?")] += 1
                vu.saw(kind, r)

        cpu0 = _cpu()
        t0 = time.monotonic()
        await asyncio.gather(*(user(i) for i in range(concurrency)))
        level.elapsed = time.monotonic() - t0
        level.client_cpu_s = _cpu() - cpu0
    return level


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(workers: int, database_url: str, var_dir: str, extra_env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "NAVIYAM_DATABASE_URL": database_url, "NAVIYAM_VAR_DIR": var_dir,
           "NAVIYAM_PORT": str(port), "NAVIYAM_RATE_LIMIT_PER_MINUTE_IP": "0",
           "NAVIYAM_RATE_LIMIT_PER_MINUTE_USER": "0", "NAVIYAM_LOG_LEVEL": "WARNING", **extra_env}
    env.setdefault("NAVIYAM_REDIS_URL", "redis://127.0.0.1:6379/0")
    env.setdefault("NAVIYAM_ADMIN_API_KEY", "load-bench-admin-key")
    naviyam = Path(sys.executable).parent / "naviyam"
    proc = subprocess.Popen([naviyam, "serve", "--workers", str(workers), "--no-access-log"], env=env,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    seen: set[str] = set()
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and len(seen) < workers:
        if proc.poll() is not None:
            raise SystemExit("the server exited during start-up")
        try:
            r = httpx.get(base + "/health", headers={"Connection": "close"}, timeout=5)
            if r.status_code == 200:
                seen.add(r.headers.get("x-naviyam-worker", "?"))
        except httpx.TransportError:
            time.sleep(0.5)
    return proc, base


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--serve", action="store_true", help="Start `naviyam serve` for the run.")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", default=os.environ.get("NAVIYAM_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--var-dir", default=os.environ.get("NAVIYAM_VAR_DIR", "var/prod"))
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for the served workers.")
    parser.add_argument("--levels", default="1,4,16,64")
    parser.add_argument("--duration", type=float, default=20.0, help="Seconds per concurrency level.")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--users", type=int, default=500, help="User ids 1..N for known-user requests.")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    proc = None
    base = args.base_url
    if args.serve:
        extra = dict(kv.split("=", 1) for kv in args.env)
        proc, base = start_server(args.workers, args.database_url, args.var_dir, extra)
    try:
        listing = httpx.get(base + "/shops", params={"limit": 200}, timeout=30).json()
        shop_ids = [s["id"] for s in listing["shops"]]
        asyncio.run(run_level(base, 2, args.warmup, shop_ids, args.users, args.seed))
        results = []
        print(f"{'conc':>4} {'req':>6} {'rps':>7} {'p50':>7} {'p95':>7} {'p99':>7} {'err':>4} {'4xx':>4} "
              f"{'wrk':>3} {'cli%':>4}  chat p50/p95 · shops p50/p95 · feedback p50/p95 (ms)")
        for c in [int(x) for x in args.levels.split(",")]:
            s = asyncio.run(run_level(base, c, args.duration, shop_ids, args.users, args.seed + c)).summary()
            results.append(s)
            per = " · ".join(f"{k} {v['p50']:.0f}/{v['p95']:.0f}" for k, v in s["per_endpoint"].items())
            print(f"{c:>4} {s['requests']:>6} {s['throughput_rps']:>7.1f} {s['p50_ms']:>7.1f} {s['p95_ms']:>7.1f} "
                  f"{s['p99_ms']:>7.1f} {s['errors']:>4} {s['4xx']:>4} {s['workers']:>3} {s['client_cpu_pct']:>4.0f}  "
                  f"{per}", flush=True)
            if s["transport_errors"] or any(k >= 500 for k in s["status"]):
                print(f"     errors: {s['transport_errors']} status: {s['status']}", flush=True)
        if args.json:
            args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2))
    finally:
        if proc is not None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
    return 0


if __name__ == "__main__":
    sys.exit(main())
