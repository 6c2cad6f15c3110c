"""Where a worker computes the heavy requests (chat turns, recommendations): a small pool of its own threads.

A chat turn is ~5-10 ms of Python under one interpreter lock. Sent through Starlette's ``run_in_threadpool``,
every turn also paid for anyio's machinery on the event loop (a capacity limiter with a waiting list, a cancel
scope, a queue per call: ~15 % of the event loop's time at 16 clients), and with two request threads the two
turns traded the interpreter lock back and forth at every call into SQLite or numpy. Here the event loop lets
``request_concurrency`` turns compute at once (by default 1 on SQLite, 2 on PostgreSQL, where a second turn computes
while the first waits for the database server) with asyncio's own ``run_in_executor``: the queue is
first come, first served, and the loop stays free to read and answer other requests (the static page, /health)
while a turn computes. At 16 clients this served 91-102 chat turns a second against 80-82 through anyio
(benchmarks/results/load_18, fifth pass).

The pool has one thread more than it lets turns compute at once (:class:`naviyam.core.gate.TurnGate`): a turn
whose new query is being embedded (~30 ms of C with the interpreter lock released) steps out of the gate, and the
spare thread's turn computes meanwhile instead of waiting behind it (sixth pass).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from fastapi import Request

from naviyam.core.gate import TurnGate

T = TypeVar("T")

#: Threads when ``request_concurrency`` is 0 ("no limit"): the size of Starlette's own pool.
UNLIMITED_THREADS = 40


class ComputePool:
    """At most ``turns`` heavy requests computing at once in a worker (0: no limit); the rest wait in arrival
    order. One more thread than that waits on the gate, for the time a turn spends outside the interpreter."""

    def __init__(self, turns: int):
        self.turns = turns if turns > 0 else UNLIMITED_THREADS
        self.gate = TurnGate(turns) if turns > 0 else None
        self.threads = turns + 1 if turns > 0 else UNLIMITED_THREADS
        self._executor = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="naviyam-compute")

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` on one of the pool's threads (with the caller's context variables), inside
        the gate."""
        call = functools.partial(contextvars.copy_context().run, self._gated, fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    def _gated(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        if self.gate is None:
            return fn(*args, **kwargs)
        with self.gate.held():
            return fn(*args, **kwargs)

    def close(self) -> None:
        """Stop taking work; turns already computing finish (their clients get their answers)."""
        self._executor.shutdown(wait=False, cancel_futures=True)


def compute_pool(request: Request) -> ComputePool:
    """The app's pool (made by the lifespan; made here on first use for an app started without it)."""
    state = request.app.state
    pool = getattr(state, "compute", None)
    if pool is None:
        settings = getattr(state, "settings", None)
        pool = state.compute = ComputePool(getattr(settings, "compute_threads", 1))
    return pool
