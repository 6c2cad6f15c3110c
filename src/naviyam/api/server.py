"""Serving the API with uvicorn: the HTTP protocol, the worker processes, the process that serves.

``naviyam serve`` prepares (settings, the background model build, the metrics
folder) and then replaces itself with ``python -m naviyam.api`` (:func:`main`)
(``os.execv``, same process id): the process that serves imports the web app
and what it serves, not every command of the CLI with the training code and
torch (about 300 MB more per process).

Several workers share the load with one listening socket each, bound to one
port with ``SO_REUSEPORT`` (:class:`BalancedWorkers`). uvicorn's own
``--workers`` binds one socket in the supervisor and every worker accepts
from it: the worker that wakes up first takes every connection waiting in
the queue (asyncio accepts up to the backlog at once), and a keep-alive
connection stays with the worker that accepted it, so a burst of clients that
connect together often ends up on one worker while the others idle. With a
socket per worker the kernel spreads new connections evenly over the
workers' sockets (by a hash of the connection's addresses). A worker binds
its socket before it loads its models but listens only when they are loaded,
and only listening sockets receive connections: a worker that is starting, or
replacing one that died, gets no connection before it can answer. The
supervisor is uvicorn's (health pings, replacing dead workers, signals); only
how a worker gets its socket differs.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading

import uvicorn
from uvicorn.config import LOGGING_CONFIG, STARTUP_FAILURE, Config
from uvicorn.supervisors.multiprocess import Multiprocess, Process

from naviyam.api import connections
from naviyam.api.connections import ConnectionBoard

log = logging.getLogger(__name__)

#: The ASGI app uvicorn serves (an import string, so that every worker process builds its own).
APP = "naviyam.api.app:create_app"
#: How long the supervisor waits for a worker to answer its health ping before replacing it. uvicorn's 5 s
#: is too short on a busy machine: a worker still importing its models was killed and restarted in a loop.
WORKER_HEALTHCHECK_S = 30


def _http_protocol_base():
    try:
        import httptools  # noqa: F401  # lazy: an optional speed-up; h11 when missing
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as base
    except ImportError:
        from uvicorn.protocols.http.h11_impl import H11Protocol as base
    return base


class NoDelayHTTPProtocol(_http_protocol_base()):
    """uvicorn's HTTP protocol with TCP_NODELAY on every connection.

    With several workers the listening sockets are bound with protocol number 0
    (uvicorn's and :func:`bind_reuse_port`'s alike), so asyncio does not recognise accepted connections as
    TCP and leaves Nagle's algorithm on: a response written in two parts
    (head, body) then waits for the client's delayed ACK, about 40 ms on every
    keep-alive request (measured: 48 ms instead of 4 ms for /health).
    """

    def connection_made(self, transport) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:  # pragma: no cover - a socket that is already gone
                pass
        super().connection_made(transport)
        if connections.BOARD is not None:
            connections.BOARD.opened()

    def connection_lost(self, exc) -> None:
        if connections.BOARD is not None:
            connections.BOARD.closed()
        super().connection_lost(exc)


def log_config(level: str) -> dict:
    """uvicorn's logging plus the package's loggers, every handler redacting personal data, in every worker."""
    cfg = copy.deepcopy(LOGGING_CONFIG)
    cfg["filters"] = {"redact": {"()": "naviyam.logging_filters.RedactingFilter"}}
    cfg["formatters"]["naviyam"] = {"format": "%(asctime)s %(levelname)s %(name)s [worker %(process)d]: %(message)s"}
    cfg["handlers"]["naviyam"] = {"class": "logging.StreamHandler", "formatter": "naviyam",
                                  "stream": "ext://sys.stderr"}
    for handler in cfg["handlers"].values():
        handler["filters"] = ["redact"]
    cfg["loggers"]["naviyam"] = {"handlers": ["naviyam"], "level": level.upper(), "propagate": False}
    return cfg


def reuse_port_available() -> bool:
    return hasattr(socket, "SO_REUSEPORT")


def bind_reuse_port(host: str, port: int) -> socket.socket:
    """A TCP socket bound to (host, port) with SO_REUSEPORT, not yet listening."""
    family = socket.AF_INET6 if host and ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


class _OwnSocketProcess(Process):
    """A uvicorn worker process that binds its own SO_REUSEPORT socket instead of sharing the supervisor's, and
    writes how many connections it holds into its slot of the supervisor's :class:`ConnectionBoard`."""

    board: tuple[str, int, int] | None = None  # (file, slot, slots), set before start (pickled into the child)

    def target(self, sockets: list[socket.socket] | None = None) -> None:  # pragma: no cover - runs in the child
        if self.board is not None:
            connections.join(*self.board)
        sock = bind_reuse_port(self.config.host, self.config.port)
        threading.Thread(target=self.always_pong, daemon=True).start()
        self.server.run(sockets=[sock])


