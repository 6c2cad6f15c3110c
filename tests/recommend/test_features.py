"""Wide & Deep features: shapes, normalisation and known answers from the seed's specification."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from naviyam.recommend.features import (
    NUM_DIM,
    SEED_FUNNELS,
    WIDE_DIM,
    WIDE_NAMES,
    FeatureBuilder,
    FeatureRows,
    InteractionState,
    RankingQuery,
    UserInfo,
    W,
    age_group,
    budget_compatibility,
    good_shop_feature,
    history_feature,
    rating_feature,
)
from naviyam.recommend.funnels.base import Candidate
from naviyam.retrieval.catalog import ShopCatalog

T = dt.time
NOON = dt.datetime(2024, 5, 15, 12, 30)  # a Wednesday

# id, name, category, district, dong, lat, lon, open, close, good, card, menus[(name, price, dish, signature)]
SHOPS = [
    (1, "행복분식", "분식", "관악구", "행운동", 37.4812, 126.9527, T(10), T(21), True, True,
     [("떡볶이", 4000, "떡볶이", True), ("김밥", 3000, "김밥", False)]),
    (2, "바삭치킨", "치킨", "관악구", "은천동", 37.4850, 126.9420, T(16), T(2), False, True,
     [("후라이드치킨", 18000, "후라이드치킨", True), ("양념치킨", 19000, "양념치킨", False)]),
    (3, "엄마밥상", "한식", "동작구", "사당2동", 37.4830, 126.9760, T(7), T(15), True, True,
     [("김치찌개", 7000, "김치찌개", True), ("비빔밥", 7000, "비빔밥", False)]),
    (4, "샐러드집", "샐러드", "관악구", "행운동", 37.4815, 126.9530, T(0), T(0), False, False,
     [("샐러드볼", 9000, "샐러드볼", True)]),
]


def make_catalog() -> ShopCatalog:
    rows, menus = [], []
    for sid, name, cat, dist, dong, lat, lon, o, c, good, card, ms in SHOPS:
        rows.append({"id": sid, "name": name, "category": cat, "district": dist, "dong": dong, "lat": lat,
                     "lon": lon, "open_time": o, "close_time": c, "closed_days": None, "is_good_shop": good,
                     "accepts_meal_card": card, "brand_id": 7 if sid == 2 else None, "description": None,
                     "created_at": None})
        menus.extend((sid, n, p, d, s) for n, p, d, s in ms)
    return ShopCatalog.from_rows(rows, menus, {}, {}, [])


USERS = {
    10: UserInfo(10, dt.date(2012, 3, 1), "관악구", "행운동", True),   # 12 years old: child
    11: UserInfo(11, dt.date(1985, 1, 1), "동작구", "사당2동", False),  # 39: 30s
}


@pytest.fixture()
def catalog() -> ShopCatalog:
    return make_catalog()


@pytest.fixture()
def state(catalog) -> InteractionState:
    s = InteractionState.empty(USERS, catalog)
    t = dt.datetime(2024, 5, 1, 12)
    s.apply_order(10, 1, 4000, t)
    s.apply_order(10, 1, 4000, t + dt.timedelta(days=1))
    s.apply_order(11, 3, 7000, t)
    s.apply_favorite(10, 2, t)
    for r in (5, 4, 4):
        s.apply_review(11, 3, r, t)
    s.apply_review(10, 2, 3, t)
    return s


def cands(*ids, funnels=None):
    return [Candidate(i, 0.5, dict(funnels or {"content": 0.8, "popularity": 0.4})) for i in ids]


def query(**kw) -> RankingQuery:
    base = dict(user_id=10, filters={}, semantic_query="떡볶이 맛집", when=NOON, position=(37.4812, 126.9527),
                position_source="home")
    base.update(kw)
    return RankingQuery(**base)


def test_vectors_have_the_seed_shapes_and_ranges(catalog, state):
    rows = FeatureBuilder(catalog).build(query(), cands(1, 2, 3, 4), state)
    assert rows.wide.shape == (4, WIDE_DIM) and rows.numerical.shape == (4, NUM_DIM)
    assert rows.wide.dtype == np.float32 and rows.numerical.dtype == np.float32
    assert np.all((rows.wide >= 0) & (rows.wide <= 1)) and np.all((rows.numerical >= 0) & (rows.numerical <= 1))
    # the seed's 17, then item-kNN, funnel ranks, recent popularity, taste, Layer 1, the user's chat feedback
    assert len(WIDE_NAMES) == 33
    assert np.all(rows.wide[:, len(WIDE_NAMES):] == 0.0)  # zero padding
    assert list(rows.shop_id) == [1, 2, 3, 4] and rows.brand_id.tolist() == [-1, 7, -1, -1]
    assert rows.category == ["분식", "치킨", "한식", "샐러드"]
    assert rows.semantic_query == ["떡볶이 맛집"] * 4


def test_numerical_features_are_normalised_as_the_seed_lists(catalog, state):
    rows = FeatureBuilder(catalog).build(query(user_id=11), cands(3), state)
    age, favs, orders, reviews, price, n_menu, rating, n_rev, n_ord, hours = rows.numerical[0].tolist()
    assert age == pytest.approx(39 / 100)
    assert favs == 0 and orders == pytest.approx(1 / 100) and reviews == pytest.approx(3 / 50)
    assert price == pytest.approx(7000 / 50000) and n_menu == pytest.approx(2 / 30)
    assert rating == pytest.approx((13 / 3) / 5) and n_rev == pytest.approx(3 / 1000)
    assert n_ord == pytest.approx(1 / 1000) and hours == pytest.approx(8 / 24)
    round_the_clock = FeatureBuilder(catalog).build(query(), cands(4), state).numerical[0, 9]
    assert round_the_clock == pytest.approx(1.0)


def test_budget_compatibility_is_one_when_a_menu_fits():
    assert budget_compatibility(4000, 5000) == 1.0
    assert budget_compatibility(5000, 5000) == 1.0
    assert budget_compatibility(7500, 5000) == pytest.approx(0.5)
    assert budget_compatibility(12000, 5000) == 0.0
    assert budget_compatibility(4000, None) == 0.5
    assert budget_compatibility(float("inf"), 5000) == 0.0


def test_budget_feature_uses_the_asked_budget_else_the_users_mean_order(catalog, state):
    b = FeatureBuilder(catalog)
    asked = b.build(query(filters={"budget_filter": 5000}), cands(1, 2), state).wide[:, W["budget_compatibility"]]
    assert asked.tolist() == [1.0, 0.0]
    habitual = b.build(query(), cands(1, 3), state).wide[:, W["budget_compatibility"]]  # mean order 4000
    assert habitual[0] == 1.0 and habitual[1] == pytest.approx(1 - 3000 / 4000)
    unknown = b.build(query(user_id=None), cands(1), state).wide[0, W["budget_compatibility"]]
    assert unknown == 0.5


def test_rating_uses_the_three_and_a_half_threshold(catalog, state):
    assert rating_feature(3.4) == 0.0
    assert rating_feature(3.5) == 0.0
    assert rating_feature(4.25) == pytest.approx(0.5)
    assert rating_feature(5.0) == 1.0
    assert rating_feature(None) == 0.0
    rows = FeatureBuilder(catalog).build(query(), cands(2, 3, 4), state)
    assert rows.wide[:, W["rating"]].tolist() == pytest.approx([0.0, (13 / 3 - 3.5) / 1.5, 0.0])


def test_good_shop_feature_is_bias_corrected_to_point_three(catalog, state):
    assert good_shop_feature(True) == pytest.approx(0.3) and good_shop_feature(False) == 0.0
    rows = FeatureBuilder(catalog).build(query(), cands(1, 2), state)
    assert rows.wide[:, W["good_shop"]].tolist() == pytest.approx([0.3, 0.0])


def test_history_distance_location_and_funnels(catalog, state):
    rows = FeatureBuilder(catalog).build(
        query(), [Candidate(1, 0.9, {"collaborative": 0.7, "popularity": 1.0}), Candidate(2, 0.2, {"content": 0.3}),
                  Candidate(3, 0.1, {"contextual": 1.5})], state)
    w = rows.wide
    assert w[0, W["user_x_shop_history"]] == pytest.approx(history_feature(2, False)) == pytest.approx(0.4)
    assert w[1, W["user_x_shop_history"]] == pytest.approx(0.4)  # a favourite counts as two orders
    assert w[2, W["user_x_shop_history"]] == 0.0
    assert w[0, W["distance"]] == pytest.approx(1.0) and w[2, W["distance"]] < 0.2  # 2 km away
    # user 10 lives in 관악구 and ordered twice there
    assert w[0, W["location_x_district"]] == pytest.approx((2 + 1) / 3)
    assert w[2, W["location_x_district"]] == 0.0
    flags = w[:, W["funnel_collaborative"]:W["funnel_collaborative"] + 4]
    scores = w[:, W["score_collaborative"]:W["score_collaborative"] + 4]
    assert flags.tolist() == [[1, 0, 0, 1], [0, 1, 0, 0], [0, 0, 1, 0]]
    np.testing.assert_allclose(scores, [[0.7, 0, 0, 1.0], [0, 0.3, 0, 0], [0, 0, 1.0, 0]], rtol=1e-6)  # clipped to 1
    assert SEED_FUNNELS == ("collaborative", "content", "contextual", "popularity")


def test_dietary_match_and_crosses(catalog, state):
    b = FeatureBuilder(catalog)
    spicy = b.build(query(filters={"dietary_preferences": ["spicy"]}), cands(1, 4), state).wide[:, W["dietary_match"]]
    assert spicy.tolist() == pytest.approx([0.5, 0.0])  # 떡볶이 yes, 김밥 no; salad no
    healthy = b.build(query(filters={"dietary_preferences": ["healthy"]}), cands(4), state).wide[0, W["dietary_match"]]
    assert healthy == 1.0
    assert b.build(query(), cands(1), state).wide[0, W["dietary_match"]] == 0.5
    # the child age group ordered only 분식: 분식 is its top category, 치킨 gets the smoothed share
    w = b.build(query(), cands(1, 2), state).wide
    assert w[0, W["age_group_x_category"]] == 1.0 and w[1, W["age_group_x_category"]] == pytest.approx(1 / 3)
    # lunch: 분식 2 orders, 한식 1 order
    assert w[0, W["time_x_category"]] == 1.0
    dinner = b.build(query(filters={"time_of_day": "dinner"}), cands(1), state).wide[0, W["time_x_category"]]
    assert dinner == 1.0  # no dinner data yet: every category 1.0


def test_cold_start_user_and_unknown_position(catalog, state):
    rows = FeatureBuilder(catalog).build(query(user_id=None, position=None), cands(1, 2), state)
    assert rows.user_id.tolist() == [-1, -1]
    assert rows.wide[:, W["distance"]].tolist() == [0.0, 0.0]
    assert rows.numerical[:, :4].sum() == 0.0
    assert np.isnan(rows.distance_m).all()


def test_counts_are_as_of_the_request(catalog):
    s = InteractionState.empty(USERS, catalog)
    b = FeatureBuilder(catalog)
    before = b.build(query(), cands(1), s)
    s.apply_order(10, 1, 4000, NOON)
    after = b.build(query(), cands(1), s)
    assert before.wide[0, W["user_x_shop_history"]] == 0.0 and after.wide[0, W["user_x_shop_history"]] == 0.2
    assert before.numerical[0, 8] == 0.0 and after.numerical[0, 8] == pytest.approx(1 / 1000)


def test_shop_figures_from_the_steady_table_equal_the_per_shop_reads_and_follow_every_new_event(catalog, state):
    from naviyam.recommend.features.builder import FIGURES_STEADY

    def same(a: FeatureRows, b: FeatureRows) -> bool:
        return np.array_equal(a.wide, b.wide) and np.array_equal(a.numerical, b.numerical)

    b = FeatureBuilder(catalog)
    per_shop = b.build(query(), cands(3, 1, 2, 4), state)
    assert b._figures is None  # a state that just changed is read shop by shop
    for _ in range(FIGURES_STEADY):
        steady = b.build(query(), cands(3, 1, 2, 4), state)
    assert b._figures is not None and same(steady, per_shop)
    assert steady.numerical[0, 6] > 0 and steady.wide[0, W["rating"]] > 0  # shop 3: rated 4.33 by three reviews
    assert steady.numerical[3, 6] == 0.0 and steady.numerical[3, 7] == 0.0  # shop 4: no review, no order

    state.apply_review(10, 4, 5, NOON - dt.timedelta(days=1))  # seen at the very next build
    state.apply_order(11, 4, 9000, NOON - dt.timedelta(days=1))
    after = b.build(query(), cands(3, 1, 2, 4), state)
    assert same(after, FeatureBuilder(catalog).build(query(), cands(3, 1, 2, 4), state))
    assert after.numerical[3, 7] > 0 and after.numerical[3, 8] > 0 and after.wide[3, W["rating"]] == 1.0

    other = InteractionState.empty(USERS, catalog)  # another state: never the first state's table
    assert same(b.build(query(), cands(3, 1, 2, 4), other),
                FeatureBuilder(catalog).build(query(), cands(3, 1, 2, 4), other))


def test_csv_round_trip_keeps_the_features(catalog, state, tmp_path):
    rows = FeatureBuilder(catalog).build(query(), cands(1, 2, 3), state)
    path = tmp_path / "f.csv"
    df = rows.to_frame()
    df.insert(2, "label", [1.0, 0.0, 0.0])
    df.to_csv(path, index=False)
    import pandas as pd

    back = FeatureRows.from_frame(pd.read_csv(path))
    np.testing.assert_allclose(back.wide, rows.wide, rtol=1e-6)
    np.testing.assert_allclose(back.numerical, rows.numerical, rtol=1e-6)
    assert back.category == rows.category and back.brand_id.tolist() == rows.brand_id.tolist()
    assert list(df.columns[:3]) == ["user_id", "shop_id", "label"]


def test_age_groups():
    assert [age_group(a) for a in (None, 8, 13, 18, 19, 35, 47, 60)] == [
        "unknown", "child", "teen", "teen", "20s", "30s", "40s", "50plus"]


def test_recent_popularity_counts_only_the_window_before_the_request():
    from naviyam.recommend.features import InteractionState

    state = InteractionState({}, {1: "분식", 2: "치킨"}, {1: "관악구", 2: "관악구"})
    t0 = dt.datetime(2026, 3, 1, 12)
    for day in (0, 1, 2, 20):
        state.apply_order(5, 1, 5000, t0 + dt.timedelta(days=day))
    state.apply_order(6, 2, 5000, t0 + dt.timedelta(days=21))
    when = t0 + dt.timedelta(days=22)
    counts, total = state.recent_orders([1, 2], when, days=7)
    assert counts.tolist() == [1.0, 1.0] and total == 2
    counts, total = state.recent_orders([1, 2], when, days=30)
    assert counts.tolist() == [4.0, 1.0] and total == 5
    assert state.days_since_last_order([1, 2], when).tolist() == [2.0, 1.0]
    assert state.user_history[5] == {1} and state.user_cat[5]["분식"] == 4


def test_several_windows_at_once_count_what_each_window_counts_alone():
    from naviyam.recommend.features import InteractionState

    state = InteractionState({}, {1: "분식", 2: "치킨", 3: "한식"}, {s: "관악구" for s in (1, 2, 3)})
    t0 = dt.datetime(2026, 3, 1, 12)
    for shop, day in ((1, 0), (1, 5), (1, 12), (1, 29), (1, 31), (2, 25), (2, 30), (2, 40)):
        state.apply_order(5, shop, 5000, t0 + dt.timedelta(days=day))
    for when in (t0, t0 + dt.timedelta(days=30), t0 + dt.timedelta(days=31), t0 + dt.timedelta(days=60)):
        for ids in ([1, 2, 3, 4], np.array([3, 1, 2], dtype=np.int64), []):
            both = state.recent_orders_windows(ids, when, (7, 30))
            for (counts, total), days in zip(both, (7, 30), strict=True):
                alone = state.recent_orders(ids, when, days)
                assert counts.tolist() == alone[0].tolist() and total == alone[1]
                assert counts.tolist() == [float(sum(when - dt.timedelta(days=days) <= t < when
                                                     for t in state.shop_order_times.get(int(s), [])))
                                           for s in ids]


def test_rows_of_shops_and_an_unknown_shop_is_refused(catalog):
    b = FeatureBuilder(catalog)
    ids = [int(s) for s in catalog.ids[::-1]]
    expected = [catalog.row_of[s] for s in ids]
    assert b.rows(ids).tolist() == expected and b.rows(np.array(ids, dtype=np.int64)).tolist() == expected
    with pytest.raises(KeyError, match="999999"):
        b.rows([ids[0], 999999])


def test_window_counts_and_last_orders_from_the_order_slots_equal_the_per_shop_search_and_follow_new_orders():
    import random

    from naviyam.recommend.features import InteractionState

    rng = random.Random(11)
    shops = list(range(1, 30))
    state = InteractionState({}, {s: "분식" for s in shops}, {s: "관악구" for s in shops})
    t0 = dt.datetime(2026, 3, 1, 12)
    # to the microsecond: the slots count days from whole microseconds, exactly as timedelta.total_seconds() does
    times = sorted(t0 + dt.timedelta(minutes=rng.randrange(0, 90 * 24 * 60), microseconds=rng.randrange(60_000_000))
                   for _ in range(400))
    for t in times:
        state.apply_order(rng.randrange(1, 50), rng.choice(shops[:20]), 5000, t)

    def expected(ids, when, days):
        since = when - dt.timedelta(days=days)
        return [float(sum(since <= t < when for t in state.shop_order_times.get(int(s), []))) for s in ids]

    def check(n_reads):
        for _ in range(n_reads):
            when = t0 + dt.timedelta(days=rng.randrange(0, 100), minutes=rng.randrange(0, 1440),
                                     microseconds=rng.randrange(60_000_000))
            ids = rng.sample(shops + [999], 12)  # 999 and shops[20:] never ordered from
            windows = state.recent_orders_windows(ids, when, (7, 30))
            assert [c.tolist() for c, _ in windows] == [  # a second read at the same time: the kept counts
                c.tolist() for c, _ in state.recent_orders_windows(ids, when, (7, 30))]
            for (counts, total), days in zip(windows, (7, 30), strict=True):
                assert counts.tolist() == expected(ids, when, days)
                assert total == sum(when - dt.timedelta(days=days) <= t < when for t in state.order_times)
            before = [[t for t in state.shop_order_times.get(int(s), []) if t < when] for s in ids]
            assert state.days_since_last_order(ids, when).tolist() == [
                max(0.0, (when - b[-1]).total_seconds() / 86400) if b else float("inf") for b in before]

    state.recent_orders_windows([1], t0, (7,))
    assert state._order_slots is None  # the first read searches per shop; the second builds the slots
    check(20)
    assert state._order_slots is not None and state._order_slots.n == 400
    state.apply_order(1, 25, 5000, times[-1] + dt.timedelta(hours=1))  # a new order: counted at once
    check(20)
    assert state._order_slots.n == 401

    # Orders applied out of time order: never counted from slots, still right.
    late = InteractionState({}, {1: "분식", 2: "치킨"}, {1: "관악구", 2: "관악구"})
    for shop, day in ((1, 5), (2, 1), (1, 3)):
        late.apply_order(5, shop, 5000, t0 + dt.timedelta(days=day))
    for _ in range(4):
        (c7, n7), = late.recent_orders_windows([1, 2], t0 + dt.timedelta(days=6), (7,))
        assert c7.tolist() == [2.0, 1.0] and n7 == 3
    assert late._order_slots is None
