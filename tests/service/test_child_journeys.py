"""Issue 15's bar on a small world: meal-card children get card shops within their per-meal amount, open first,
and "더 싼 데는?" / "다른 데는?" work."""

import datetime as dt

import pytest
from sqlalchemy import select

from naviyam.db.models import MealCardLimit, User
from naviyam.db.session import session_scope
from naviyam.service.chat import ChatRequest
from naviyam.service.journeys import FIRST_MESSAGES, check_journey, summarise
from naviyam.service.policy import per_meal_amount

TODAY = dt.date(2026, 11, 27)


@pytest.fixture(scope="module")
def service(runtime):
    return runtime.chat_service()


@pytest.fixture(scope="module")
def card_children(trained_world):
    with session_scope(trained_world.engine) as s:
        kids = [u for u in s.scalars(select(User).where(User.is_meal_card_holder.is_(True)).order_by(User.id))
                if (TODAY - u.birthday).days // 365 <= 13]
        return [(u.id, per_meal_amount(s, u.district)) for u in kids]


def test_the_sample_world_fills_the_meal_card_table(trained_world):
    with session_scope(trained_world.engine) as s:
        rows = {r.district: r for r in s.scalars(select(MealCardLimit))}
        assert rows["송파구"].per_meal == 9_500 and rows["송파구"].per_day == 28_500
        assert per_meal_amount(s, "없는구") == 9_000


def test_card_children_journeys_keep_every_promise(service, card_children):
    from naviyam.core import clock

    assert len(card_children) >= 6
    # One frozen moment for all journeys: a shop that opens or closes while a slow machine works through
    # them must not change the answer between a first question and its "더 싼 데는?".
    with clock.pinned(clock.now()):
        results = [check_journey(service, uid, msg, per_meal)
                   for i, (uid, per_meal) in enumerate(card_children[:6])
                   for msg in FIRST_MESSAGES[i * 3:(i + 1) * 3]]
    summary = summarise(results)
    assert summary["failed"] == 0, summary["examples"]


def test_first_answer_says_the_card_amount_and_shows_the_asked_dish_with_its_price(service, card_children):
    uid, per_meal = card_children[0]
    r = service.chat(ChatRequest(message="떡볶이 먹고 싶어", user_id=uid))
    assert r.recommendations
    if "budget_filter" not in r.relaxed_filters:
        assert f"급식카드 한 끼 {per_meal:,}원 안에서" in r.response
    for rec in r.recommendations:
        assert rec["dishes"] and all(d["price"] > 0 for d in rec["dishes"])
        if rec.get("serves_menu", True) and any("떡볶이" in d["name"] for d in rec["dishes"]):
            assert "떡볶이" in rec["dishes"][0]["name"]


def test_cash_and_a_bigger_budget_override_the_card(service, card_children):
    uid, _ = card_children[1]
    first = service.chat(ChatRequest(message="치킨 먹고 싶어", user_id=uid))
    assert all(x["accepts_meal_card"] for x in first.recommendations)
    cash = service.chat(ChatRequest(message="카드 말고 현금으로 2만원까지 괜찮아", user_id=uid,
                                    session_id=first.session_id))
    assert cash.recommendations and "급식카드 한 끼" not in cash.response
    assert all(x["cheapest_main"] <= 20_000 for x in cash.recommendations)


def test_a_vague_hungry_message_from_a_known_child_gets_food_and_one_follow_up(service, card_children):
    uid, _ = card_children[2]
    for text in ("배고파", "뭐 먹지", "아무거나", "추천해줘"):
        r = service.chat(ChatRequest(message=text, user_id=uid))
        assert r.recommendations, text
        assert "먹고 싶은 음식이 있으면 말해 줘요" in r.response


def test_an_unknown_user_with_nothing_to_go_on_gets_a_question(service):
    r = service.chat(ChatRequest(message="배고파"))
    assert not r.recommendations and r.path == "clarify"


def test_closing_soon_is_said(service, card_children, trained_world):
    from naviyam.core import clock

    uid, _ = card_children[3]
    # 20:40 on the pinned Friday: shops closing at 21:00 close within 30 minutes.
    with clock.pinned(dt.datetime(2026, 11, 27, 20, 40)):
        r = service.chat(ChatRequest(message="급식카드 되는 곳 추천해줘", user_id=uid))
    soon = [x for x in r.recommendations if x.get("closing_soon")]
    assert all(x["open_now"] for x in soon)
    if soon:
        assert "곧 문을 닫으니" in r.response


def test_sort_is_honoured_on_recommendations_endpoint(service):
    now = dt.datetime(2026, 11, 27, 19, 0)
    for key, field, sign in (("price", "cheapest_main", 1), ("distance", "distance_m", 1), ("rating", "rating", -1)):
        res = service.recommend_for(None, {"filters": {"category": "분식", "sort": key}}, now=now,
                                    lat=37.4842, lon=126.9297, top_k=5)
        opened = [r for r in res.recommendations if r["open_now"]]
        values = [sign * (r[field] or 0) for r in opened]
        assert values == sorted(values), key