class BalancedWorkers(Multiprocess):
    """uvicorn's supervisor with workers of :class:`_OwnSocketProcess` (the supervisor holds no socket).

    The connection board has two slots per worker: a replacement takes a slot no live worker holds, so the
    worker it replaces can go on counting until it stops."""

    def __init__(self, config: Config):
        super().__init__(config, sockets=[])
        self.board_slots = 2 * self.processes_num
        fd, name = tempfile.mkstemp(prefix="naviyam-connections-", suffix=".bin")
        os.close(fd)
        self.board_file = ConnectionBoard.create(name, self.board_slots)
        self.slot_of: dict[int, int] = {}  # id(process) -> slot

    def _new_process(self) -> Process:
        taken = {self.slot_of[id(p)] for p in self.processes if id(p) in self.slot_of and p.process.is_alive()}
        free = set(range(self.board_slots)) - taken
        ConnectionBoard.clear(self.board_file, free)  # a worker that died left its last count behind
        slot = min(free)
        process = _OwnSocketProcess(self.config, [])
        process.board = (str(self.board_file), slot, self.board_slots)
        self.slot_of[id(process)] = slot
        process.start()
        return process

    def run(self, *args, **kwargs) -> None:
        try:
            super().run(*args, **kwargs)
        finally:
            self.board_file.unlink(missing_ok=True)

    def init_processes(self) -> None:
        for _ in range(self.processes_num):
            self.processes.append(self._new_process())

    def restart_all(self) -> None:
        """Replaces each worker, bringing its replacement into service before retiring the old worker."""
        for idx, old_process in enumerate(self.processes):
            if self.should_exit.is_set():
                return
            new_process = self._new_process()
            if not new_process.wait_until_ready(self.config.timeout_worker_healthcheck, self.should_exit):
                new_process.kill()
                new_process.join()
                if not self.should_exit.is_set():
                    log.error("new worker %s was not ready in time; keeping worker %s", new_process.pid,
                              old_process.pid)
                return
            old_process.terminate()
            old_process.join()
            self.processes[idx] = new_process

    def keep_subprocess_alive(self) -> None:
        if self.should_exit.is_set():
            return
        for idx, process in enumerate(self.processes):
            if process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            process.kill()  # hung: kill it
            process.join()
            if process.exitcode == STARTUP_FAILURE:
                # It failed before serving (the app or the bind is broken): every restart would fail the same way.
                log.error("worker %s failed to start; stopping", process.pid)
                self.should_exit.set()
                return
            if self.should_exit.is_set():
                return
            log.info("worker %s died; starting another", process.pid)
            self.processes[idx] = self._new_process()


def run_balanced(config: Config) -> None:
    """Serve ``config`` (an import-string app, ``config.workers`` > 1) with :class:`BalancedWorkers`."""
    # Fail here, not in every worker, when the address is taken by something that does not share it.
    bind_reuse_port(config.host, config.port).close()
    log.info("serving on http://%s:%d with %d workers, one SO_REUSEPORT socket each", config.host, config.port,
             config.workers)
    BalancedWorkers(config).run()


def uvicorn_options(host: str, port: int, workers: int, log_level: str, access_log: bool) -> dict:
    """The keyword arguments of ``uvicorn.run`` / ``uvicorn.Config`` for the app."""
    return dict(factory=True, host=host, port=port, workers=workers, log_level=log_level.lower(),
                log_config=log_config(log_level), access_log=access_log, http=NoDelayHTTPProtocol,
                timeout_worker_healthcheck=WORKER_HEALTHCHECK_S)


def run(host: str, port: int, *, workers: int = 1, log_level: str = "info", access_log: bool = True) -> None:
    """Serve until stopped: one process, or ``workers`` processes with a socket each where the system can."""
    options = uvicorn_options(host, port, workers, log_level, access_log)
    if workers > 1 and port and reuse_port_available():
        run_balanced(uvicorn.Config(APP, **options))
    else:
        uvicorn.run(APP, **options)


def _end_child(pid: int | None) -> None:
    """Stop a child process of this process (the background model build) that still runs."""
    if not pid:
        return
    try:
        done, _status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:  # not (or no longer) our child
        return
    if done == 0:
        os.kill(pid, signal.SIGTERM)


def main(argv: list[str] | None = None) -> int:
    """``python -m naviyam.api '<json>'``: what ``naviyam serve`` runs after preparing (see the module)."""
    spec = json.loads((argv if argv is not None else sys.argv[1:])[0])
    try:
        run(spec["host"], spec["port"], workers=spec["workers"], log_level=spec["log_level"],
            access_log=spec["access_log"])
    except OSError as exc:
        print(f"{spec['host']}:{spec['port']}에서 서비스할 수 없어요: {exc}", file=sys.stderr)
        return 1
    finally:
        if spec.get("metrics_dir"):
            shutil.rmtree(spec["metrics_dir"], ignore_errors=True)
        _end_child(spec.get("builder_pid"))
    return 0
