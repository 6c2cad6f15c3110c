"""Helpers of the fault tests: a cuttable TCP proxy, a killable Redis, the multi-worker server handle."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import insert, select, text

from naviyam.db.models import OPERATOR_TABLES, ModelVersion

PG_URL = os.environ.get("NAVIYAM_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

BIN = Path(sys.executable).parent
WORKERS = 2
#: Low enough to observe sharing across workers, high enough for the tests' own traffic.
USER_LIMIT = 5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TcpProxy:
    """A threaded TCP forwarder that can be cut (connections dropped and new ones refused) and restored."""

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.port = free_port()
        self.up = True
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        self._server.settimeout(0.2)
        self._stop = False
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def _accept_loop(self) -> None:
        while not self._stop:
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if not self.up:
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                client.close()  # RST: "the server is not there"
                continue
            try:
                upstream = socket.create_connection(self.upstream, timeout=2)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._conns.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
                with self._lock:
                    self._conns.discard(s)

    def cut(self) -> None:
        self.up = False
        with self._lock:
            conns = list(self._conns)
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self._stop = True
        self.cut()
        self._server.close()


@dataclass
class RedisServer:
    port: int
    proc: subprocess.Popen | None = None
    log: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def copy_world(source, target) -> None:
    """The trained world's operator tables and model registry into a migrated, empty database."""
    tables = [m.__table__ for m in OPERATOR_TABLES] + [ModelVersion.__table__]
    with source.connect() as src, target.begin() as dst:
        for table in tables:
            rows = [dict(r._mapping) for r in src.execute(select(table).order_by(*table.primary_key.columns))]
            for i in range(0, len(rows), 2000):
                dst.execute(insert(table), rows[i:i + 2000])
        dst.execute(text("SELECT setval(pg_get_serial_sequence('model_version', 'id'), "
                         "(SELECT COALESCE(MAX(id), 1) FROM model_version))"))


@dataclass
class Served:
    base: str
    proc: subprocess.Popen
    log_path: Path
    engine: object
    proxy: TcpProxy
    redis: RedisServer
    env: dict

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def worker_pids(self) -> set[int]:
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)], capture_output=True, text=True)
        return {int(p) for p in out.stdout.split()}


@contextlib.contextmanager
def running_server(env: dict, log_path: Path, workers: int):
    """`naviyam serve --workers N` with ``env`` (its NAVIYAM_PORT), until healthy; killed afterwards.

    Yields (process, base URL); a server that dies or is not healthy within two minutes fails with its log.
    """
    base = f"http://127.0.0.1:{env['NAVIYAM_PORT']}"
    with log_path.open("w") as log_file:
        proc = subprocess.Popen([BIN / "naviyam", "serve", "--workers", str(workers), "--no-access-log"], env=env,
                                stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while _try_health(base) is None:
            assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text(errors="replace")
            time.sleep(0.2)
        yield proc, base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@contextlib.contextmanager
def another_server(served: Served, log_path: Path, workers: int = 1):
    """A second `naviyam serve` on another port, on the same database and Redis as ``served``.

    Lets a test send a conversation's turns to chosen processes, instead of hoping the kernel
    spreads fresh connections over the workers of one listening socket.
    """
    with running_server({**served.env, "NAVIYAM_PORT": str(free_port())}, log_path, workers) as (_proc, base):
        yield base


def fresh_get(url: str, **kw) -> httpx.Response:
    """One request on its own connection (so the kernel may hand it to any worker)."""
    return httpx.get(url, headers={"Connection": "close"}, timeout=kw.pop("timeout", 30), **kw)


def fresh_post(url: str, **kw) -> httpx.Response:
    return httpx.post(url, headers={"Connection": "close"}, timeout=kw.pop("timeout", 30), **kw)


def wait_for_workers(served: Served, n: int, timeout: float = 90) -> set[str]:
    """Until ``n`` different workers have answered (a worker answers only once its models are loaded)."""
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    with ThreadPoolExecutor(8) as pool:
        while len(seen) < n and time.monotonic() < deadline:
            for r in pool.map(lambda _: _try_health(served.base), range(8)):
                if r is not None:
                    seen.add(r)
            if len(seen) < n:
                time.sleep(0.2)
    assert len(seen) >= n, f"only workers {seen} answered:\n{served.log()[-3000:]}"
    return seen


def _try_health(base: str) -> str | None:
    try:
        r = fresh_get(base + "/health", timeout=5)
    except httpx.TransportError:
        return None
    return r.headers.get("X-Naviyam-Worker") if r.status_code == 200 else None
