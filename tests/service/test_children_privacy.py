"""A child under 14 without a guardian's consent is answered fully, and the service keeps the least it can.

Runs on a private copy of the trained test world (its own SQLite file, the same trained models), with two
10-year-olds added: one whose guardian consented, one whose guardian did not.
"""

import datetime as dt
import json
import sqlite3

import pytest
from sqlalchemy import select

from naviyam.config import Settings
from naviyam.core.geo import find_landmark
from naviyam.db.models import ChatSession, FeedbackEvent, Interaction, User
from naviyam.db.session import make_engine, session_scope
from naviyam.service.chat import ChatRequest
from naviyam.service.minimise import CHILD_NOTICE

NOON = dt.datetime(2026, 11, 2, 12, 30)
NO_CONSENT, CONSENT = 97_001, 97_002
#: A precise position a few metres from 신림역 (a stored one must not be this precise).
HERE = (37.48423, 126.92971)
MESSAGE = "신림역 근처 떡볶이 먹고 싶어"


@pytest.fixture(scope="module")
def world(trained_world, tmp_path_factory):
    from naviyam.service.runtime import Runtime

    var = tmp_path_factory.mktemp("privacy-world")
    src, dst = sqlite3.connect(trained_world.settings.var_dir / "naviyam.db"), sqlite3.connect(var / "naviyam.db")
    src.backup(dst)
    src.close()
    dst.close()
    settings = Settings(var_dir=var, environment="test", admin_api_key="test-admin-key", database_url=None,
                        reload_interval_s=0, _env_file=None)
    engine = make_engine(settings.resolved_database_url)
    with session_scope(engine) as s:
        for uid, consent in ((NO_CONSENT, None), (CONSENT, dt.date(2026, 3, 2))):
            s.add(User(id=uid, birthday=dt.date(2016, 5, 1), district="관악구", dong="서원동",
                       is_meal_card_holder=True, guardian_consent=consent))
    runtime = Runtime.load(engine, settings)
    yield engine, runtime.chat_service(), settings, runtime
    engine.dispose()


def _stored(engine, interaction_id):
    with session_scope(engine) as s:
        it = s.get(Interaction, interaction_id)
        session = s.get(ChatSession, it.session_id)
        return (it.message, it.response, it.nlu, it.location, it.minimised, it.recommendations,
                dict(session.state or {}))


def test_a_child_without_consent_gets_the_same_answer_but_no_text_or_precise_place_is_kept(world):
    engine, service, *_ = world
    child = service.chat(ChatRequest(message=MESSAGE, user_id=NO_CONSENT, lat=HERE[0], lon=HERE[1], now=NOON))
    other = service.chat(ChatRequest(message=MESSAGE, user_id=CONSENT, lat=HERE[0], lon=HERE[1], now=NOON))
    # answered fully, exactly as the child whose guardian consented
    assert child.recommendations and child.response
    assert [r["shop_id"] for r in child.recommendations] == [r["shop_id"] for r in other.recommendations]
    assert child.nlu["filters"]["location_filter"] == {"landmark": "신림역"}  # the answer used the precise place
    assert child.minimised and child.privacy_notice == CHILD_NOTICE
    assert not other.minimised and other.privacy_notice is None

    message, response, nlu, location, minimised, shown, state = _stored(engine, child.interaction_id)
    assert message == "" and response is None and minimised
    # the NLU result without the message: intent, canonical values, the 동 instead of the station
    assert "text" not in nlu and "semantic_query" not in nlu
    assert nlu["intent"] == child.intent and nlu["filters"]["menu"] == "떡볶이"
    station = find_landmark("신림역")
    assert nlu["filters"]["location_filter"] == {"district": station.district, "dong": station.dong}
    assert all(set(e) == {"entity", "value"} for e in nlu["entities"])
    assert location["precision"] == "1km" and location["dong"] and location["district"] == "관악구"
    assert (location["lat"], location["lon"]) == (round(HERE[0], 2), round(HERE[1], 2))
    assert [r["shop_id"] for r in shown] == [r["shop_id"] for r in child.recommendations]
    stored_text = json.dumps([message, nlu, location, state], ensure_ascii=False)
    assert "신림역" not in stored_text and "먹고 싶어" not in stored_text and str(HERE[0]) not in stored_text
    assert len(state.get("last_distances", [])) <= 1  # one distance, not one per shown shop

    # with consent: stored as before
    message, response, nlu, location, minimised, _shown, state = _stored(engine, other.interaction_id)
    assert message == MESSAGE and response == other.response and not minimised
    assert nlu["text"] == MESSAGE and nlu["filters"]["location_filter"] == {"landmark": "신림역"}
    assert (location["lat"], location["lon"], location["precision"]) == (*HERE, "exact")
    assert state["nlu"]["search"]["location_filter"] == {"landmark": "신림역"}


