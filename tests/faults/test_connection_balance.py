"""`naviyam serve --workers 2`: keep-alive connections end up split evenly, whichever worker the kernel chose."""

from __future__ import annotations

from collections import Counter

import httpx

from support.faults import WORKERS, wait_for_workers

CLIENTS = 6


def test_keep_alive_connections_settle_evenly_over_the_workers_and_stay(served):
    wait_for_workers(served, WORKERS)
    clients = [httpx.Client(base_url=served.base, timeout=30) for _ in range(CLIENTS)]
    try:
        def one_round() -> tuple[Counter, int]:
            """Each client asks once, in turn; (answers per worker, how many were told to close)."""
            answers = [c.get("/shops/1") for c in clients]
            assert all(r.status_code == 200 for r in answers), [r.text for r in answers]
            return (Counter(r.headers["X-Naviyam-Worker"] for r in answers),
                    sum(r.headers.get("connection", "") == "close" for r in answers))

        rounds, (split, closed) = 1, one_round()
        while not (len(split) == WORKERS and set(split.values()) == {CLIENTS // WORKERS} and closed == 0):
            rounds += 1
            assert rounds <= 40, f"not even after 40 rounds: {split}"
            split, closed = one_round()
        for _ in range(10):  # once even, nobody sheds: the connections stay where they are
            assert one_round() == (split, 0)
    finally:
        for c in clients:
            c.close()
