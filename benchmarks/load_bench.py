"""Load test: closed-loop clients at rising concurrency against /chat, with the static page as the floor.

At each concurrency level (default 1, 4, 8, 16, 32, 64) that many virtual
users each keep one keep-alive connection and send their next request as
soon as the last one is answered, for ``--duration`` seconds. Reported per
level: requests per second, p50/p95/p99 latency, errors (transport errors
and 5xx; 4xx counted apart), the CPU share and resident memory of every
server worker, which workers answered, the client's own CPU (a saturated
client must not be mistaken for a slow server) and the machine's load
average (this machine is shared: figures taken while others run are
pessimistic).

``--mix chat`` (default) sends /chat only: ten real messages from 500 users,
in short conversations (same session for a few turns, half of them known
users). ``--mix mixed`` adds /shops browsing and /feedback on what was shown.
With ``--static`` every level is also run against ``GET /`` (the chat page:
the stack's own floor, no database, no models) in the same run.

    # `make run` (SQLite, one worker): the benchmark starts `naviyam serve` on a prepared var folder
    .venv/bin/python benchmarks/load_bench.py --serve --workers 1 --var-dir var/run --static \\
        --out benchmarks/results/load_18/run

    # `make run-prod` (PostgreSQL + Redis, two workers) on its own database
    .venv/bin/python benchmarks/load_bench.py --serve --workers 2 --database-url \\
        postgresql+psycopg://postgres@127.0.0.1:5432/naviyam?connect_timeout=3 --var-dir var/prod \\
        --redis-url redis://127.0.0.1:6379/0 --static --out benchmarks/results/load_18/prod

    # or against any running server (rate limits must be off for a load test)
    .venv/bin/python benchmarks/load_bench.py --base-url http://127.0.0.1:8000

The client is a minimal HTTP/1.1 keep-alive client on asyncio streams (a
general-purpose client costs several times more CPU per request, and it runs
on the same two cores as the server). ``--out`` writes ``<out>.json`` and
``<out>.png`` (throughput and p95 against clients).
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
from urllib.parse import urlencode, urlsplit

#: Ten real messages (what children typed in the seed's examples), sent by 500 users.
MESSAGES = [
    "떡볶이 먹고 싶어", "만원 이하로 분식 추천해줘", "급식카드 되는 곳", "관악구 근처 한식", "치킨 말고 다른 거",
    "친구 3명이랑 피자", "더 싼 데는?", "안 매운 걸로", "짜장면 맛집", "착한가게 추천",
]
MIXES = {"chat": (("chat", 1.0),), "mixed": (("chat", 0.5), ("shops", 0.3), ("feedback", 0.2))}
DEFAULT_LEVELS = "1,4,8,16,32,64"


@dataclass
class Level:
    target: str
    concurrency: int
    duration: float
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    workers: Counter = field(default_factory=Counter)
    #: worker -> latencies it gave, and the clients (connections) it answered
    worker_latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    worker_clients: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    elapsed: float = 0.0
    client_cpu_s: float = 0.0
    server: list[dict] = field(default_factory=list)
    load_avg: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def summary(self) -> dict:
        every = sorted(x for xs in self.latencies.values() for x in xs)
        n = len(every)
        server_errors = sum(c for s, c in self.statuses.items() if s >= 500)
        client_errors = sum(c for s, c in self.statuses.items() if 400 <= s < 500)
        per = {k: {"n": len(v), "p50": _pct(sorted(v), 50), "p95": _pct(sorted(v), 95)}
               for k, v in sorted(self.latencies.items())}
        return {"target": self.target, "concurrency": self.concurrency, "requests": n,
                "seconds": round(self.elapsed, 1),
                "throughput_rps": round(n / self.elapsed, 1) if self.elapsed else 0.0,
                "p50_ms": _pct(every, 50), "p95_ms": _pct(every, 95), "p99_ms": _pct(every, 99),
                "errors": server_errors + sum(self.errors.values()), "transport_errors": dict(self.errors),
                "status": {str(k): v for k, v in sorted(self.statuses.items())}, "4xx": client_errors,
                "workers_answering": len(self.workers), "per_worker": {
                    w: {"n": len(v), "clients": len(self.worker_clients[w]), "p50": _pct(sorted(v), 50),
                        "p95": _pct(sorted(v), 95)} for w, v in sorted(self.worker_latencies.items())},
                "per_endpoint": per,
                "client_cpu_pct": round(100 * self.client_cpu_s / self.elapsed, 0) if self.elapsed else 0,
                "server": self.server, "load_avg_1m_5m_15m": [round(x, 2) for x in self.load_avg]}


def _pct(sorted_ms: list[float], p: float) -> float:
    if not sorted_ms:
        return float("nan")
    k = min(len(sorted_ms) - 1, max(0, round(p / 100 * len(sorted_ms)) - 1))
    return round(sorted_ms[k], 1)


class Connection:
    """One keep-alive HTTP/1.1 connection (Content-Length or chunked bodies)."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            sock = self.writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        self.writer.write(head.encode() + b"\r\n" + (body or b""))
        try:
            raw = await self.reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            raise ConnectionResetError("connection closed before the response") from exc
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        if "content-length" in headers:
            data = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                parts.append(chunk[:-2])
            data = b"".join(parts)
        else:
            data = b""
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, headers, data

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass
        self.reader = self.writer = None


