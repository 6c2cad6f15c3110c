"""Threads of a build job while another one runs beside it."""

from __future__ import annotations

from naviyam.core import threads


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
