"""Issue 15: "더 가까운 곳은?" shows only shops nearer than the nearest one shown (or says there is none), and
``/recommendations`` applies the card holder's defaults as /chat does."""

import datetime as dt

import pytest
from sqlalchemy import select

from naviyam.db.models import User
from naviyam.db.session import session_scope
from naviyam.service.chat import ChatRequest
from naviyam.service.policy import Asker, per_meal_amount, plan_search

NOW = dt.datetime(2026, 11, 27, 19, 0)
SPOT = (37.4842, 126.9297)  # 신림역, where the small world has many shops


@pytest.fixture(scope="module")
def service(runtime):
    return runtime.chat_service()


@pytest.fixture(scope="module")
def people(trained_world):
    with session_scope(trained_world.engine) as s:
        users = list(s.scalars(select(User).order_by(User.id)))
        card = [(u.id, per_meal_amount(s, u.district)) for u in users if u.is_meal_card_holder]
        other = [u.id for u in users if not u.is_meal_card_holder and (NOW.date() - u.birthday).days // 365 >= 20]
        return card, other


def test_closer_keeps_only_shops_nearer_than_the_nearest_shown():
    plan = plan_search("더 가까운 곳은?", {}, Asker(), per_meal=9000, state={"last_distances": [850.0, 420.5, 990.0]})
    assert plan.closer and plan.closer_than == 420.5
    assert plan.filters["_closer_than"] == 419.5 and plan.filters["sort"] == "distance"
    first_time = plan_search("더 가까운 곳은?", {}, Asker(), per_meal=9000, state={})
    assert first_time.closer and first_time.closer_than is None and "_closer_than" not in first_time.filters


@pytest.mark.parametrize("message", ["분식 먹고 싶어", "급식카드 되는 곳", "배고파"])
def test_closer_after_a_list_shows_only_nearer_shops_or_says_there_are_none(service, people, message):
    uid, _ = people[0][0]
    first = service.chat(ChatRequest(message=message, user_id=uid, lat=SPOT[0], lon=SPOT[1], now=NOW))
    assert first.recommendations
    nearest = min(r["distance_m"] for r in first.recommendations)
    closer = service.chat(ChatRequest(message="더 가까운 곳은?", user_id=uid, session_id=first.session_id,
                                      lat=SPOT[0], lon=SPOT[1], now=NOW))
    if closer.recommendations:
        assert all(r["distance_m"] < nearest for r in closer.recommendations)
        assert "더 가까운" in closer.response
        again = service.chat(ChatRequest(message="더 가까운 곳은?", user_id=uid, session_id=first.session_id,
                                         lat=SPOT[0], lon=SPOT[1], now=NOW))
        nearer = min(r["distance_m"] for r in closer.recommendations)
        assert all(r["distance_m"] < nearer for r in again.recommendations)
        if not again.recommendations:
            assert "더 가까운 곳은 찾지 못했어요" in again.response
    else:
        assert "더 가까운 곳은 찾지 못했어요" in closer.response


def test_closer_from_home_without_a_location(service, people):
    uid, _ = people[0][1]
    first = service.chat(ChatRequest(message="급식카드 되는 곳 추천해줘", user_id=uid, now=NOW))
    assert first.recommendations
    nearest = min(r["distance_m"] for r in first.recommendations)
    closer = service.chat(ChatRequest(message="더 가까운 곳은?", user_id=uid, session_id=first.session_id, now=NOW))
    assert all(r["distance_m"] < nearest for r in closer.recommendations)
    assert closer.recommendations or "더 가까운 곳은 찾지 못했어요" in closer.response


def test_recommendations_for_a_card_holder_are_card_shops_within_the_per_meal_amount(service, people):
    for uid, per_meal in people[0][:4]:
        res = service.recommend_for(uid, {"filters": {}}, now=NOW, top_k=5)
        assert res.recommendations
        assert res.metadata["meal_card_budget"] == per_meal
        assert all(r["accepts_meal_card"] for r in res.recommendations)
        if "budget_filter" not in res.relaxed_filters:
            assert all(r["cheapest_main"] <= per_meal for r in res.recommendations)


def test_recommendations_card_defaults_give_way_to_the_callers_budget_and_cash(service, people):
    uid, _ = people[0][0]
    own = service.recommend_for(uid, {"filters": {"budget_filter": 20000}}, now=NOW, top_k=5)
    assert own.metadata["meal_card_budget"] is None
    assert own.metadata["applied_filters"]["budget_filter"] == 20000
    cash = service.recommend_for(uid, {"text": "카드 말고 현금으로", "filters": {}}, now=NOW, top_k=5)
    assert cash.metadata["meal_card_budget"] is None and "payment_method" not in cash.metadata["applied_filters"]


def test_recommendations_for_others_have_no_card_defaults(service, people):
    uid = people[1][0]
    res = service.recommend_for(uid, {"filters": {}}, now=NOW, top_k=5)
    assert res.metadata["meal_card_budget"] is None
    assert "payment_method" not in res.metadata["applied_filters"]
    asked = service.recommend_for(None, {"filters": {"payment_method": "meal_card"}}, now=NOW, top_k=5)
    assert asked.metadata["meal_card_budget"] == 9000  # asking for the card means its meal, as in /chat
    assert all(r["accepts_meal_card"] for r in asked.recommendations)


def test_a_meal_request_puts_meal_places_before_cafes_and_dessert_shops():
    from naviyam.service.policy import arrange, wants_a_meal

    recs = [{"shop_id": 1, "category": "디저트", "open_now": True}, {"shop_id": 2, "category": "카페", "open_now": True},
            {"shop_id": 3, "category": "한식", "open_now": True}, {"shop_id": 4, "category": "분식", "open_now": False}]
    assert wants_a_meal({"category": "치킨", "payment_method": "meal_card"})
    assert not wants_a_meal({"category": "디저트"}) and not wants_a_meal({"menu": "빙수"})
    assert not wants_a_meal({"time_of_day": "snack"})
    meal = arrange(recs, sort=None, now_request=True, top_k=4, meal=True)
    assert [r["shop_id"] for r in meal] == [3, 1, 2, 4]  # open first, then meals before snacks
    assert [r["shop_id"] for r in arrange(recs, sort=None, now_request=True, top_k=4)] == [1, 2, 3, 4]
