import pytest
from sqlalchemy import func, select

from naviyam.db.models import FeedbackEvent, Interaction
from naviyam.db.session import session_scope


def _count(engine):
    with session_scope(engine) as s:
        return s.scalar(select(func.count(FeedbackEvent.id)))


def test_feedback_is_committed_before_202(client, world):
    r = client.post("/feedback", json={"user_id": 1, "shop_id": 1, "feedback_type": "clicked"})
    assert r.status_code == 202
    event_id = r.json()["id"]
    with session_scope(world) as s:
        ev = s.get(FeedbackEvent, event_id)
        assert ev.shop_id == 1 and ev.feedback_type == "clicked" and ev.user_id == 1 and ev.created_at is not None


def test_feedback_links_to_its_interaction(client, world):
    with session_scope(world) as s:
        it = Interaction(session_id="s1", user_id=1, message="떡볶이", intent="FOOD_RECOMMENDATION")
        s.add(it)
        s.flush()
        iid = it.id
    r = client.post("/feedback", json={"user_id": 1, "shop_id": 1, "feedback_type": "rated",
                                       "satisfaction_score": 5, "interaction_id": iid})
    assert r.status_code == 202
    r = client.post("/feedback", json={"user_id": 2, "shop_id": 1, "feedback_type": "clicked", "interaction_id": iid})
    assert r.status_code == 422 and "다른 사용자" in r.json()["detail"]


@pytest.mark.parametrize("body,needle", [
    ({"user_id": 1, "shop_id": 999, "feedback_type": "clicked"}, "가게가 없어요"),
    ({"user_id": 1, "shop_id": 1, "feedback_type": "liked"}, "feedback_type"),
    ({"user_id": 1, "shop_id": 1, "feedback_type": "rated"}, "satisfaction_score"),
    ({"user_id": 1, "shop_id": 1, "feedback_type": "rated", "satisfaction_score": 9}, "satisfaction_score"),
    ({"user_id": 1, "shop_id": 1, "feedback_type": "clicked", "interaction_id": 12345}, "대화 기록이 없어요"),
    ({"user_id": True, "shop_id": 1, "feedback_type": "clicked"}, "user_id"),
    ({"user_id": " ", "shop_id": 1, "feedback_type": "clicked"}, "user_id"),
    ({"shop_id": 1}, "feedback_type"),
])
def test_bad_feedback_is_422_with_a_message_and_nothing_stored(client, world, body, needle):
    before = _count(world)
    r = client.post("/feedback", json=body)
    assert r.status_code == 422
    assert needle in r.json()["detail"]
    assert _count(world) == before


def test_feedback_body_that_is_not_json_is_422(client):
    r = client.post("/feedback", content=b"not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 422