def test_an_unknown_user_who_says_they_are_a_child_is_minimised_for_the_whole_conversation(world):
    engine, service, *_ = world
    first = service.chat(ChatRequest(message="나 초3인데 떡볶이 먹고 싶어", now=NOON))
    second = service.chat(ChatRequest(message="더 싼 데는?", session_id=first.session_id, now=NOON))
    stranger = service.chat(ChatRequest(message="떡볶이 먹고 싶어", now=NOON))
    assert first.minimised and second.minimised and not stranger.minimised
    assert _stored(engine, first.interaction_id)[:2] == ("", None)
    assert _stored(engine, second.interaction_id)[:2] == ("", None)
    assert _stored(engine, stranger.interaction_id)[0] == "떡볶이 먹고 싶어"


def test_feedback_a_child_gives_in_the_chat_is_kept_but_marked_never_to_train_on(world):
    engine, service, *_ = world
    first = service.chat(ChatRequest(message="떡볶이 먹고 싶어", user_id=NO_CONSENT, now=NOON))
    assert first.recommendations
    service.chat(ChatRequest(message="거기 맛없던데", user_id=NO_CONSENT, session_id=first.session_id, now=NOON))
    with session_scope(engine) as s:
        events = list(s.scalars(select(FeedbackEvent).where(FeedbackEvent.user_id == NO_CONSENT)))
    assert events and all(e.minimised for e in events)


def test_a_time_the_client_sends_does_not_make_a_child_an_adult(world):
    engine, service, *_ = world
    later = dt.datetime(2031, 6, 1, 12, 0)  # the child would be 15 then; privacy follows the service's date
    reply = service.chat(ChatRequest(message="떡볶이 먹고 싶어", user_id=NO_CONSENT, now=later))
    assert reply.minimised and _stored(engine, reply.interaction_id)[0] == ""


def test_recommendations_for_a_child_are_the_same_and_kept_minimised(world):
    from fastapi.testclient import TestClient

    from naviyam.api.app import create_app

    engine, _service, settings, runtime = world
    body = {"chatbot_output": {"text": "신림역 근처 떡볶이", "intent": "FOOD_RECOMMENDATION",
                               "filters": {"menu": "떡볶이", "location_filter": {"landmark": "신림역"}}},
            "context": {"lat": HERE[0], "lon": HERE[1]}}
    with TestClient(create_app(settings, engine=engine, runtime=runtime)) as client:
        child = client.post("/recommendations", json={**body, "user_id": NO_CONSENT})
        other = client.post("/recommendations", json={**body, "user_id": CONSENT})
        # a user the database does not know, described by the caller's profile
        described = client.post("/recommendations", json={**body, "user_id": "kakao_42",
                                                          "user_profile": {"birthday": "2016-05-01"}})
        grown_up = client.post("/recommendations", json={**body, "user_id": "kakao_43",
                                                         "user_profile": {"birthday": "1990-05-01"}})
    assert {r.status_code for r in (child, other, described, grown_up)} == {200}, child.text
    assert [r["shop_id"] for r in child.json()["recommendations"]] == \
        [r["shop_id"] for r in other.json()["recommendations"]]
    with session_scope(engine) as s:
        def stored(r):
            return s.get(Interaction, r.json()["metadata"]["interaction_id"])

        for kept in (stored(child), stored(described)):
            assert kept.minimised and kept.message == "" and kept.location["precision"] == "1km"
            assert "신림역" not in json.dumps(kept.nlu, ensure_ascii=False)
        for full in (stored(other), stored(grown_up)):
            assert not full.minimised and full.message == "신림역 근처 떡볶이" and full.location["lat"] == HERE[0]
