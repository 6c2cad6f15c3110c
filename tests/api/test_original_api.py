"""The original design's clients (design notes 46.A/46.B) work unchanged, next to today's API.

The request bodies below are the notes' examples as a client would send them (46.A's request time, a
Python datetime in the notes, serialised as ISO text, as any JSON client does).
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from naviyam.api.app import create_app
from naviyam.db.models import FeedbackEvent, Interaction
from naviyam.db.session import session_scope

#: 46.A: the chatbot's output for "아이랑 갈만한 건강한 저녁 식당 추천해줘", verbatim.
CHATBOT_OUTPUT = {
    "original_query": "아이랑 갈만한 건강한 저녁 식당 추천해줘",
    "semantic_query": "가족 건강식 저녁 식당",
    "filters": {"dietary_preferences": ["건강식"], "companion": "family", "time_of_day": "dinner"},
    "budget_filter": None,
    "location_filter": {"district": "관악구"},
    "intent": "FOOD_RECOMMENDATION",
    "confidence": 0.95,
}
#: 46.A: the recommendation engine's input, verbatim (current_time as ISO text).
RECOMMENDATION_INPUT = {
    "user_id": "user_863",
    "user_profile": {"id": 863, "birthday": "1985-03-20", "location": {"city": "서울특별시"},
                     "shop_favorite_count": 8, "total_orders": 25, "review_count": 12},
    "chatbot_output": CHATBOT_OUTPUT,
    "context": {"current_time": "2026-11-27T19:00:00", "user_location": "관악구", "time_of_day": "dinner"},
    "top_k": 5,
}


@pytest.fixture(scope="module")
def client(trained_world, runtime):
    app = create_app(trained_world.settings, engine=trained_world.engine, runtime=runtime)
    with TestClient(app) as c:
        yield c


def test_the_original_chat_request_with_a_string_user_id(client):
    r = client.post("/chat", json={"user_id": "user_863", "message": "아이랑 갈만한 건강한 저녁 식당 추천해줘",
                                   "context": {}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["response"] and isinstance(body["recommendations"], list) and "debug" not in body
    # the original API has no session id: the same user string continues the same conversation
    again = client.post("/chat", json={"user_id": "user_863", "message": "더 싼 데는?", "context": {}})
    assert again.status_code == 200 and again.json()["session_id"] == body["session_id"]


def test_debug_true_returns_the_original_debug_block(client):
    r = client.post("/chat?debug=true", json={"user_id": "user_863", "message": "떡볶이 먹고 싶어", "context": {}})
    assert r.status_code == 200, r.text
    debug = r.json()["debug"]
    assert debug["chatbot_analysis"]["filters"].get("menu") == "떡볶이"
    meta = debug["recommendation_metadata"]
    assert [s["shop_id"] for s in meta["shops"]] == [x["shop_id"] for x in r.json()["recommendations"]]


def test_the_original_recommendation_request_verbatim(client, trained_world):
    r = client.post("/recommendations", json=RECOMMENDATION_INPUT)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user_id"] == "user_863" and body["original_query"] == CHATBOT_OUTPUT["original_query"]
    assert 1 <= len(body["recommendations"]) <= 5 and len(body["explanations"]) == len(body["recommendations"])
    # 관악구 from location_filter, the Korean "건강식" read as the contract's healthy
    with session_scope(trained_world.engine) as s:
        it = s.get(Interaction, body["metadata"]["interaction_id"])
        assert it.user_id == 863 and it.nlu["filters"]["dietary_preferences"] == ["healthy"]
        assert it.nlu["filters"]["location_filter"] == {"district": "관악구"}
    if "location_filter" not in body["metadata"]["relaxed_filters"]:
        assert {x["district"] for x in body["recommendations"]} == {"관악구"}


def test_a_filter_outside_the_contract_is_a_korean_422(client, trained_world):
    bad = {**RECOMMENDATION_INPUT, "chatbot_output": {**CHATBOT_OUTPUT, "filters": {"category": "우주음식",
                                                                                 "party_size": 0}}}
    r = client.post("/recommendations", json=bad)
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert "category: '우주음식'는 음식 분류에 없는 종류예요" in detail
    assert "party_size: 1 이상의 정수여야 해요" in detail
    assert not any(word in detail for word in ("not in", "must be", "unknown"))


def test_a_birthday_sent_as_a_number_is_a_422_not_a_unix_time(client):
    # found by the schema fuzzer: pydantic read 2.4e-36 as seconds since 1970 and answered 200
    for birthday in (2.3667433780540394e-36, 1_420_070_400, True):
        bad = {**RECOMMENDATION_INPUT, "user_profile": {**RECOMMENDATION_INPUT["user_profile"], "birthday": birthday}}
        r = client.post("/recommendations", json=bad)
        assert r.status_code == 422, (birthday, r.text)
        assert "YYYY-MM-DD" in r.text
    ok = {**RECOMMENDATION_INPUT, "user_profile": {**RECOMMENDATION_INPUT["user_profile"], "birthday": "2015-03-01"}}
    assert client.post("/recommendations", json=ok).status_code == 200


def test_the_original_feedback_query_form(client, trained_world):
    shop_id = client.post("/recommendations", json=RECOMMENDATION_INPUT).json()["recommendations"][0]["shop_id"]
    r = client.post(f"/feedback?user_id=user_863&shop_id={shop_id}&feedback_type=clicked")
    assert r.status_code == 202, r.text
    with session_scope(trained_world.engine) as s:
        ev = s.get(FeedbackEvent, r.json()["id"])
        assert (ev.user_id, ev.shop_id, ev.feedback_type, ev.app_user) == (863, shop_id, "clicked", None)
    bad = client.post("/feedback?user_id=user_863&shop_id=abc&feedback_type=clicked")
    assert bad.status_code == 422 and "shop_id" in bad.json()["detail"]
    assert client.post("/feedback").status_code == 422


def test_an_app_user_string_is_remembered_across_turns_and_in_feedback(client, trained_world):
    first = client.post("/chat", json={"user_id": "kakao_5f2c91", "message": "치킨 먹고 싶어"}).json()
    second = client.post("/chat", json={"user_id": "kakao_5f2c91", "message": "더 가까운 곳은?"}).json()
    assert first["session_id"] == second["session_id"]
    other = client.post("/chat", json={"user_id": "kakao_other", "message": "치킨 먹고 싶어"}).json()
    assert other["session_id"] != first["session_id"]
    shop = (first["recommendations"] or second["recommendations"])[0]["shop_id"]
    fb = client.post("/feedback", json={"user_id": "kakao_5f2c91", "shop_id": shop, "feedback_type": "ordered"})
    assert fb.status_code == 202
    with session_scope(trained_world.engine) as s:
        turns = list(s.scalars(select(Interaction).where(Interaction.app_user == "kakao_5f2c91")))
        assert len(turns) == 2 and {t.user_id for t in turns} == {None}
        assert s.get(FeedbackEvent, fb.json()["id"]).app_user == "kakao_5f2c91"
