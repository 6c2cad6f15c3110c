"""The user's own chat feedback as ranker features: category affinity, history with a shop, dismissals."""

from __future__ import annotations

import datetime as dt

import pytest

from naviyam.recommend.features import (
    FeatureBuilder,
    InteractionState,
    RankingQuery,
    UserInfo,
    W,
)
from naviyam.recommend.funnels.base import Candidate
from naviyam.retrieval.catalog import ShopCatalog

T = dt.time
NOON = dt.datetime(2024, 5, 15, 12, 30)
# id, category: three Korean-food shops, a fourth one never fed back on, and a pizza shop
SHOPS = [(1, "한식"), (2, "한식"), (3, "한식"), (4, "한식"), (5, "피자")]
USERS = {10: UserInfo(10, dt.date(2012, 3, 1), "관악구", "행운동", True),
         11: UserInfo(11, dt.date(2011, 6, 1), "관악구", "행운동", False)}


@pytest.fixture()
def catalog() -> ShopCatalog:
    rows, menus = [], []
    for sid, cat in SHOPS:
        rows.append({"id": sid, "name": f"가게{sid}", "category": cat, "district": "관악구", "dong": "행운동",
                     "lat": 37.48 + sid / 1000, "lon": 126.95, "open_time": T(10), "close_time": T(21),
                     "closed_days": None, "is_good_shop": False, "accepts_meal_card": True, "brand_id": None,
                     "description": None, "created_at": None})
        menus.append((sid, "대표메뉴", 8000, None, True))
    return ShopCatalog.from_rows(rows, menus, {}, {}, [])


def features(catalog, state, user_id=10):
    q = RankingQuery(user_id=user_id, filters={}, semantic_query="", when=NOON)
    rows = FeatureBuilder(catalog).build(q, [Candidate(s, 0.5, {"content": 0.5}) for s, _ in SHOPS], state)
    return {int(s): rows.wide[i] for i, s in enumerate(rows.shop_id)}


def test_clicks_on_three_korean_shops_raise_the_category_affinity_of_a_korean_shop_over_a_pizza_shop(catalog):
    state = InteractionState.empty(USERS, catalog)
    before = features(catalog, state)
    assert before[4][W["user_x_category"]] == before[5][W["user_x_category"]] == 0.0
    for sid in (1, 2, 3):
        state.apply_feedback(10, sid, "clicked", NOON - dt.timedelta(days=1))
    after = features(catalog, state)
    assert after[4][W["user_x_category"]] == pytest.approx(1.0)
    assert after[5][W["user_x_category"]] == 0.0
    # the shop never fed back on gets no history of its own; the clicked ones do
    assert after[4][W["user_x_shop_history"]] == 0.0 and after[4][W["user_x_shop_feedback"]] == 0.0
    assert after[1][W["user_x_shop_history"]] == pytest.approx(1 / 5)
    assert after[1][W["user_x_shop_feedback"]] == pytest.approx(1 / 5)


def test_chat_feedback_adds_to_the_order_history_of_the_category_share(catalog):
    state = InteractionState.empty(USERS, catalog)
    state.apply_order(10, 5, 9000, NOON - dt.timedelta(days=10))  # one pizza order
    state.apply_feedback(10, 1, "clicked", NOON - dt.timedelta(days=1))
    state.apply_feedback(10, 1, "ordered", NOON - dt.timedelta(days=1))
    f = features(catalog, state)
    assert f[2][W["user_x_category"]] == pytest.approx(2 / 3)  # (0 + 2) / (1 + 2)
    assert f[5][W["user_x_category"]] == pytest.approx(1 / 3)
    # a click, an order and a favourite: 1 + 1 + 2 on top of nothing else
    state.apply_feedback(10, 1, "favorited", NOON - dt.timedelta(days=1))
    assert features(catalog, state)[1][W["user_x_shop_history"]] == pytest.approx(4 / 5)


def test_dismissals_are_counted_apart_and_saturate_at_two(catalog):
    state = InteractionState.empty(USERS, catalog)
    state.apply_feedback(10, 5, "dismissed", NOON - dt.timedelta(days=2))
    f = features(catalog, state)
    assert f[5][W["user_x_shop_dismissed"]] == pytest.approx(0.5)
    assert f[5][W["user_x_shop_history"]] == 0.0 and f[5][W["user_x_category"]] == 0.0
    state.apply_feedback(10, 5, "dismissed", NOON - dt.timedelta(days=1))
    state.apply_feedback(10, 5, "dismissed", NOON - dt.timedelta(hours=1))
    assert features(catalog, state)[5][W["user_x_shop_dismissed"]] == 1.0


def test_feedback_counts_for_its_own_user_only(catalog):
    state = InteractionState.empty(USERS, catalog)
    for sid in (1, 2, 3):
        state.apply_feedback(10, sid, "ordered", NOON - dt.timedelta(days=1))
    other = features(catalog, state, user_id=11)
    fresh = features(catalog, InteractionState.empty(USERS, catalog), user_id=11)
    for sid, _ in SHOPS:
        assert (other[sid] == fresh[sid]).all()
    assert not state.shop_orders and not state.order_times  # no shop popularity from feedback
    state.apply_feedback(10, 1, "rated")  # a rating is about the answer: no feature reads it
    assert state.user_shop_feedback[(10, 1)] == 1.0
