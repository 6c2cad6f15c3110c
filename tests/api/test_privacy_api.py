"""A child's data over HTTP: guardian consent, minimised turns, the export a guardian can be given, erasure, /privacy.

User 1 of the API world is 11 years old (born 2015-03-01) and has no guardian's consent to start with.
"""

import json

from sqlalchemy import select

from naviyam.core.privacy import training_exclusions
from naviyam.db.models import ChatSession, FeedbackEvent, Interaction, PrivacyEvent
from naviyam.db.session import session_scope

ADMIN = {"X-API-Key": "test-admin-key"}
HERE = {"lat": 37.48423, "lon": 126.92971}


def _log(engine):
    with session_scope(engine) as s:
        return [(e.action, e.user_id, e.details, e.source)
                for e in s.scalars(select(PrivacyEvent).order_by(PrivacyEvent.id))]


def test_a_childs_turn_without_consent_is_answered_with_a_notice_and_kept_without_text(client, world):
    r = client.post("/chat", json={"user_id": 1, "message": "신림역 근처 떡볶이 먹고 싶어", "context": HERE})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["minimised"] is True and "보호자" in body["privacy_notice"] and body["response"]
    adult = client.post("/chat", json={"message": "떡볶이 먹고 싶어"}).json()
    assert "minimised" not in adult and "privacy_notice" not in adult  # the contract's fields only
    with session_scope(world) as s:
        it = s.get(Interaction, body["interaction_id"])
        assert it.minimised and it.message == "" and it.response is None and "text" not in it.nlu
        assert it.location["precision"] == "1km" and it.location["lat"] == round(HERE["lat"], 2)


def test_the_admin_api_sets_and_withdraws_consent_and_withdrawal_minimises_what_was_kept(client, world):
    assert client.put("/users/1/consent", json={"date": "2026-11-20"}).status_code == 401
    assert client.put("/users/1/consent", json={"date": 1_763_596_800}, headers=ADMIN).status_code == 422
    r = client.put("/users/1/consent", json={"date": "2026-11-20"}, headers=ADMIN)
    assert r.status_code == 200, r.text
    assert r.json()["guardian_consent"] == "2026-11-20" and r.json()["previous"] is None

    turn = client.post("/chat", json={"user_id": 1, "message": "신림역 근처 떡볶이 먹고 싶어", "context": HERE}).json()
    assert "minimised" not in turn  # with consent: stored as anyone's
    fb = client.post("/feedback", json={"user_id": 1, "shop_id": 1, "feedback_type": "clicked",
                                        "interaction_id": turn["interaction_id"]})
    assert fb.status_code == 202
    with session_scope(world) as s:
        it = s.get(Interaction, turn["interaction_id"])
        assert it.message == "신림역 근처 떡볶이 먹고 싶어" and not it.minimised
        assert it.location["lat"] == HERE["lat"] and it.location["precision"] == "exact"
        assert not s.get(FeedbackEvent, fb.json()["id"]).minimised
    assert 1 not in training_exclusions(world)

    w = client.delete("/users/1/consent", headers=ADMIN)
    assert w.status_code == 200, w.text
    assert w.json() == {"user_id": 1, "guardian_consent": None, "previous": "2026-11-20", "interactions": 1,
                        "chat_sessions": 1, "feedback_events": 1}
    with session_scope(world) as s:
        it = s.get(Interaction, turn["interaction_id"])
        assert it.minimised and it.message == "" and it.response is None
        assert "text" not in it.nlu and "신림역" not in json.dumps(it.nlu, ensure_ascii=False)
        assert it.location["precision"] == "1km" and it.location["lat"] == round(HERE["lat"], 2)
        state = s.get(ChatSession, turn["session_id"]).state
        assert "신림역" not in json.dumps(state, ensure_ascii=False)
        assert s.get(FeedbackEvent, fb.json()["id"]).minimised
    assert 1 in training_exclusions(world)
    after = client.post("/chat", json={"user_id": 1, "message": "떡볶이", "session_id": turn["session_id"]}).json()
    assert after["minimised"] is True
    log = _log(world)
    assert [(a, u, src) for a, u, _d, src in log] == [("consent", 1, "api"), ("withdraw", 1, "api")]
    assert "떡볶이" not in json.dumps(log, ensure_ascii=False)


def test_consent_requests_that_cannot_be_right_are_4xx_in_korean(client, world):
    cases = [
        ("/users/999/consent", {"date": "2026-11-20"}, 404, "없어요"),
        ("/users/1/consent", {"date": "2099-01-01"}, 422, "오늘"),
        ("/users/1/consent", {"date": "2010-01-01"}, 422, "생일"),
        ("/users/1/consent", {"date": "어제"}, 422, "date"),
        ("/users/0/consent", {"date": "2026-11-20"}, 422, "user_id"),
    ]
    for path, body, status, needle in cases:
        r = client.put(path, json=body, headers=ADMIN)
        assert r.status_code == status and needle in r.json()["detail"], (path, body, r.text)
    assert client.delete("/users/999/consent", headers=ADMIN).status_code == 404
    assert _log(world) == []  # nothing half-written


