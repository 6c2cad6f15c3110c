"""A worker killed with SIGKILL under load: the others keep answering and no accepted feedback is lost."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter

import httpx
from sqlalchemy import func, select

from naviyam.db.models import FeedbackEvent
from naviyam.db.session import session_scope
from support.faults import fresh_get

THREADS = 6
BEFORE_S, AFTER_S = 2.0, 3.0
#: Time for the kernel to tear the killed worker's sockets down.
GRACE_S = 0.2


def test_sigkill_of_a_worker_mid_load_loses_no_accepted_feedback(served):
    stop = threading.Event()
    lock = threading.Lock()
    accepted: list[int] = []
    answers: list[tuple[float, int, str]] = []  # (time the request started, status, worker)
    errors: list[tuple[float, str]] = []  # (time the request started, error)

    def load(n: int) -> None:
        with httpx.Client(base_url=served.base, timeout=10, headers={"Connection": "close"}) as c:
            i = 0
            while not stop.is_set():
                i += 1
                started = time.monotonic()
                try:
                    if i % 3 == 0:
                        r = c.get("/shops", params={"limit": 5, "offset": i % 50})
                    else:
                        r = c.post("/feedback", json={"shop_id": 1 + (i % 20), "feedback_type": "clicked"})
                except httpx.TransportError as exc:
                    with lock:
                        errors.append((started, exc.__class__.__name__))
                    continue
                with lock:
                    answers.append((started, r.status_code, r.headers.get("X-Naviyam-Worker", "")))
                    if r.status_code == 202:
                        accepted.append(r.json()["id"])

    threads = [threading.Thread(target=load, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    try:
        time.sleep(BEFORE_S)
        with lock:
            busy = Counter(w for _, _, w in answers)
        victim = int(busy.most_common(1)[0][0])
        os.kill(victim, signal.SIGKILL)
        killed_at = time.monotonic()
        time.sleep(AFTER_S)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)

    # Every request started after the kill (on a new connection) was answered, by a surviving worker.
    after = [(s, w) for t, s, w in answers if t > killed_at + GRACE_S]
    assert after, "nobody answered after the kill"
    assert all(s in (200, 202) for s, _ in after), Counter(s for s, _ in after)
    assert str(victim) not in {w for _, w in after}
    # Only requests in flight on the killed worker, or sent while the kernel was tearing its listening socket
    # down, failed: none started after that. (Counting them is no invariant: a client that retries at once
    # can meet the dying socket more than once within those milliseconds; 8 errors from 6 threads were seen.)
    assert all(t < killed_at + GRACE_S for t, _ in errors), errors
    with session_scope(served.engine) as s:
        stored = s.scalar(select(func.count()).select_from(FeedbackEvent).where(FeedbackEvent.id.in_(accepted)))
    assert accepted and stored == len(accepted), f"{len(accepted) - stored} accepted feedback events lost"
    # The supervisor replaces the dead worker.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and victim in served.worker_pids():
        time.sleep(0.2)
    assert victim not in served.worker_pids()
    assert fresh_get(served.base + "/health").status_code == 200
