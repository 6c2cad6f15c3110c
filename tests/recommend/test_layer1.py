"""Layer 1 end to end: build, version, load, serve, refresh; cold start; filters and relaxation."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from sqlalchemy import update

from naviyam.core.registry import ModelRegistry
from naviyam.db.models import Shop
from naviyam.db.session import make_engine, migrate, session_scope
from naviyam.recommend.layer1 import (
    COLD_START_FUNNELS,
    CandidateGenerator,
    Layer1Config,
    RequestContext,
    fit_layer1,
    load_artifacts,
)
from naviyam.recommend.layer1_build import build_layer1
from naviyam.retrieval.embedding import HashingEmbedder
from naviyam.retrieval.location import haversine_m
from support.worlds import NEW_SHOP, PLACES, add_new_shop, fill_known_world, shop_category

NOON = RequestContext(now=dt.datetime(2026, 10, 12, 12, 0))
REQUESTS = [
    (1, {"filters": {}, "semantic_query": None}),
    (2, {"filters": {"category": "치킨"}, "semantic_query": "바삭한 치킨"}),
    (3, {"filters": {"payment_method": "meal_card", "budget_filter": 6000}, "semantic_query": "짜장면"}),
    (None, {"filters": {"location_filter": {"district": "동작구"}}, "semantic_query": "떡볶이"}),
    (600, {"filters": {"open_now": True}}),
]


def fresh_world(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'naviyam.db'}")
    migrate(engine)
    fill_known_world(engine)
    return engine, ModelRegistry(engine, tmp_path / "models")


def test_save_load_round_trip_gives_the_same_candidates(world, tmp_path):
    engine, _, embedder = world
    arts = fit_layer1(engine, embedder=embedder)
    arts.save(tmp_path / "v1", Layer1Config(embedder=embedder.name))
    loaded = load_artifacts(tmp_path / "v1", arts.catalog, embedder)
    a, b = CandidateGenerator(arts), CandidateGenerator(loaded)
    for user_id, nlu in REQUESTS:
        ra, rb = a.candidates(user_id, nlu, NOON, k=30), b.candidates(user_id, nlu, NOON, k=30)
        assert [c.shop_id for c in ra.candidates] == [c.shop_id for c in rb.candidates]
        for x, y in zip(ra.candidates, rb.candidates, strict=True):
            assert x.funnels.keys() == y.funnels.keys()
            np.testing.assert_allclose(list(x.funnels.values()), list(y.funnels.values()), atol=1e-6)


def test_build_registers_versions_and_rebuilds_incrementally(tmp_path):
    engine, registry = fresh_world(tmp_path)
    emb = HashingEmbedder()
    first = build_layer1(engine, registry, config=Layer1Config(embedder=emb.name), embedder=emb)
    assert first.n_embedded == 96 and first.parent is None
    with session_scope(engine) as s:
        s.execute(update(Shop).where(Shop.id == 5).values(name="새이름치킨"))
    emb2 = HashingEmbedder()
    second = build_layer1(engine, registry, config=Layer1Config(embedder=emb2.name), embedder=emb2)
    assert (second.n_embedded, second.n_reused) == (1, 95)
    assert emb2.embedded[0].startswith("새이름치킨")
    assert second.parent == first.version
    current = registry.current("index")
    assert current.version == second.version
    assert current.metrics["n_embedded"] == 1 and current.config["embedder"] == emb.name
    assert current.data_window_start is not None
    full = build_layer1(engine, registry, config=Layer1Config(embedder=emb.name), embedder=HashingEmbedder(), full=True)
    assert full.n_embedded == 96


def test_a_full_rebuild_after_editing_ten_shops_embeds_ten_documents(tmp_path):
    """The passage vectors on disk (embedder name, text hash) serve every build, even one from nothing."""
    engine, registry = fresh_world(tmp_path)
    first_emb = HashingEmbedder()
    build_layer1(engine, registry, config=Layer1Config(embedder=first_emb.name), embedder=first_emb)
    assert len(first_emb.embedded) == 96
    with session_scope(engine) as s:
        for sid in range(1, 11):
            s.execute(update(Shop).where(Shop.id == sid).values(name=f"새이름가게{sid}"))
    emb = HashingEmbedder()
    full = build_layer1(engine, registry, config=Layer1Config(embedder=emb.name), embedder=emb, full=True)
    assert sorted(emb.embedded) == sorted(t for t in emb.embedded if t.startswith("새이름가게"))
    assert len(emb.embedded) == 10
    assert full.n_embedded == 96  # no previous index was used: every document came from the disk cache or new
    # the vectors are the embedder's own: a cached build finds what a fresh embedding finds
    generator = CandidateGenerator.load(engine, registry, embedder=HashingEmbedder())
    ids = [c.shop_id for c in generator.candidates(None, {"filters": {}, "semantic_query": "새이름가게3"},
                                                   NOON, k=5).candidates]
    assert 3 in ids


def test_reloads_share_one_embedder_and_its_query_vectors(tmp_path):
    """A hot reload or an A/B candidate loads the index again: the model is not loaded twice and the queries
    already asked are not embedded again (a query's vector depends on the embedder and the text alone)."""
    engine, registry = fresh_world(tmp_path)
    emb = HashingEmbedder(dim=96)
    build_layer1(engine, registry, config=Layer1Config(embedder=emb.name), embedder=emb)
    first = CandidateGenerator.load(engine, registry)
    shared = first.index.embedder
    assert shared.name == emb.name
    asked = {"filters": {}, "semantic_query": "바삭한 치킨 먹고 싶은 날"}
    before = first.candidates(None, asked, NOON, k=10)
    misses = shared.misses
    second = CandidateGenerator.load(engine, registry)
    assert second.index.embedder is shared and second.index is not first.index
    after = second.candidates(None, asked, NOON, k=10)
    assert shared.misses == misses  # answered from the cache the first load filled
    assert [c.shop_id for c in after.candidates] == [c.shop_id for c in before.candidates]


def test_load_without_a_build_says_what_to_run(tmp_path):
    engine, registry = fresh_world(tmp_path)
    with pytest.raises(LookupError, match="naviyam index build"):
        CandidateGenerator.load(engine, registry, embedder=HashingEmbedder())


def test_new_shop_enters_through_content_and_contextual(tmp_path):
    engine, registry = fresh_world(tmp_path)
    emb = HashingEmbedder()
    build_layer1(engine, registry, config=Layer1Config(embedder=emb.name), embedder=emb)
    gen = CandidateGenerator.load(engine, registry, embedder=emb)
    assert gen.refresh() is False  # nothing changed
    add_new_shop(engine)
    n_before = len(emb.embedded)
    assert gen.refresh() is True
    assert emb.embedded[n_before:] and all(t.startswith("새로운돈까스") for t in emb.embedded[n_before:])
    res = gen.candidates(1, {"filters": {}, "semantic_query": "돈까스 우동"}, NOON, k=50)
    new = [c for c in res.candidates if c.shop_id == NEW_SHOP]
    assert new, "the new shop must be reachable"
    assert "content" in new[0].funnels and set(new[0].funnels) <= {"content", "contextual"}
    # a cold-start user asking nothing in particular also gets it through the contextual funnel
    near = gen.candidates(None, {"filters": {"location_filter": {"dong": "행운동"}}}, NOON, k=100)
    assert any(c.shop_id == NEW_SHOP and "contextual" in c.funnels for c in near.candidates)


@pytest.mark.parametrize("user_id", [None, 600, 123456])
def test_cold_start_user_gets_contextual_popularity_and_content(generator, user_id):
    res = generator.candidates(user_id, {"filters": {"category": "분식"}, "semantic_query": "떡볶이"}, NOON, k=10)
    assert res.cold_start_user and tuple(res.funnels) == COLD_START_FUNNELS
    assert len(res.candidates) == 10
    provided = set().union(*(c.funnels for c in res.candidates))
    assert provided == {"content", "contextual", "popularity"}


def test_known_user_gets_all_five_funnels_with_provenance(generator):
    res = generator.candidates(2, {"filters": {}}, NOON, k=40)
    assert not res.cold_start_user and set(res.funnels) == {"collaborative", "content", "contextual", "popularity",
                                                            "itemknn"}
    ids = [c.shop_id for c in res.candidates]
    assert len(ids) == len(set(ids)) == 40
    assert all(c.funnels and all(0 <= v <= 1 for v in c.funnels.values()) for c in res.candidates)
    # user 2 only orders 중식: the merged top is 중식
    assert [shop_category(i) for i in ids[:5]] == ["중식"] * 5
    assert res.timings_ms["total"] > 0 and res.index_version == generator.version


def test_candidates_respect_hard_filters(generator):
    nlu = {"filters": {"payment_method": "meal_card", "budget_filter": 7500, "category": "치킨"}}
    res = generator.candidates(7, nlu, NOON, k=100)
    cat = generator.catalog
    assert res.relaxed_filters == [] and 0 < len(res.candidates) == res.n_allowed <= 100
    for c in res.candidates:
        r = cat.row_of[c.shop_id]
        assert cat.accepts_meal_card[r] and cat.min_price[r] <= 7500 and cat.categories[r] == "치킨"


def test_relaxation_is_reported_in_korean(generator):
    nlu = {"filters": {"category": "치킨", "good_shop": True, "location_filter": {"dong": "행운동"},
                       "budget_filter": 3000}}
    res = generator.candidates(None, nlu, NOON, k=10)
    assert res.relaxed_filters and res.relaxed_filters[0] == "good_shop"
    assert res.explanations and all(m.endswith("요.") for m in res.explanations)
    assert res.n_allowed >= 5
    assert res.to_dict()["relaxed_filters"] == res.relaxed_filters


@pytest.mark.parametrize("user_id, filters", [
    (None, {"category": "치킨", "good_shop": True, "location_filter": {"dong": "행운동"}, "budget_filter": 3000}),
    (1, {"location_filter": {"near": "home"}, "category": "치킨", "budget_filter": 3000}),
    (1, {"location_filter": {"near": "home"}}),
    (2, {"payment_method": "meal_card", "open_now": True}),
])
def test_relaxed_filters_says_beforehand_what_candidates_relaxes(generator, user_id, filters):
    """The chat service asks this before searching near a user's home (naviyam.service.chat); it must agree."""
    said = generator.relaxed_filters(user_id, filters, NOON)
    assert said == generator.candidates(user_id, {"filters": filters}, NOON, k=10).relaxed_filters


def test_distances_are_kept_per_origin_and_equal_the_formula(generator):
    cat = generator.catalog
    lat, lon = PLACES[1][2], PLACES[1][3]
    first = cat.distances_m(lat, lon)
    assert first is cat.distances_m(lat, lon)  # the same array again, not a new computation
    assert np.array_equal(first, haversine_m(lat, lon, cat.lat, cat.lon))
    with pytest.raises(ValueError):
        first[0] = 0.0  # shared between requests: read-only
    assert not np.array_equal(cat.distances_m(lat + 0.01, lon), first)


def test_near_home_uses_the_users_home_dong(generator):
    res = generator.candidates(1, {"filters": {"location_filter": {"near": "home"}}}, NOON, k=100)
    home_lat, home_lon = PLACES[1][2], PLACES[1][3]  # user 1 lives in 신림동
    cat = generator.catalog
    assert res.relaxed_filters == [] and res.candidates
    for c in res.candidates:
        r = cat.row_of[c.shop_id]
        assert haversine_m(home_lat, home_lon, cat.lat[r], cat.lon[r]) < 1_600
        assert c.distance_m is not None and c.distance_m <= 1_500


def test_current_position_sets_distances(generator):
    ctx = RequestContext(now=NOON.now, lat=PLACES[2][2], lon=PLACES[2][3])
    res = generator.candidates(None, {"filters": {"location_filter": {"near": "current"}}}, ctx, k=10)
    assert res.origin is not None and res.origin.label == "현재 위치"
    assert all(c.distance_m <= 1_000 for c in res.candidates)


def test_open_now_after_midnight(generator):
    late = RequestContext(now=dt.datetime(2026, 10, 13, 1, 0))  # Tuesday 01:00
    res = generator.candidates(None, {"filters": {"open_now": True}}, late, k=100)
    assert res.relaxed_filters == []
    assert {shop_category(c.shop_id) for c in res.candidates} <= {"치킨", "피자"}


def test_build_and_load_on_both_databases(engine, tmp_path):
    fill_known_world(engine)
    registry = ModelRegistry(engine, tmp_path / "models")
    emb = HashingEmbedder()
    build_layer1(engine, registry, config=Layer1Config(embedder=emb.name), embedder=emb)
    gen = CandidateGenerator.load(engine, registry, embedder=emb)
    res = gen.candidates(3, {"filters": {"category": "한식"}}, NOON, k=10)
    assert len(res.candidates) == 10 and all(shop_category(c.shop_id) == "한식" for c in res.candidates)


def test_a_query_that_only_repeats_the_filters_weighs_less_in_the_merge():
    from naviyam.recommend.layer1 import _query_repeats_filters

    assert _query_repeats_filters("치킨", {"category": "치킨"})
    assert _query_repeats_filters("분식 떡볶이", {"category": "분식", "menu": "떡볶이"})
    assert not _query_repeats_filters("바삭한 치킨", {"category": "치킨"})
    assert not _query_repeats_filters("치킨", {})
    assert not _query_repeats_filters(None, {"category": "치킨"})