def test_the_export_holds_everything_kept_about_the_user_for_a_guardian(client, world, tmp_path):
    assert client.put("/users/1/consent", json={"date": "2026-11-20"}, headers=ADMIN).status_code == 200
    first = client.post("/chat", json={"user_id": 1, "message": "떡볶이 먹고 싶어", "context": HERE}).json()
    client.post("/chat", json={"user_id": 1, "message": "더 싼 데는?", "session_id": first["session_id"]})
    assert client.post("/feedback", json={"user_id": 1, "shop_id": 1, "feedback_type": "favorited",
                                          "interaction_id": first["interaction_id"]}).status_code == 202
    assert client.get("/users/1/data").status_code == 401
    r = client.get("/users/1/data", headers=ADMIN)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["user_id"] == 1 and doc["profile"]["birthday"] == "2015-03-01" and doc["profile"]["age"] == 11
    assert doc["guardian_consent"]["date"] == "2026-11-20" and "동의" in doc["guardian_consent"]["status"]
    assert [c["message"] for c in doc["conversations"]] == ["떡볶이 먹고 싶어", "더 싼 데는?"]
    assert doc["conversations"][0]["location"]["lat"] == HERE["lat"]
    assert [(f["shop_id"], f["shop_name"], f["type"]) for f in doc["feedback"]] == [(1, "행복분식", "favorited")]
    assert [(x["id"], x["turns"]) for x in doc["sessions"]] == [(first["session_id"], 2)]
    assert [(o["id"], o["shop_name"], o["amount"]) for o in doc["orders"]] == [(1, "행복분식", 8000)]
    assert [x["text"] for x in doc["reviews"]] == ["맛있어요", "친절해요"] and doc["favorites"] == []
    assert [e["action"] for e in doc["privacy_log"]] == ["consent"]
    assert doc["retention_days"] == 180
    assert set(doc["guide"]) >= {"profile", "conversations", "feedback", "sessions", "orders", "privacy_log"}
    assert doc["exported_at"].endswith("+09:00")  # the guardian reads Seoul time
    assert _log(world)[-1][:2] == ("export", 1) and _log(world)[-1][2]["conversations"] == 2
    assert client.get("/users/424242/data", headers=ADMIN).status_code == 404


def test_erasure_is_logged_without_the_erased_data_and_the_user_leaves_every_training_set(client, world):
    turn = client.post("/chat", json={"user_id": 1, "message": "떡볶이 먹고 싶어"}).json()
    client.post("/feedback", json={"user_id": 1, "shop_id": 1, "feedback_type": "clicked",
                                   "interaction_id": turn["interaction_id"]})
    r = client.delete("/users/1/data", headers=ADMIN)
    assert r.json() == {"user_id": 1, "interactions": 1, "chat_sessions": 1, "feedback_events": 1}
    (action, user, details, source), = _log(world)
    assert (action, user, source) == ("erase", 1, "api")
    assert details == {"interactions": 1, "chat_sessions": 1, "feedback_events": 1}
    assert 1 in training_exclusions(world)
    doc = client.get("/users/1/data", headers=ADMIN).json()
    assert doc["conversations"] == [] and doc["feedback"] == [] and doc["sessions"] == []
    assert [e["action"] for e in doc["privacy_log"]] == ["erase"]


def test_the_privacy_page_says_what_is_kept_for_how_long_and_is_linked_from_the_chat_page(client):
    page = client.get("/privacy")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    text = page.text
    assert "180일" in text and "만 14세" in text and "보호자" in text and "118" in text and "$" not in text
    assert 'href="/privacy"' in client.get("/").text


def test_the_privacy_page_names_the_operators_contact(world, rules_nlu, tmp_path):
    from fastapi.testclient import TestClient

    from naviyam.api.app import create_app
    from naviyam.config import Settings
    from naviyam.service.runtime import Runtime

    settings = Settings(environment="test", admin_api_key="test-admin-key", var_dir=tmp_path, retention_days=30,
                        privacy_contact="나비얌 개인정보 담당 <privacy@naviyam.kr>")
    app = create_app(settings, engine=world, runtime=Runtime.load(world, settings, parser=rules_nlu))
    with TestClient(app) as c:
        text = c.get("/privacy").text
    assert "30일" in text and "&lt;privacy@naviyam.kr&gt;" in text and "<privacy@" not in text
