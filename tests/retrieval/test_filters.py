"""Hard filters have known answers on the hand-made catalog; relaxation follows the documented order."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shop_fixtures import SHOPS, ids

from naviyam.core.geo import haversine_m
from naviyam.hours import is_open
from naviyam.retrieval.filters import RELAXATION_ORDER, apply_filters, build_spec, filter_mask
from naviyam.retrieval.location import LocationResolver, Place

MON = dt.datetime(2026, 11, 23)  # a Monday
NOON = MON.replace(hour=12)


@pytest.fixture(scope="module")
def resolver(catalog):
    return LocationResolver(catalog)


def allowed(catalog, resolver, filters, *, now=NOON, lat=None, lon=None, home=None):
    spec, notes = build_spec(filters, resolver, now=now, lat=lat, lon=lon, home=home)
    assert not notes, notes
    return ids(catalog, filter_mask(catalog, spec))


def test_category_filter(catalog, resolver):
    assert allowed(catalog, resolver, {"category": "치킨"}) == {3, 4}


def test_menu_filter_keeps_shops_serving_the_dish(catalog, resolver):
    assert allowed(catalog, resolver, {"menu": "김밥"}) == {1, 2}
    assert allowed(catalog, resolver, {"menu": "김밥", "category": "분식"}) == {1, 2}
    assert allowed(catalog, resolver, {"menu": "양념치킨"}) == {3, 4}


def test_budget_filter_excludes_shops_without_cheap_menu(catalog, resolver):
    # shop 8's free 백반 (price 0) is not a real menu; its cheapest real menu is 8,000
    assert allowed(catalog, resolver, {"budget_filter": 5000}) == {1, 2, 4, 10}
    assert 8 not in allowed(catalog, resolver, {"budget_filter": 7999})
    assert 8 in allowed(catalog, resolver, {"budget_filter": 8000})


def test_meal_card_and_good_shop_filters(catalog, resolver):
    assert allowed(catalog, resolver, {"payment_method": "meal_card"}) == {1, 2, 3, 5, 6, 8, 9, 10}
    assert allowed(catalog, resolver, {"good_shop": True}) == {1, 4, 6, 8, 10}
    # coupons are not a shop attribute: nothing is filtered
    assert len(allowed(catalog, resolver, {"payment_method": "coupon"})) == len(SHOPS)


def test_district_and_colloquial_dong(catalog, resolver):
    assert allowed(catalog, resolver, {"location_filter": {"district": "동작구"}}) == {5, 6}
    # "사당동" covers the administrative 사당1동 … 사당5동
    assert allowed(catalog, resolver, {"location_filter": {"dong": "사당동"}}) == {5, 6}
    assert allowed(catalog, resolver, {"location_filter": {"dong": "행운동"}}) == {1, 2, 7, 8, 10}


def test_landmark_radius(catalog, resolver):
    # 서울대입구역: shop 3 is 1,034 m away, just outside the 1 km radius
    assert allowed(catalog, resolver, {"location_filter": {"landmark": "서울대입구역"}}) == {1, 2, 7, 8, 10}
    assert allowed(catalog, resolver, {"location_filter": {"landmark": "서울대입구"}}) == {1, 2, 7, 8, 10}


def test_near_home_uses_the_users_home_dong(catalog, resolver):
    home = resolver.home("관악구", "행운동")
    assert allowed(catalog, resolver, {"location_filter": {"near": "home"}}, home=home) == {1, 2, 3, 7, 8, 10}
    far_home = resolver.home("강남구", "역삼1동")
    assert allowed(catalog, resolver, {"location_filter": {"near": "home"}}, home=far_home) == {9}


def test_near_current_uses_the_request_coordinates(catalog, resolver):
    got = allowed(catalog, resolver, {"location_filter": {"near": "current"}}, lat=37.4765, lon=126.9816)
    assert got == {5, 6}


def test_near_current_without_coordinates_falls_back_to_home_and_says_so(catalog, resolver):
    home = resolver.home("관악구", "행운동")
    spec, notes = build_spec({"location_filter": {"near": "current"}}, resolver, now=NOON, home=home)
    assert spec.place is not None and [n.key for n in notes] == ["location_filter.near"]
    assert "집 근처" in notes[0].message


def test_unknown_landmark_is_reported_not_silently_ignored(catalog, resolver):
    spec, notes = build_spec({"location_filter": {"landmark": "없는장소123"}}, resolver, now=NOON)
    assert spec.place is None
    assert notes[0].key == "location_filter.landmark" and notes[0].action == "unresolved"


@pytest.mark.parametrize("when,expected_open,expected_closed", [
    # Monday 01:00: 바삭치킨 (16-02, closed 월) still runs Sunday's night; 황금치킨 (15-01) has just closed
    (MON.replace(hour=1), {3, 7}, {4, 1}),
    # Tuesday 01:00 belongs to Monday's night, and 바삭치킨 is closed on 월
    (MON + dt.timedelta(days=1, hours=1), {7}, {3}),
    # Tuesday 00:30: 황금치킨 is open after midnight; 바삭치킨's Monday night never happened
    (MON + dt.timedelta(days=1, minutes=30), {4, 7}, {3}),
    # Sunday noon: 꼬마김밥 (일) and 엄마밥상 (토,일) are closed
    (MON + dt.timedelta(days=6, hours=12), {1, 5, 7, 8}, {2, 6}),
])
def test_open_now_around_midnight_and_closed_days(catalog, resolver, when, expected_open, expected_closed):
    got = allowed(catalog, resolver, {"open_now": True}, now=when)
    assert expected_open <= got
    assert not (expected_closed & got)


def test_open_at_agrees_with_hours_is_open(catalog):
    rnd = np.random.default_rng(0)
    for _ in range(300):
        when = MON + dt.timedelta(minutes=int(rnd.integers(0, 7 * 24 * 60)))
        mask = catalog.open_at(when)
        for row, shop in enumerate(SHOPS):
            assert mask[row] == is_open(shop[7], shop[8], shop[9], when), (shop[0], when)


def test_exclusions(catalog, resolver):
    assert allowed(catalog, resolver, {"exclude_categories": ["치킨", "한식"]}) == {1, 2, 5, 9}
    # 행복분식's signature is 떡볶이: excluded; 꼬마김밥 serves no 떡볶이 and stays
    assert 1 not in allowed(catalog, resolver, {"exclude_menus": ["떡볶이"]})
    # "김밥 말고": 꼬마김밥 (signature 참치김밥) goes, 행복분식 (김밥 on the side) stays
    got = allowed(catalog, resolver, {"exclude_menus": ["김밥"]})
    assert 2 not in got and 1 in got


def test_relaxation_order_is_reported(catalog, resolver):
    spec, notes = build_spec({"category": "치킨", "good_shop": True, "location_filter": {"dong": "행운동"}},
                             resolver, now=NOON)
    res = apply_filters(catalog, spec, min_results=1, notes=notes)
    assert res.relaxed_keys == ["good_shop", "location_filter.dong"]
    assert ids(catalog, res.mask) == {3, 4}
    assert res.spec.district == "관악구" and res.spec.category == "치킨"
    assert all(r.message for r in res.relaxations)


def test_radius_widens_before_the_menu_is_dropped(catalog, resolver):
    spec, _ = build_spec({"menu": "후라이드치킨", "location_filter": {"landmark": "서울대입구역"}}, resolver, now=NOON)
    res = apply_filters(catalog, spec, min_results=1)
    assert res.relaxed_keys == ["location_filter.landmark"]
    assert res.spec.place.radius_m == 2000 and ids(catalog, res.mask) == {3}
    assert "2km" in res.relaxations[0].message


def test_no_relaxation_when_enough_shops(catalog, resolver):
    spec, _ = build_spec({"payment_method": "meal_card"}, resolver, now=NOON)
    assert apply_filters(catalog, spec, min_results=5).relaxations == []


def test_payment_and_exclusions_are_never_relaxed(catalog, resolver):
    spec, _ = build_spec({"payment_method": "meal_card", "category": "치킨", "budget_filter": 3000,
                          "exclude_categories": ["분식", "한식", "중식", "피자"]}, resolver, now=NOON)
    res = apply_filters(catalog, spec, min_results=50)
    assert {"payment_method", "exclude_categories"}.isdisjoint(res.relaxed_keys)
    assert ids(catalog, res.mask) == {3}  # the only meal-card shop left once category and budget are dropped
    order = [name for name, _ in RELAXATION_ORDER]
    assert order.index("category") < order.index("budget_filter")


# --------------------------------------------------------------------------- property test

CATEGORIES = sorted({s[2] for s in SHOPS}) + ["일식"]
DISHES = ["떡볶이", "김밥", "양념치킨", "짜장면", "김치찌개", "국밥", "초밥"]
filter_dicts = st.fixed_dictionaries({}, optional={
    "category": st.sampled_from(CATEGORIES),
    "menu": st.sampled_from(DISHES),
    "budget_filter": st.sampled_from([3000, 5000, 7000, 10000, 20000]),
    "payment_method": st.sampled_from(["meal_card", "coupon"]),
    "good_shop": st.just(True),
    "open_now": st.just(True),
    "location_filter": st.fixed_dictionaries({}, optional={
        "district": st.sampled_from(["관악구", "동작구", "강남구"]),
        "dong": st.sampled_from(["행운동", "사당동", "신림동", "은천동"]),
        "landmark": st.sampled_from(["서울대입구역", "사당역", "강남역"]),
    }),
    "exclude_categories": st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=2, unique=True),
    "exclude_menus": st.lists(st.sampled_from(DISHES), min_size=1, max_size=2, unique=True),
})


def _violations(shop, filters: dict, place: Place | None, when: dt.datetime) -> set[str]:
    """Filter keys the shop violates, checked per shop with plain Python (independent of the numpy code)."""
    (sid, _n, cat, dist, dong, lat, lon, o, c, closed, good, card, menus) = shop
    dishes = {m[2] for m in menus}
    sig = {m[2] for m in menus if m[3]} or dishes
    bad = set()
    if filters.get("menu") and filters["menu"] not in dishes:
        bad.add("menu")
    if filters.get("category") and cat != filters["category"] and filters.get("menu") not in dishes:
        bad.add("category")
    if "budget_filter" in filters and not any(0 < m[1] <= filters["budget_filter"] for m in menus):
        bad.add("budget_filter")
    if filters.get("payment_method") == "meal_card" and not card:
        bad.add("payment_method")
    if filters.get("good_shop") and not good:
        bad.add("good_shop")
    if filters.get("open_now") and not is_open(o, c, closed, when):
        bad.add("open_now")
    loc = filters.get("location_filter", {})
    if loc.get("district") and dist != loc["district"]:
        bad.add("location_filter.district")
    if loc.get("dong") and not dong.startswith(loc["dong"][:-1]):
        bad.add("location_filter.dong")
    if place is not None and haversine_m(place.lat, place.lon, lat, lon) > place.radius_m:
        bad.add("location_filter.landmark")
    if set(filters.get("exclude_categories", ())) & {cat}:
        bad.add("exclude_categories")
    if set(filters.get("exclude_menus", ())) & sig:
        bad.add("exclude_menus")
    return bad


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(filters=filter_dicts, min_results=st.integers(0, 8), minutes=st.integers(0, 7 * 24 * 60 - 1))
def test_no_returned_shop_violates_an_unrelaxed_filter(catalog, resolver, filters, min_results, minutes):
    when = MON + dt.timedelta(minutes=minutes)
    spec, notes = build_spec(filters, resolver, now=when)
    res = apply_filters(catalog, spec, min_results=min_results, notes=notes)
    relaxed = set(res.relaxed_keys)
    if relaxed & {"location_filter.dong", "location_filter.landmark"}:
        relaxed |= {"location_filter.dong", "location_filter.landmark"}  # a widened dong or radius
    if "location_filter.district" in relaxed or "location_filter.dong" in relaxed:
        relaxed.add("location_filter.district")
    if "category" in relaxed:
        relaxed.add("menu")  # dropping the category drops its menu too
    place = spec.place
    for row in np.flatnonzero(res.mask):
        shop = SHOPS[row]
        broken = _violations(shop, filters, place, when) - relaxed
        assert not broken, (shop[0], filters, res.relaxed_keys, broken)
    assert {"payment_method", "exclude_categories", "exclude_menus"}.isdisjoint(res.relaxed_keys)
    if res.count < min_results:  # relaxation ran out of steps: only the never-relaxed filters remain
        left = res.spec
        assert not (left.category or left.menu or left.budget or left.good_shop or left.open_now
                    or left.district or left.dong or left.place)


def test_value_masks_equal_comparing_every_shop_and_are_kept_read_only(catalog):
    for column, values in (("category", catalog.category_array), ("district", catalog.district_array),
                           ("dong", catalog.dong_array)):
        for value in [*sorted(set(values)), "없는값"]:
            mask = catalog.value_mask(column, value)
            np.testing.assert_array_equal(mask, values == value)
            assert mask.dtype == bool and not mask.flags.writeable
            assert catalog.value_mask(column, value) is mask
        some = sorted(set(values))[:2]
        np.testing.assert_array_equal(catalog.values_mask(column, some), np.isin(values, some))
        assert not catalog.values_mask(column, ()).any()
