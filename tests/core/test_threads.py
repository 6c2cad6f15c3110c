"""Threads of a build job while another one runs beside it; serving limits reach the request threads."""

from __future__ import annotations

import threading

import faiss

from naviyam.core import threads
from naviyam.core.threads import limit_math_threads, openmp_in_this_thread


def test_build_threads_leave_one_core_per_job_beside_and_come_back_when_it_ends(monkeypatch):
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 4)
    assert threads.build_threads() is None
    release = threads.share_build_cores()
    assert threads.build_threads() == 3
    release()
    release()  # a second call changes nothing
    assert threads.build_threads() is None


def test_build_threads_never_fall_below_one(monkeypatch):
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 2)
    releases = [threads.share_build_cores() for _ in range(3)]
    assert threads.build_threads() == 1
    for release in releases:
        release()
    assert threads.build_threads() is None


# OpenMP keeps its thread count per thread: the limit set at start-up must reach the threads that answer.


def test_a_request_thread_takes_the_serving_openmp_limit():
    seen: dict[str, int] = {}

    def request_thread() -> None:
        openmp_in_this_thread()
        seen["after"] = faiss.omp_get_max_threads()

    before = faiss.omp_get_max_threads()
    restore = limit_math_threads(1)
    try:
        t = threading.Thread(target=request_thread)
        t.start()
        t.join()
    finally:
        restore()
    assert seen["after"] == 1
    assert faiss.omp_get_max_threads() == before  # restored in the thread that set it


def test_without_a_serving_limit_a_thread_keeps_the_library_default():
    seen: dict[str, int] = {}

    def other_thread() -> None:
        default = faiss.omp_get_max_threads()
        openmp_in_this_thread()
        seen["unchanged"] = faiss.omp_get_max_threads() == default

    t = threading.Thread(target=other_thread)
    t.start()
    t.join()
    assert seen["unchanged"]
