"""Online A/B: a stable share of users is served by the candidate ranker; the report compares the arms."""

from __future__ import annotations

import random
import shutil

import pytest
from typer.testing import CliRunner

from naviyam.learning.ab import CANDIDATE, PRODUCTION, assign_arm
from naviyam.learning.ab_report import ABDesign, ab_report


@pytest.fixture
def isolated(loop_world):
    """Interactions and feedback this test adds are removed afterwards (the world is shared)."""
    from sqlalchemy import delete, func, select

    from naviyam.db.models import FeedbackEvent, Interaction
    from naviyam.db.session import session_scope

    with session_scope(loop_world.engine) as s:
        max_it = s.scalar(select(func.max(Interaction.id))) or 0
        max_fb = s.scalar(select(func.max(FeedbackEvent.id))) or 0
    yield loop_world
    with session_scope(loop_world.engine) as s:
        s.execute(delete(FeedbackEvent).where(FeedbackEvent.id > max_fb))
        s.execute(delete(Interaction).where(Interaction.id > max_it))


def test_candidate_arm_is_served_recorded_and_reported(isolated, monkeypatch):
    loop_world = isolated
    from naviyam.db.session import session_factory
    from naviyam.learning.feedback import record_feedback
    from naviyam.service.chat import ChatRequest
    from naviyam.service.runtime import Runtime

    reg = loop_world.registry
    prod = reg.current("ranker")
    cand = reg.allocate("ranker")
    shutil.copytree(prod.path, cand.path, dirs_exist_ok=True)
    reg.register(cand, status="candidate", parent=prod.version)
    settings = loop_world.settings.model_copy(update={"ab_share": 0.5, "ab_salt": "test-salt"})
    rt = Runtime.load(loop_world.engine, settings, parser=loop_world.runtime.parser)
    assert rt.candidate_versions()["ranker"] == cand.version
    service = rt.chat_service()

    rnd = random.Random(1)
    sessions = session_factory(loop_world.engine)
    seen: dict[int, str] = {}
    for _ in range(2):
        for uid in range(1, 81):
            reply = service.chat(ChatRequest(message="분식집 추천해줘", user_id=uid))
            arm = assign_arm(uid, 0.5, "test-salt")
            assert seen.setdefault(uid, arm) == arm  # stable for a user
            assert reply.model_versions["ranker"] == (cand.version if arm == CANDIDATE else prod.version)
            if not reply.recommendations:
                continue
            # planted effect: the candidate arm clicks (and often orders) far more
            if rnd.random() < (0.8 if arm == CANDIDATE else 0.2):
                with sessions() as db:
                    record_feedback(db, user_id=uid, shop_id=reply.recommendations[0]["shop_id"],
                                    feedback_type="ordered" if rnd.random() < 0.5 else "clicked",
                                    interaction_id=reply.interaction_id)
    assert {CANDIDATE, PRODUCTION} <= set(seen.values())

    # A large planted effect: a small planned sample (MDE 0.3) that these ~40 users per arm reach.
    design = ABDesign(mde=0.3, min_users=20)
    rep = ab_report(loop_world.engine, candidate_version=cand.version, design=design)
    assert rep.arms[CANDIDATE].users > 20 and rep.arms[PRODUCTION].users > 20
    assert rep.arms[CANDIDATE].ctr.mean > rep.arms[PRODUCTION].ctr.mean
    ctr = rep.comparison("ctr")
    assert ctr.significant and ctr.candidate.low > ctr.production.high
    assert rep.sample_reached and "유의하게 높아요" in rep.verdict()

    from naviyam.cli import app
    from naviyam.config import get_settings
    from naviyam.db.session import get_engine

    monkeypatch.setenv("NAVIYAM_VAR_DIR", str(loop_world.var))
    monkeypatch.delenv("NAVIYAM_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    get_engine.cache_clear()
    try:
        res = CliRunner().invoke(app, ["ab", "report", "--candidate", cand.version, "--mde", "0.3",
                                       "--min-users", "20"], env={"COLUMNS": "200"})
    finally:
        get_engine().dispose()
        get_settings.cache_clear()
        get_engine.cache_clear()
    assert res.exit_code == 0, res.output
    assert "사용자당 클릭률(CTR)" in res.output and "예" in res.output and cand.version in res.output
    assert f"naviyam models promote {cand.version}" in res.output


def test_no_arm_is_recorded_without_a_test(isolated):
    loop_world = isolated
    from naviyam.service.chat import ChatRequest

    reply = loop_world.runtime.chat_service().chat(ChatRequest(message="치킨 추천해줘", user_id=3))
    from naviyam.db.models import Interaction
    from naviyam.db.session import session_scope

    with session_scope(loop_world.engine) as s:
        assert s.get(Interaction, reply.interaction_id).ab_arm is None
