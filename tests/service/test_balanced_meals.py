"""Balanced meals (issue 15): after a one-sided week, places with rice, soup or vegetables move up, kindly said,
never over what the child asked for by name."""

import datetime as dt
from collections import Counter

import pytest

from naviyam.core.clock import parse_instant
from naviyam.data.validation import dishes as taxonomy_dishes
from naviyam.db.models import FeedbackEvent, ProductOrder, Shop, ShopMenu, User
from naviyam.db.session import session_scope
from naviyam.service.balance import (
    BALANCED_DISHES,
    BalanceRule,
    WeekMeals,
    applies,
    balance_reason,
    balanced_dish,
    nudge,
    recent_meals,
)
from naviyam.service.chat import ChatRequest, ChatService
from naviyam.service.meal_week import simulate_week

NOW = dt.datetime(2026, 11, 27, 19, 0)  # the suite's pinned Friday, local time


def test_every_balanced_dish_is_a_taxonomy_dish():
    assert set(BALANCED_DISHES) <= taxonomy_dishes()
    assert {"비빔밥", "국밥", "김치찌개", "볶음밥", "샐러드볼"} <= set(BALANCED_DISHES)
    assert not {"떡볶이", "햄버거", "후라이드치킨", "라면", "피자"} & set(BALANCED_DISHES)


def test_a_week_is_one_sided_after_several_meals_of_one_kind_that_make_half_of_them():
    assert WeekMeals(Counter({"분식": 3, "한식": 1})).one_sided(3) == "분식"
    assert WeekMeals(Counter({"분식": 2, "한식": 1})).one_sided(3) is None  # not several yet
    assert WeekMeals(Counter({"분식": 3, "한식": 2, "중식": 2})).one_sided(3) is None  # not half
    assert WeekMeals(Counter({"한식": 6})).one_sided(3) is None  # rice and soup all week is fine
    assert WeekMeals(Counter({"치킨": 4})).one_sided(0) is None  # switched off


def test_the_reason_is_kind_and_names_what_the_week_lacked():
    assert balance_reason("분식", "rice") == "이번 주엔 분식을 많이 먹었으니 밥이 든 메뉴도 골라 봤어요"
    assert balance_reason("치킨", "soup") == "이번 주엔 치킨을 많이 먹었으니 따뜻한 국물 메뉴도 골라 봤어요"
    assert balance_reason("피자", "vegetables") == "이번 주엔 피자를 많이 먹었으니 채소가 든 메뉴도 골라 봤어요"


def test_a_balanced_dish_is_a_main_dish_within_the_budget():
    menus = [("공기밥", None, 1_000), ("제육덮밥", "덮밥", 8_000), ("김치찌개", "김치찌개", 12_000)]
    assert balanced_dish("한식", menus) == ("제육덮밥", "rice")
    assert balanced_dish("한식", menus, budget=7_000) is None
    assert balanced_dish("분식", [("떡볶이", "떡볶이", 5_000)]) is None
    assert balanced_dish("도시락", [("불고기도시락", None, 6_000)]) == ("불고기도시락", "rice")


def test_what_the_child_asked_for_by_name_is_never_nudged():
    assert applies({})
    assert applies({"payment_method": "meal_card", "budget_filter": 9000, "location_filter": {"near": "home"}})
    for filters in ({"category": "분식"}, {"menu": "떡볶이"}, {"sort": "price"}, {"shop_name": "김밥천국"}):
        assert not applies(filters), filters
    assert not applies({}, refinement=True)


def _small_world(engine):
    with session_scope(engine) as s:
        s.add(User(id=1, birthday=dt.date(2016, 3, 1), district="관악구", is_meal_card_holder=True))
        shops = [(1, "떡볶이나라", "분식", [("떡볶이", "떡볶이", 5_000)]),
                 (2, "튀김천국", "분식", [("모둠튀김", "튀김", 6_000)]),
                 (3, "버거왕", "패스트푸드", [("햄버거", "햄버거", 6_500)]),
                 (4, "엄마밥상", "한식", [("김치찌개", "김치찌개", 8_000), ("공기밥", None, 1_000)]),
                 (5, "초록샐러드", "샐러드", [("닭가슴살샐러드", "닭가슴살샐러드", 8_500)]),
                 (6, "김밥집", "분식", [("참치주먹밥", "주먹밥", 3_000)])]
        for sid, name, cat, menus in shops:
            s.add(Shop(id=sid, name=name, category=cat, district="관악구", lat=37.48, lon=126.93,
                       open_time=dt.time(9), close_time=dt.time(22), accepts_meal_card=True))
            s.flush()
            for j, (mname, dish, price) in enumerate(menus):
                s.add(ShopMenu(id=sid * 10 + j, shop_id=sid, name=mname, dish=dish, price=price))
        s.flush()
        now_utc = parse_instant(NOW).replace(tzinfo=None)  # NOW in UTC, whatever instant the suite runs at
        for i, (sid, days_ago) in enumerate([(1, 1), (2, 2), (1, 3), (4, 10), (3, 12)]):
            s.add(ProductOrder(id=i + 1, user_id=1, shop_id=sid, amount=5000, payment_method="meal_card",
                               ordered_at=now_utc - dt.timedelta(days=days_ago)))
        s.add(FeedbackEvent(user_id=1, shop_id=6, feedback_type="ordered", created_at=now_utc - dt.timedelta(hours=5)))
        s.add(FeedbackEvent(user_id=1, shop_id=4, feedback_type="clicked", created_at=now_utc - dt.timedelta(hours=4)))