class VirtualUser:
    def __init__(self, rng: random.Random, shop_ids: list[int], n_users: int, mix: str):
        self.rng = rng
        self.shop_ids = shop_ids
        self.n_users = n_users
        self.mix = MIXES[mix]
        self.session_id: str | None = None
        self.turns_left = 0
        self.user_id: int | None = None
        self.last_shown: list[tuple[int, int]] = []  # (interaction_id, shop_id)

    def next_request(self) -> tuple[str, str, str, bytes | None]:
        kind = self.rng.choices([k for k, _ in self.mix], [w for _, w in self.mix])[0]
        if kind == "chat":
            if self.turns_left <= 0:
                self.session_id = None
                self.turns_left = self.rng.randint(2, 5)
                self.user_id = self.rng.randint(1, self.n_users) if self.rng.random() < 0.5 else None
            self.turns_left -= 1
            body = {"message": self.rng.choice(MESSAGES), "user_id": self.user_id}
            if self.session_id:
                body["session_id"] = self.session_id
            return kind, "POST", "/chat", json.dumps(body, ensure_ascii=False).encode()
        if kind == "shops":
            if self.rng.random() < 0.5:
                return kind, "GET", f"/shops/{self.rng.choice(self.shop_ids)}", None
            params = {"limit": 20, "offset": self.rng.randint(0, 100)}
            if self.rng.random() < 0.5:
                params["district"] = self.rng.choice(["관악구", "동작구", "강남구", "마포구", "노원구"])
            if self.rng.random() < 0.5:
                params["category"] = self.rng.choice(["분식", "한식", "중식", "치킨", "피자"])
            return kind, "GET", "/shops?" + urlencode(params), None
        body = {"shop_id": self.rng.choice(self.shop_ids), "feedback_type": self.rng.choice(
            ["clicked", "clicked", "ordered", "favorited", "dismissed"]), "user_id": self.user_id}
        if self.last_shown:
            interaction_id, shop_id = self.rng.choice(self.last_shown)
            body.update(interaction_id=interaction_id, shop_id=shop_id)
        return kind, "POST", "/feedback", json.dumps(body).encode()

    def saw(self, kind: str, status: int, data: bytes) -> None:
        if kind == "chat" and status == 200:
            reply = json.loads(data)
            self.session_id = reply["session_id"]
            shown = [(reply["interaction_id"], r["shop_id"]) for r in reply.get("recommendations", [])]
            if shown:
                self.last_shown = shown


