"""On a generated sample world: no Layer 1 candidate violates a hard filter that was not reported as relaxed."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from naviyam.core import geo
from naviyam.core.registry import ModelRegistry
from naviyam.core.taxonomy import taxonomy
from naviyam.data.generate import generate_world
from naviyam.db.models import Shop, ShopMenu
from naviyam.db.session import make_engine, migrate, session_scope
from naviyam.hours import is_open
from naviyam.recommend.layer1 import CandidateGenerator, Layer1Config, RequestContext
from naviyam.recommend.layer1_build import build_layer1
from naviyam.retrieval.embedding import HashingEmbedder

CATEGORIES = sorted(taxonomy()["categories"])
DISHES = sorted({d for c in taxonomy()["categories"].values() for d in c["dishes"]})


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sample")
    engine = make_engine(f"sqlite:///{folder / 'naviyam.db'}")
    migrate(engine)
    generate_world(engine, seed=3, shops=120, users=200, days=30)
    registry = ModelRegistry(engine, folder / "models")
    emb = HashingEmbedder()
    build_layer1(engine, registry, config=Layer1Config(embedder=emb.name), embedder=emb)
    gen = CandidateGenerator.load(engine, registry, embedder=emb)
    with session_scope(engine) as s:
        shops = {sh.id: sh for sh in s.scalars(select(Shop))}
        menus: dict[int, list[ShopMenu]] = {}
        for m in s.scalars(select(ShopMenu)):
            menus.setdefault(m.shop_id, []).append(m)
    yield gen, shops, menus
    engine.dispose()


def _districts(gen):
    return sorted(set(gen.catalog.districts))


def _violations(shop, menus, filters, when, origin) -> set[str]:
    dishes = {m.dish for m in menus}
    sig = {m.dish for m in menus if m.is_signature} or dishes
    bad = set()
    if filters.get("menu") and filters["menu"] not in dishes and not any(filters["menu"] in m.name for m in menus):
        bad.add("menu")
    if filters.get("category") and shop.category != filters["category"] and filters.get("menu") not in dishes:
        bad.add("category")
    if "budget_filter" in filters and not any(0 < m.price <= filters["budget_filter"] for m in menus):
        bad.add("budget_filter")
    if filters.get("payment_method") == "meal_card" and not shop.accepts_meal_card:
        bad.add("payment_method")
    if filters.get("good_shop") and not shop.is_good_shop:
        bad.add("good_shop")
    if filters.get("open_now") and not is_open(shop.open_time, shop.close_time, shop.closed_days, when):
        bad.add("open_now")
    loc = filters.get("location_filter", {})
    if loc.get("district") and shop.district != loc["district"]:
        bad.add("location_filter.district")
    if loc.get("landmark") and origin is not None:
        if geo.haversine_m(origin.lat, origin.lon, shop.lat, shop.lon) > 1_000:
            bad.add("location_filter.landmark")
    if shop.category in filters.get("exclude_categories", ()):
        bad.add("exclude_categories")
    if set(filters.get("exclude_menus", ())) & (sig - {None}):
        bad.add("exclude_menus")
    return bad


filter_dicts = st.fixed_dictionaries({}, optional={
    "category": st.sampled_from(CATEGORIES),
    "menu": st.sampled_from(DISHES),
    "budget_filter": st.sampled_from([3000, 5000, 7000, 10000, 15000]),
    "payment_method": st.just("meal_card"),
    "good_shop": st.just(True),
    "open_now": st.just(True),
    "location_filter": st.fixed_dictionaries({}, optional={
        "district": st.sampled_from(["관악구", "동작구", "강남구", "마포구", "노원구"]),
        "landmark": st.sampled_from(["서울대입구역", "사당역", "강남역", "홍대입구역"]),
    }),
    "exclude_categories": st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=3, unique=True),
    "exclude_menus": st.lists(st.sampled_from(DISHES), min_size=1, max_size=2, unique=True),
})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(filters=filter_dicts, user_id=st.sampled_from([None, 1, 5, 50, 199]),
       minutes=st.integers(0, 7 * 24 * 60 - 1), semantic=st.sampled_from([None, "떡볶이", "아이랑 먹기 좋은 순한 음식"]))
def test_no_candidate_violates_an_unrelaxed_filter(sample, filters, user_id, minutes, semantic):
    gen, shops, menus = sample
    when = dt.datetime(2026, 10, 26) + dt.timedelta(minutes=minutes)
    res = gen.candidates(user_id, {"filters": filters, "semantic_query": semantic}, RequestContext(now=when), k=50)
    relaxed = set(res.relaxed_filters)
    if "category" in relaxed:
        relaxed.add("menu")
    origin = res.applied_filters.place if res.applied_filters.place is not None else None
    for c in res.candidates:
        broken = _violations(shops[c.shop_id], menus.get(c.shop_id, []), filters, when, origin) - relaxed
        assert not broken, (c.shop_id, filters, res.relaxed_filters, broken)
    assert len({c.shop_id for c in res.candidates}) == len(res.candidates) <= 50
    assert {"payment_method", "exclude_categories", "exclude_menus"}.isdisjoint(relaxed)
