"""Chat feedback reaches the serving features: read with the interaction counts, reloaded on refresh."""

from __future__ import annotations

from sqlalchemy import select

from naviyam.db.models import FeedbackEvent
from naviyam.db.session import session_factory, session_scope
from naviyam.learning.feedback import record_feedback
from naviyam.recommend.features import InteractionState, event_marks, load_events


def test_serving_counts_read_the_feedback_but_never_a_minimised_event(loop_world):
    engine = loop_world.engine
    with session_scope(engine) as s:
        kept = {i for (i,) in s.execute(select(FeedbackEvent.id).where(FeedbackEvent.minimised.is_(False),
                                                                        FeedbackEvent.feedback_type != "rated"))}
        minimised = {i for (i,) in s.execute(select(FeedbackEvent.id).where(FeedbackEvent.minimised.is_(True)))}
    events = load_events(engine, feedback=True)
    read = {e.id for e in events if e.kind == "feedback"}
    assert read == kept and kept and not read & minimised
    assert not [e for e in load_events(engine) if e.kind == "feedback"]  # the full training set reads none
    state = loop_world.runtime.recommender.state
    assert state.marks == event_marks(engine)
    assert sum(state.user_shop_feedback.values()) > 0


def test_refresh_reads_new_feedback_when_asked_and_only_when_there_is_some(loop_world):
    runtime, engine = loop_world.runtime, loop_world.engine
    rec = runtime.recommender
    user = next(u for (u, _s) in rec.state.user_shop_feedback)
    shop = next(int(s) for s in rec.generator.catalog.ids if (user, int(s)) not in rec.state.user_shop_feedback)
    with session_factory(engine)() as db:
        record_feedback(db, user_id=user, shop_id=shop, feedback_type="ordered")
    # a registry check within state_reload_s leaves the counts as they were
    assert not runtime.refresh().state_reloaded and runtime.recommender is rec
    res = runtime.refresh(reload_state=True)
    assert res.state_reloaded and not res.changed
    fresh = runtime.recommender
    assert fresh is not rec and fresh.ranker is rec.ranker and fresh.generator is rec.generator
    assert fresh.state.user_shop_feedback[(user, shop)] == 1.0
    assert (user, shop) not in rec.state.user_shop_feedback  # the old engine was not modified
    assert runtime.chat_service().recommender is fresh
    assert not runtime.refresh(reload_state=True).state_reloaded  # nothing new: nothing read again


def test_a_state_built_empty_and_replayed_matches_the_loaded_one(loop_world):
    engine = loop_world.engine
    catalog = loop_world.runtime.recommender.generator.catalog
    loaded = InteractionState.load(engine, catalog)
    replayed = InteractionState.empty(InteractionState.load_users(engine), catalog)
    for ev in load_events(engine, feedback=True, trainable_only=True):
        replayed.apply(ev)
    trainable = {k: v for k, v in loaded.user_shop_feedback.items() if k in replayed.user_shop_feedback}
    assert trainable == dict(replayed.user_shop_feedback)


def test_a_swap_calls_the_after_swap_hooks_and_a_check_without_one_does_not(loop_world):
    runtime, engine = loop_world.runtime, loop_world.engine
    rec = runtime.recommender
    calls: list[str] = []
    runtime.after_swap.append(lambda: calls.append("settled"))
    try:
        runtime.refresh(reload_state=True)  # takes in whatever earlier tests left
        calls.clear()
        user = next(u for (u, _s) in rec.state.user_shop_feedback)
        with session_factory(engine)() as db:
            record_feedback(db, user_id=user, shop_id=int(rec.generator.catalog.ids[0]), feedback_type="clicked")
        assert not runtime.refresh().state_reloaded and calls == []  # a check that swaps nothing
        assert runtime.refresh(reload_state=True).state_reloaded and calls == ["settled"]
    finally:
        runtime.after_swap.clear()