class ServerWatch:
    """CPU seconds and resident memory of the server's worker processes over one level (psutil)."""

    def __init__(self, pid: int | None, workers: int):
        self.pid, self.workers = pid, workers
        self._cpu0: dict[int, float] = {}

    def _procs(self):
        import psutil

        if self.pid is None:
            return []
        try:
            root = psutil.Process(self.pid)
            kids = root.children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        # One worker: uvicorn serves in the process itself; several: the spawned children serve.
        procs = [root] if self.workers <= 1 else [p for p in kids if ("python" in p.name().lower()
                                                  or "naviyam" in " ".join(p.cmdline()[:2]))
                                                  and "resource_tracker" not in " ".join(p.cmdline())]
        return procs

    def start(self) -> None:
        self._cpu0 = {}
        for p in self._procs():
            try:
                t = p.cpu_times()
                self._cpu0[p.pid] = t.user + t.system
            except Exception:  # noqa: BLE001 - a worker that died between the calls
                pass

    def stop(self, elapsed: float) -> list[dict]:
        out = []
        for p in self._procs():
            try:
                t = p.cpu_times()
                rss = p.memory_info().rss
            except Exception:  # noqa: BLE001
                continue
            if p.pid not in self._cpu0:
                continue
            cpu = t.user + t.system - self._cpu0[p.pid]
            out.append({"pid": p.pid, "cpu_pct": round(100 * cpu / elapsed, 0) if elapsed else 0.0,
                        "rss_mb": round(rss / 2**20, 0)})
        return out


async def run_level(base: str, target: str, concurrency: int, duration: float, shop_ids: list[int],
                    n_users: int, seed: int, mix: str, watch: ServerWatch | None = None) -> Level:
    level = Level(target, concurrency, duration)
    url = urlsplit(base)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    deadline = time.monotonic() + duration

    async def user(i: int) -> None:
        vu = VirtualUser(random.Random(seed * 1000 + i), shop_ids, n_users, mix)
        conn = Connection(host, port)
        try:
            while time.monotonic() < deadline:
                if target == "static":
                    kind, method, path, body = "static", "GET", "/", None
                else:
                    kind, method, path, body = vu.next_request()
                t0 = time.perf_counter()
                try:
                    status, headers, data = await asyncio.wait_for(conn.request(method, path, body), 30)
                except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
                    level.errors[exc.__class__.__name__] += 1
                    await conn.close()
                    await asyncio.sleep(0.05)
                    continue
                ms = (time.perf_counter() - t0) * 1000
                worker = headers.get("x-naviyam-worker", "?")
                level.latencies[kind].append(ms)
                level.statuses[status] += 1
                level.workers[worker] += 1
                level.worker_latencies[worker].append(ms)
                level.worker_clients[worker].add(i)
                if target != "static":
                    vu.saw(kind, status, data)
        finally:
            await conn.close()

    level.load_avg = os.getloadavg()
    if watch is not None:
        watch.start()
    cpu0 = _cpu()
    t0 = time.monotonic()
    await asyncio.gather(*(user(i) for i in range(concurrency)))
    level.elapsed = time.monotonic() - t0
    level.client_cpu_s = _cpu() - cpu0
    if watch is not None:
        level.server = watch.stop(level.elapsed)
    return level


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get_json(base: str, path: str):
    import httpx

    return httpx.get(base + path, headers={"Connection": "close"}, timeout=30).json()


