"""The worker's compute pool: at most N heavy requests at once, first come first served, and chat runs on it."""

import asyncio
import contextvars
import threading

import pytest

from naviyam.api.compute import UNLIMITED_THREADS, ComputePool

_WHO = contextvars.ContextVar("who", default="nobody")


def _run_all(pool: ComputePool, n: int, hold: float) -> tuple[list[int], int]:
    """Start ``n`` calls at once; each notes when it starts and how many run beside it."""
    lock = threading.Lock()
    started: list[int] = []
    running = peak = 0

    def work(i: int) -> int:
        nonlocal running, peak
        with lock:
            started.append(i)
            running += 1
            peak = max(peak, running)
        threading.Event().wait(hold)  # blocks this thread only, like a turn waiting on the database
        with lock:
            running -= 1
        return i * 10

    async def main() -> list[int]:
        return await asyncio.gather(*(pool.run(work, i) for i in range(n)))

    results = asyncio.run(main())
    assert results == [i * 10 for i in range(n)]
    return started, peak


def test_one_thread_runs_the_calls_one_at_a_time_in_arrival_order():
    pool = ComputePool(1)
    try:
        started, peak = _run_all(pool, 6, 0.01)
    finally:
        pool.close()
    assert peak == 1
    assert started == list(range(6))


def test_two_threads_run_two_calls_side_by_side_and_no_more():
    pool = ComputePool(2)
    try:
        _started, peak = _run_all(pool, 6, 0.05)
    finally:
        pool.close()
    assert peak == 2


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
    assert client.app.state.compute.threads == 1  # request_concurrency's default on SQLite


def test_request_concurrency_defaults_to_one_thread_on_sqlite_and_two_on_a_database_server(tmp_path):
    from naviyam.config import Settings

    assert Settings(var_dir=tmp_path).compute_threads == 1
    pg = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    assert Settings(var_dir=tmp_path, database_url=pg).compute_threads == 2
    assert Settings(var_dir=tmp_path, database_url=pg, request_concurrency=1).compute_threads == 1
    assert Settings(var_dir=tmp_path, request_concurrency=0).compute_threads == 0
