"""Every funnel honours the same contract; the collaborative funnel has known answers."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from naviyam.recommend.funnels import FUNNEL_NAMES, Candidate, Funnel, FunnelList, FunnelQuery
from naviyam.recommend.funnels.contextual import TIME_SLOTS
from naviyam.recommend.merge import merge_candidates
from naviyam.retrieval.location import haversine_m
from support.worlds import CATS, N_SHOPS, shop_category, user_category

NOON = dt.datetime(2026, 10, 12, 12, 0)  # a Monday


def query(gen, user_id=1, *, allowed=None, filters=None, semantic_query=None, now=NOON, district=None,
          origin_row=None):
    cat = gen.catalog
    distances = None
    if origin_row is not None:
        distances = haversine_m(cat.lat[origin_row], cat.lon[origin_row], cat.lat, cat.lon)
    return FunnelQuery(user_id=user_id, allowed=np.ones(len(cat), bool) if allowed is None else allowed, now=now,
                       filters=filters or {}, semantic_query=semantic_query, distances=distances, district=district)


@pytest.mark.parametrize("name", FUNNEL_NAMES)
@pytest.mark.parametrize("k", [1, 7, 100])
def test_funnel_contract(generator, name, k):
    funnel = generator.funnels[name]
    assert isinstance(funnel, Funnel) and funnel.name == name
    cat = generator.catalog
    allowed = np.zeros(len(cat), bool)
    allowed[::2] = True
    q = query(generator, user_id=7, allowed=allowed, semantic_query="떡볶이 김밥", district="관악구", origin_row=0)
    out = funnel.candidates(q, k)
    assert out, f"{name} returned nothing"
    assert len(out) <= k
    assert len({c.shop_id for c in out}) == len(out)
    assert all(isinstance(c, Candidate) and 0.0 <= c.score <= 1.0 for c in out)
    assert all(c.funnels == {name: c.score} for c in out)
    assert all(allowed[cat.row_of[c.shop_id]] for c in out)
    assert [c.score for c in out] == sorted((c.score for c in out), reverse=True)
    assert all(c.distance_m is not None for c in out)


@pytest.mark.parametrize("name", FUNNEL_NAMES)
def test_funnel_with_nothing_allowed_returns_nothing(generator, name):
    q = query(generator, allowed=np.zeros(len(generator.catalog), bool), semantic_query="치킨")
    assert generator.funnels[name].candidates(q, 10) == []


@pytest.mark.parametrize("user_id", [1, 2, 9, 16])
def test_collaborative_user_who_only_orders_one_category_gets_it_first(generator, user_id):
    cands = generator.funnels["collaborative"].candidates(query(generator, user_id), N_SHOPS // len(CATS))
    cats = [shop_category(c.shop_id) for c in cands]
    assert cats[:10] == [user_category(user_id)] * 10, cats


def test_collaborative_item_item_fallback_for_little_history(generator):
    collab = generator.funnels["collaborative"]
    assert len(collab.matrix_.history(500)[0]) < collab.min_history
    cands = collab.candidates(query(generator, 500), 8)
    assert [shop_category(c.shop_id) for c in cands] == ["중식"] * 8


def test_collaborative_ignores_unknown_users(generator):
    assert generator.funnels["collaborative"].candidates(query(generator, 600), 10) == []
    assert generator.funnels["collaborative"].candidates(query(generator, None), 10) == []


def test_content_uses_the_query_and_falls_back_to_the_taste_profile(generator):
    content = generator.funnels["content"]
    by_query = content.candidates(query(generator, None, semantic_query="짜장면 짬뽕 탕수육"), 5)
    assert {shop_category(c.shop_id) for c in by_query} == {"중식"}
    by_filters = content.candidates(query(generator, None, filters={"menu": "떡볶이", "category": "분식"}), 5)
    assert {shop_category(c.shop_id) for c in by_filters} == {"분식"}
    profile = content.candidates(query(generator, 4), 5)  # user 4 orders 피자
    assert {shop_category(c.shop_id) for c in profile} == {"피자"}
    assert content.candidates(query(generator, None), 5) == []


def test_popularity_ranks_the_requested_district_first(generator):
    cands = generator.funnels["popularity"].candidates(query(generator, None, district="동작구"), 20)
    districts = [generator.catalog.districts[c.row] for c in cands]
    n_dongjak = int(np.sum(generator.catalog.district_array == "동작구"))
    assert districts[: min(20, n_dongjak)] == ["동작구"] * min(20, n_dongjak)


def test_contextual_prefers_open_near_and_timely_shops(generator):
    late = dt.datetime(2026, 10, 13, 1, 0)  # Tuesday 01:00: only the 치킨/피자 shops (16-02) are open
    cands = generator.funnels["contextual"].candidates(query(generator, None, now=late), 10)
    assert all(generator.catalog.open_at(late)[c.row] for c in cands)
    near = generator.funnels["contextual"].candidates(query(generator, None, origin_row=0), 5)
    assert near[0].distance_m < 1000


def test_contextual_learned_time_lifts(generator):
    ctx = generator.funnels["contextual"]
    lift = dict(zip(ctx.categories_, ctx.slot_lift_[TIME_SLOTS.index("dinner")], strict=True))
    assert max(lift, key=lift.get) == "치킨"


def test_merge_keeps_funnel_provenance_and_deduplicates():
    a = [Candidate(1, 1.0, {"collaborative": 1.0}), Candidate(2, 0.5, {"collaborative": 0.5})]
    b = [Candidate(2, 1.0, {"content": 1.0}), Candidate(3, 0.2, {"content": 0.2})]
    c = [Candidate(4, 1.0, {"popularity": 1.0})]
    merged = merge_candidates({"collaborative": a, "content": b, "popularity": c, "contextual": []}, k=10)
    by_id = {m.shop_id: m for m in merged}
    assert sorted(by_id) == [1, 2, 3, 4]
    assert by_id[2].funnels == {"collaborative": 0.5, "content": 1.0}
    assert by_id[4].funnels == {"popularity": 1.0}
    assert merged[0].shop_id == 2  # proposed by two funnels
    assert all(0 <= m.score <= 1 for m in merged)
    assert [m.score for m in merged] == sorted((m.score for m in merged), reverse=True)


def test_merge_quota_keeps_every_funnel_represented():
    strong = [Candidate(i, 1.0 - i / 100, {"collaborative": 1.0 - i / 100}) for i in range(50)]
    weak = [Candidate(1000 + i, 0.1, {"popularity": 0.1}) for i in range(50)]
    merged = merge_candidates({"collaborative": strong, "popularity": weak}, k=20, quota_share=0.5)
    assert len(merged) == 20
    assert sum(1 for m in merged if "popularity" in m.funnels) >= 5
    assert merge_candidates({"collaborative": strong}, k=0) == []
    assert len(merge_candidates({"collaborative": strong}, k=100, method="rrf")) == 50


def _merge_by_the_definition(lists, k, weights, quota_share, method, rrf_k=60):
    """The merge as the module docstring states it, one Candidate per shop (the reference for the fast merge)."""
    from naviyam.recommend.merge import DEFAULT_FUNNEL_WEIGHTS

    weights = {**DEFAULT_FUNNEL_WEIGHTS, **(weights or {})}
    active = [n for n, cs in lists.items() if cs]
    merged, rrf = {}, {}
    for name in active:
        for rank, c in enumerate(lists[name]):
            score = c.funnels.get(name, c.score)
            if c.shop_id not in merged:
                merged[c.shop_id] = Candidate(c.shop_id, 0.0, {name: score}, c.distance_m, c.row, {name: rank})
            m = merged[c.shop_id]
            if score > m.funnels.get(name, 0.0):  # a later funnel's zero score is not recorded
                m.funnels[name] = score
            m.ranks[name] = min(m.ranks.get(name, rank), rank)
            rrf[c.shop_id] = rrf.get(c.shop_id, 0.0) + weights.get(name, 1.0) / (rrf_k + 1 + rank)
    wsum = sum(weights.get(n, 1.0) for n in active)
    for m in merged.values():
        m.score = (rrf[m.shop_id] / (wsum / (rrf_k + 1)) if method == "rrf"
                   else sum(weights.get(n, 1.0) * s for n, s in m.funnels.items()) / wsum)
    chosen = {}
    for name in active:
        for c in lists[name][:int(quota_share * k / len(active))]:
            if len(chosen) < k:
                chosen.setdefault(c.shop_id, merged[c.shop_id])
    for m in sorted(merged.values(), key=lambda c: (-c.score, c.shop_id)):
        if len(chosen) < k:
            chosen.setdefault(m.shop_id, m)
    return sorted(chosen.values(), key=lambda c: (-c.score, c.shop_id))


@pytest.mark.parametrize("seed", range(12))
def test_the_merge_equals_its_definition(seed):
    rng = np.random.default_rng(seed)
    names = ["collaborative", "content", "contextual", "popularity", "itemknn"]
    lists = {}
    for name in names[: int(rng.integers(1, 6))]:
        shops = rng.choice(300, size=int(rng.integers(0, 80)), replace=False)
        scores = np.sort(np.where(rng.random(len(shops)) < 0.2, 0.0, rng.random(len(shops))))[::-1]
        lists[name] = [Candidate(int(s), float(v), {name: float(v)}, float(rng.random() * 900), int(s))
                       for s, v in zip(shops, scores, strict=True)]
    for method in ("rrf", "weighted"):
        k, share = int(rng.integers(1, 120)), float(rng.choice([0.0, 0.25, 0.5]))
        got = merge_candidates(lists, k=k, quota_share=share, method=method)
        want = _merge_by_the_definition(lists, k, None, share, method)
        assert [(c.shop_id, c.score, c.funnels, c.ranks, c.distance_m, c.row) for c in got] == \
            [(c.shop_id, c.score, c.funnels, c.ranks, c.distance_m, c.row) for c in want]
        # the funnels' own form (parallel lists, what serving merges) gives the very same candidates
        as_lists = {name: FunnelList(name, [c.shop_id for c in cs], [c.score for c in cs],
                                     [c.distance_m for c in cs], [c.row for c in cs]) for name, cs in lists.items()}
        assert merge_candidates(as_lists, k=k, quota_share=share, method=method) == got


def test_a_funnel_list_reads_like_the_candidates_it_stands_for():
    fl = FunnelList("content", [7, 3, 9], [1.0, 0.5, 0.0], None, [70, 30, 90])
    cands = [Candidate(7, 1.0, {"content": 1.0}, None, 70), Candidate(3, 0.5, {"content": 0.5}, None, 30),
             Candidate(9, 0.0, {"content": 0.0}, None, 90)]
    assert len(fl) == 3 and fl[1] == cands[1] and fl[-1] == cands[2] and list(fl) == cands
    assert fl == cands and fl[:2] == cands[:2] and isinstance(fl[:2], FunnelList)
    assert fl != cands[:2] and fl != [*cands[:2], Candidate(9, 0.0, {"content": 0.0}, 5.0, 90)]
    assert not FunnelList("content", [], [], None, []) and [c.shop_id for c in fl] == [7, 3, 9]