def start_server(workers: int, database_url: str | None, var_dir: str, redis_url: str | None,
                 extra_env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    import httpx

    port = _free_port()
    env = {**os.environ, "NAVIYAM_VAR_DIR": var_dir, "NAVIYAM_PORT": str(port),
           "NAVIYAM_RATE_LIMIT_PER_MINUTE_IP": "0", "NAVIYAM_RATE_LIMIT_PER_MINUTE_USER": "0",
           "NAVIYAM_LOG_LEVEL": "WARNING", **extra_env}
    if database_url:
        env["NAVIYAM_DATABASE_URL"] = database_url
    if redis_url:
        env["NAVIYAM_REDIS_URL"] = redis_url
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
            if r.status_code == 200 and r.json().get("status") != "warming":
                seen.add(r.headers.get("x-naviyam-worker", "?"))
            else:
                time.sleep(0.5)
        except httpx.TransportError:
            time.sleep(0.5)
    return proc, base


def plot(results: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from naviyam.core.charts import use_korean_font

    use_korean_font()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for target, style in (("chat", "o-"), ("static", "s--")):
        rows = [r for r in results if r["target"] == target]
        if not rows:
            continue
        xs = [r["concurrency"] for r in rows]
        ax1.plot(xs, [r["throughput_rps"] for r in rows], style, label=f"{'/chat' if target == 'chat' else 'GET /'}")
        ax2.plot(xs, [r["p95_ms"] for r in rows], style, label=f"{'/chat' if target == 'chat' else 'GET /'} p95")
    for ax in (ax1, ax2):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("동시 클라이언트 수")
        ax.grid(alpha=0.3)
        ax.legend()
    ax1.set_ylabel("초당 요청 수 (req/s)")
    ax2.set_ylabel("p95 지연 (ms)")
    ax2.set_yscale("log")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--serve", action="store_true", help="Start `naviyam serve` for the run.")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--database-url", default=None, help="Default: the var folder's SQLite file.")
    parser.add_argument("--redis-url", default=None)
    parser.add_argument("--var-dir", default="var")
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for the served workers.")
    parser.add_argument("--levels", default=DEFAULT_LEVELS)
    parser.add_argument("--duration", type=float, default=15.0, help="Seconds per concurrency level.")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--mix", choices=sorted(MIXES), default="chat")
    parser.add_argument("--static", action="store_true", help="Also run every level against GET / (the floor).")
    parser.add_argument("--users", type=int, default=500, help="User ids 1..N for known-user requests.")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=None, help="Write <out>.json and <out>.png.")
    parser.add_argument("--title", default=None)
    args = parser.parse_args()

    proc = None
    base = args.base_url
    if args.serve:
        extra = dict(kv.split("=", 1) for kv in args.env)
        proc, base = start_server(args.workers, args.database_url, args.var_dir, args.redis_url, extra)
    watch = ServerWatch(proc.pid if proc is not None else None, args.workers)
    try:
        listing = _get_json(base, "/shops?limit=200")
        shop_ids = [s["id"] for s in listing["shops"]]
        asyncio.run(run_level(base, "chat", 2, args.warmup, shop_ids, args.users, args.seed, args.mix))
        results = []
        print(f"{'target':>6} {'conc':>4} {'req':>6} {'rps':>7} {'p50':>7} {'p95':>7} {'p99':>7} {'err':>4} "
              f"{'4xx':>4} {'wrk':>3} {'cli%':>4} {'load1':>5}  server cpu%/rss MB per worker", flush=True)
        targets = ["chat", "static"] if args.static else ["chat"]
        for c in [int(x) for x in args.levels.split(",")]:
            for target in targets:
                s = asyncio.run(run_level(base, target, c, args.duration, shop_ids, args.users, args.seed + c,
                                          args.mix, watch)).summary()
                results.append(s)
                srv = " ".join(f"{w['cpu_pct']:.0f}%/{w['rss_mb']:.0f}" for w in s["server"])
                print(f"{target:>6} {c:>4} {s['requests']:>6} {s['throughput_rps']:>7.1f} {s['p50_ms']:>7.1f} "
                      f"{s['p95_ms']:>7.1f} {s['p99_ms']:>7.1f} {s['errors']:>4} {s['4xx']:>4} "
                      f"{s['workers_answering']:>3} {s['client_cpu_pct']:>4.0f} {s['load_avg_1m_5m_15m'][0]:>5.2f}  "
                      f"{srv}", flush=True)
                if s["transport_errors"] or any(int(k) >= 500 for k in s["status"]):
                    print(f"     errors: {s['transport_errors']} status: {s['status']}", flush=True)
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            meta = {"command": " ".join(sys.argv), "workers": args.workers, "mix": args.mix,
                    "duration_s": args.duration, "cpus": os.cpu_count(), "levels": results}
            args.out.with_suffix(".json").write_text(json.dumps(meta, ensure_ascii=False, indent=1))
            plot(results, args.out.with_suffix(".png"), args.title or f"{args.out.name}: {args.workers} worker(s)")
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
