"""Whose events the models learn from: never a child without a guardian's consent, never an erased user.

On a copy of the lived-in world (``loop_world``): its children without consent chatted minimised; one
consenting child's guardian then withdraws consent, and one user's data is erased. The next ``naviyam
learn``, ``naviyam train data`` and ``naviyam learning export`` read none of them, while a consenting
child is still learnt from.
"""

import datetime as dt
import json

import pandas as pd
from sqlalchemy import func, select

from naviyam.core.clock import local_today, utcnow
from naviyam.core.privacy import children_without_consent, must_minimise
from naviyam.db.models import FeedbackEvent, Interaction, PrivacyEvent, ProductOrder, User
from naviyam.db.session import session_scope
from naviyam.learning.incremental import build_incremental_data


def _orders(engine) -> dict[int, int]:
    with session_scope(engine) as s:
        return dict(s.execute(select(ProductOrder.user_id, func.count()).group_by(ProductOrder.user_id)).all())


def _consenting_children(engine) -> list[int]:
    """Children with a guardian's consent, the ones with the most orders first."""
    orders = _orders(engine)
    today = local_today()
    with session_scope(engine) as s:
        kids = [u.id for u in s.scalars(select(User)) if u.guardian_consent is not None
                and (today - u.birthday).days < 14 * 365 and not must_minimise(u.birthday, u.guardian_consent)]
    return sorted(kids, key=lambda u: -orders.get(u, 0))


def _learnt_users(engine, registry) -> set[int]:
    from naviyam.recommend.layer1 import CandidateGenerator

    data = build_incremental_data(engine, CandidateGenerator.load(engine, registry), utcnow())
    return set(data.train["user_id"]) | set(data.holdout["user_id"])


def test_children_without_consent_withdrawn_and_erased_users_are_in_no_later_training_set(
        loop_world, naviyam, monkeypatch, tmp_path):
    engine, var = loop_world.engine, loop_world.var
    minors = children_without_consent(engine)
    assert minors and all(_orders(engine).get(u, 0) > 0 for u in minors)  # they have events to leave out
    with session_scope(engine) as s:
        turns = list(s.scalars(select(Interaction).where(Interaction.user_id.in_(minors))))
        assert turns and all(t.minimised and t.message == "" and t.response is None for t in turns)
    keep, withdrawn = _consenting_children(engine)[:2]
    with session_scope(engine) as s:  # someone (not a minor) who gave feedback, to be erased
        erased = next(u for u in s.scalars(select(FeedbackEvent.user_id).order_by(FeedbackEvent.id))
                      if u not in minors and u not in (keep, withdrawn))
    before = _learnt_users(engine, loop_world.registry)
    assert {keep, withdrawn, erased} <= before and not before & minors

    res = naviyam(var, "maintenance", "withdraw-consent", withdrawn)
    assert res.exit_code == 0 and "거뒀어요" in res.output, res.output
    res = naviyam(var, "maintenance", "erase-user", erased)
    assert res.exit_code == 0 and "지웠어요" in res.output, res.output
    with session_scope(engine) as s:
        assert all(t.minimised and t.message == "" for t in s.scalars(
            select(Interaction).where(Interaction.user_id == withdrawn)))
        log = [(e.action, e.user_id, e.source, e.details) for e in s.scalars(select(PrivacyEvent))]
    assert [(a, u, src) for a, u, src, _ in log] == [("withdraw", withdrawn, "cli"), ("erase", erased, "cli")]
    assert set(log[1][3]) == {"interactions", "chat_sessions", "feedback_events"} and log[1][3]["interactions"] > 0
    gone = minors | {withdrawn, erased}

    # naviyam learn: what the candidate ranker is fine-tuned on (the new rows and the replayed old ones)
    from naviyam.recommend.ranker import finetune

    tuned: list[pd.DataFrame] = []
    real = finetune.fine_tune
    monkeypatch.setattr("naviyam.learning.learn.fine_tune",  # where naviyam learn calls it
                        lambda model, frame, cfg: tuned.append(frame) or real(model, frame, cfg))
    res = naviyam(var, "learn", "--no-nlu", "--no-promote", "--epochs", 1, "--replay-rows", 400)
    assert res.exit_code == 0, res.output
    (frame,) = tuned
    learnt = set(frame["user_id"])
    assert keep in learnt and not learnt & gone
    assert not _learnt_users(engine, loop_world.registry) & gone

    # naviyam train data: the ranker's full training set from the operator's tables
    out = tmp_path / "ranker-data"
    res = naviyam(var, "train", "data", "--out", out, "--max-positives", 0, "--ranking-lists", 20)
    assert res.exit_code == 0, res.output
    users = set()
    for name in ("recommendation_train.csv", "recommendation_val.csv", "recommendation_val_ranking.csv"):
        if (out / name).exists():
            users |= set(pd.read_csv(out / name, usecols=["user_id"])["user_id"])
    assert keep in users and not users & gone

    # naviyam learning export: the JSONL files the LoRA data and outside tools read
    today = local_today()
    res = naviyam(var, "learning", "export", "--start", today - dt.timedelta(days=3), "--end",
                  today + dt.timedelta(days=1), "--out", tmp_path / "export")
    assert res.exit_code == 0, res.output
    exported = [json.loads(line) for f in sorted((tmp_path / "export").glob("*.jsonl"))
                for line in f.read_text(encoding="utf-8").splitlines()]
    exported_users = {r["user_id"] for r in exported}
    assert keep in exported_users and not exported_users & gone
    assert all(r["user_input"] for r in exported if r["type"] == "conversation")
