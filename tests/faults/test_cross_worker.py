"""Scale-out: several workers on PostgreSQL + Redis; a conversation and the rate limits live in no single process."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from naviyam.db.models import ChatSession, Interaction
from naviyam.db.session import session_scope
from support.faults import USER_LIMIT, another_server, fresh_post

BUDGETS = ["만원 이하로", "8천원 이하로", "7천원으로", "6천원 이하", "9천원 이하로"]


def test_a_conversation_continues_whichever_worker_answers(served, tmp_path):
    """Turns alternate between two server processes (chosen, not left to the kernel's accept order)."""
    session_id = f"xw-{uuid.uuid4().hex[:12]}"
    with another_server(served, tmp_path / "second.log") as second:
        bases = [served.base, second]
        first = fresh_post(served.base + "/chat", json={"message": "떡볶이 먹고 싶어", "session_id": session_id})
        assert first.status_code == 200, first.text
        assert first.json()["nlu"]["filters"].get("menu") == "떡볶이"
        workers = [first.headers["X-Naviyam-Worker"]]
        turns = 1
        for budget in BUDGETS * 2:
            r = fresh_post(bases[turns % 2] + "/chat", json={"message": budget, "session_id": session_id})
            assert r.status_code == 200, r.text
            turns += 1
            body = r.json()
            workers.append(r.headers["X-Naviyam-Worker"])
            assert body["session_id"] == session_id
            # The first turn's dish is still part of the search, whichever process holds this turn.
            assert body["nlu"]["filters"].get("menu") == "떡볶이", (workers, body["nlu"])
            assert body["nlu"]["filters"].get("budget_filter"), body["nlu"]
    assert set(workers[0::2]).isdisjoint(workers[1::2]), workers  # every turn went to the other process
    with session_scope(served.engine) as s:
        row = s.get(ChatSession, session_id)
        assert row.turns == turns
        stored = list(s.scalars(select(Interaction.message).where(Interaction.session_id == session_id)))
        assert len(stored) == turns


def test_the_per_user_rate_limit_is_shared_by_all_workers(served):
    user = 1_000_000 + uuid.uuid4().int % 1_000_000  # a user id no other test uses
    workers, codes = set(), []
    for _ in range(USER_LIMIT * 3):
        r = fresh_post(served.base + "/feedback", json={"user_id": user, "shop_id": 1, "feedback_type": "clicked"})
        codes.append(r.status_code)
        workers.add(r.headers["X-Naviyam-Worker"])
    # Counted in Redis: exactly USER_LIMIT accepted in total, however the requests were spread over workers.
    assert codes.count(202) == USER_LIMIT, (codes, workers)
    assert set(codes[USER_LIMIT:]) == {429}
