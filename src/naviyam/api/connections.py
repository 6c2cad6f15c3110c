"""Keep-alive connections spread evenly over the workers.

With a listening socket per worker (``SO_REUSEPORT``, :mod:`naviyam.api.server`) the kernel hashes every *new*
connection to a worker, and a keep-alive connection then stays where it landed. A few long-lived connections (a
reverse proxy's upstream pool, a school's shared address, a closed-loop load test) split unevenly: measured with
`make run-prod`, 11 / 5 connections at 16 clients and 36 / 28 at 64. Both workers answer as fast as each other,
so the one holding more connections keeps its clients waiting longer (p95 106 against 52 ms at 16 clients).

Every worker writes how many connections it holds into its own slot of a small shared file
(:class:`ConnectionBoard`, made by the supervisor). A worker that holds more than its share, the total over the
serving workers rounded up, answers its next response with ``Connection: close``: the client opens a new
connection, which the kernel hashes again. A worker at or under its share never sends one, so the split settles
at even within a few requests per connection. An HTTP/1.1 client reconnects by itself; nothing is lost.

One worker (``make run``) has no board and nothing here does anything.
"""

from __future__ import annotations

import math
import mmap
from pathlib import Path

import numpy as np

#: A slot's value while its worker does not serve (starting, stopped, replaced).
NOT_SERVING = -1


class ConnectionBoard:
    """``workers`` int32 slots in a shared file; this worker writes slot ``slot`` and reads them all."""

    def __init__(self, path: str | Path, slot: int, workers: int):
        self.path, self.slot, self.workers = Path(path), slot, workers
        with open(self.path, "r+b") as f:
            self._map = mmap.mmap(f.fileno(), 4 * workers)
        self.slots = np.frombuffer(self._map, dtype=np.int32, count=workers)
        self.is_serving = False
        self.open = 0  # connections this worker holds
        self.leaving = 0  # of which told to close and not closed yet (counted here until they close)

    @staticmethod
    def create(path: str | Path, workers: int) -> Path:
        """The supervisor's file: every slot not serving."""
        path = Path(path)
        path.write_bytes(np.full(workers, NOT_SERVING, dtype=np.int32).tobytes())
        return path

    @staticmethod
    def clear(path: str | Path, slots: set[int]) -> None:
        """Mark ``slots`` not serving (the supervisor, for slots no live worker holds)."""
        with open(path, "r+b") as f:
            for slot in slots:
                f.seek(4 * slot)
                f.write(np.int32(NOT_SERVING).tobytes())

    def _publish(self) -> None:
        if self.is_serving:  # a stopping worker's last connections must not make it look serving again
            self.slots[self.slot] = self.open  # the leaving ones too: they come back, to one worker or another

    def serving(self, yes: bool = True) -> None:
        self.is_serving = yes
        self.open = self.leaving = 0
        self.slots[self.slot] = 0 if yes else NOT_SERVING

    def opened(self) -> None:
        self.open += 1
        self._publish()

    def closed(self) -> None:
        self.open = max(0, self.open - 1)
        self.leaving = max(0, self.leaving - 1)  # most closes are the ones asked for
        self._publish()

    def over_share(self) -> bool:
        """True when this worker holds more connections than its share of all serving workers' connections."""
        others = [int(v) for i, v in enumerate(self.slots) if v >= 0 and i != self.slot]
        mine = self.open - self.leaving
        if not self.is_serving or not others or mine <= 0:
            return False
        return mine > math.ceil((sum(others) + self.open) / (len(others) + 1))

    def shed_one(self) -> bool:
        """Whether the response about to go out should close its connection (then counted as leaving)."""
        if not self.over_share():
            return False
        self.leaving += 1
        self._publish()
        return True


#: This worker's board (set in the worker process by the supervisor's worker class); None with one worker.
BOARD: ConnectionBoard | None = None


def join(path: str | Path, slot: int, workers: int) -> ConnectionBoard:
    """Called in a worker process before it serves: this process's :data:`BOARD`, its slot marked not serving."""
    global BOARD
    BOARD = ConnectionBoard(path, slot, workers)
    BOARD.serving(False)
    return BOARD


class ConnectionBalanceMiddleware:
    """Pure ASGI: ``Connection: close`` on an HTTP response of a worker that holds more than its share."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        board = BOARD
        if board is None or scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_balanced(message):
            if message["type"] == "http.response.start" and board.shed_one():
                message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
            await send(message)

        return await self.app(scope, receive, send_balanced)