def _recs(*ids, cats):
    return [{"shop_id": i, "name": f"shop {i}", "category": cats[i], "reason": "가까워요",
             "dishes": [{"name": "x", "price": 1}]} for i in ids]


CATS = {1: "분식", 2: "분식", 3: "패스트푸드", 4: "한식", 5: "샐러드", 6: "분식"}


def test_recent_meals_are_the_last_seven_days_of_orders_and_ordered_events(sqlite_engine):
    _small_world(sqlite_engine)
    with session_scope(sqlite_engine) as s:
        week = recent_meals(s, 1, now=NOW)
        assert week.kinds == Counter({"분식": 4})  # three orders and one 'ordered' event; older ones and clicks not
        assert recent_meals(s, 1, now=NOW, days=30).kinds == Counter({"분식": 4, "한식": 1, "패스트푸드": 1})
        assert recent_meals(s, None, now=NOW).total == 0


def test_after_a_week_of_bunsik_rice_and_soup_places_move_up_with_the_kind_reason(sqlite_engine):
    _small_world(sqlite_engine)
    with session_scope(sqlite_engine) as s:
        week = recent_meals(s, 1, now=NOW)
        recs = _recs(1, 2, 3, 6, 4, 5, cats=CATS)
        out = nudge(s, recs, week, BalanceRule(min_meals=3, boost=4))
    assert [r["shop_id"] for r in out] == [4, 1, 5, 2, 3, 6]  # 4 and 5 moved up four places, stably
    assert out[0]["reason"] == "이번 주엔 분식을 많이 먹었으니 따뜻한 국물 메뉴도 골라 봤어요"
    assert out[0]["dishes"][0] == {"name": "김치찌개", "price": 8_000}
    assert out[2]["reason"] == "이번 주엔 분식을 많이 먹었으니 채소가 든 메뉴도 골라 봤어요"
    # a 분식집's 주먹밥 is rice, but more 분식 is not variety
    assert "balanced_dish" not in out[5] and out[5]["reason"] == "가까워요"


def test_no_nudge_for_a_varied_week_or_when_switched_off(sqlite_engine):
    _small_world(sqlite_engine)
    with session_scope(sqlite_engine) as s:
        recs = _recs(1, 2, 3, 6, 4, 5, cats=CATS)
        varied = WeekMeals(Counter({"분식": 2, "한식": 2, "중식": 1}))
        assert nudge(s, recs, varied, BalanceRule()) == recs
        assert nudge(s, recs, recent_meals(s, 1, now=NOW), BalanceRule(min_meals=0)) == recs


@pytest.fixture(scope="module")
def card_child(trained_world):
    from sqlalchemy import select

    with session_scope(trained_world.engine) as s:
        return s.scalar(select(User.id).where(User.is_meal_card_holder.is_(True),
                                               User.birthday > dt.date(2013, 1, 1)).order_by(User.id))


@pytest.fixture
def fresh_service(runtime, trained_world):
    """A chat service of its own, so that swapping its meal history touches no other test."""
    return ChatService(trained_world.engine, runtime.parser, runtime.recommender, settings=trained_world.settings)


def test_a_vague_request_after_a_bunsik_week_gets_a_balanced_place_but_a_named_dish_does_not(
        fresh_service, card_child):
    fresh_service.meal_history = lambda _db, _uid, *, now, days: WeekMeals(Counter({"분식": 5}))
    fresh_service.balance = BalanceRule(min_meals=3, boost=50)
    vague = fresh_service.chat(ChatRequest(message="배고파", user_id=card_child))
    nudged = [r for r in vague.recommendations if r.get("balanced_dish")]
    assert nudged and all(r["category"] != "분식" for r in nudged)
    assert all(r["reason"].startswith("이번 주엔 분식을 많이 먹었으니") for r in nudged)
    assert all(r["accepts_meal_card"] for r in vague.recommendations)  # the card rules still hold
    named = fresh_service.chat(ChatRequest(message="떡볶이 먹고 싶어", user_id=card_child))
    assert named.recommendations and not any(r.get("balanced_dish") for r in named.recommendations)
    fresh_service.balance = BalanceRule(min_meals=0)
    off = fresh_service.chat(ChatRequest(message="배고파", user_id=card_child))
    assert not any(r.get("balanced_dish") for r in off.recommendations)


def test_a_simulated_week_reports_both_arms_and_the_nudge_does_not_narrow_the_meals(fresh_service, trained_world):
    from sqlalchemy import select

    with session_scope(trained_world.engine) as s:
        kids = list(s.scalars(select(User.id).where(User.is_meal_card_holder.is_(True),
                                                     User.birthday > dt.date(2013, 1, 1)).order_by(User.id).limit(4)))
    arms = simulate_week(fresh_service, kids, start=dt.date(2026, 11, 28), days=3, seed=3)
    without, with_ = arms["without"], arms["with"]
    assert without.meals + without.no_answer == with_.meals + with_.no_answer == 4 * 3 * 3
    assert without.nudged_answers == 0 and with_.nudged_answers > 0
    assert 0 < without.top_kind_share <= 1 and 0 <= without.balanced_share <= 1
    assert with_.balanced_share >= without.balanced_share
    assert fresh_service.balance == BalanceRule.from_settings(trained_world.settings)  # restored
