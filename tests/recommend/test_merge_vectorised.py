"""The merge works on arrays: the same candidates, scores, funnels and ranks as the per-shop definition (kept here as
the reference), and the feature builder reads its matrices to the same feature rows."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from naviyam.recommend.features.builder import _funnel_matrices, _funnel_matrices_from_merge
from naviyam.recommend.funnels.base import Candidate, FunnelList
from naviyam.recommend.merge import DEFAULT_FUNNEL_WEIGHTS, MergedCandidates, merge_candidates

NAMES = ["collaborative", "content", "contextual", "popularity", "itemknn"]


def reference_merge(lists, k=100, weights=None, quota_share=0.25, method="rrf", rrf_k=60) -> list[Candidate]:
    """The merge as first written: one dict per shop, in the funnels' order."""
    weights = {**DEFAULT_FUNNEL_WEIGHTS, **(weights or {})}
    active = [name for name, cands in lists.items() if cands]
    if not active or k <= 0:
        return []
    merged: dict[int, list[Any]] = {}
    for name in active:
        w = weights.get(name, 1.0)
        for rank, c in enumerate(lists[name]):
            sid, score, distance, row = c.shop_id, c.funnels.get(name, c.score), c.distance_m, c.row
            m = merged.get(sid)
            if m is None:
                merged[sid] = [{name: score}, {name: rank}, distance, row, w / (rrf_k + 1 + rank)]
                continue
            funnels, ranks = m[0], m[1]
            if score > funnels.get(name, 0.0):
                funnels[name] = score
            if rank < ranks.get(name, rank + 1):
                ranks[name] = rank
            m[4] += w / (rrf_k + 1 + rank)
    wsum = sum(weights.get(n, 1.0) for n in active)
    top_rrf = wsum / (rrf_k + 1)
    if method == "rrf":
        scores = {sid: m[4] / top_rrf for sid, m in merged.items()}
    else:
        scores = {sid: sum(weights.get(n, 1.0) * s for n, s in m[0].items()) / wsum for sid, m in merged.items()}
    chosen: dict[int, None] = {}
    quota = int(quota_share * k / len(active))
    for name in active:
        for c in lists[name][:quota]:
            if len(chosen) >= k:
                break
            chosen.setdefault(c.shop_id, None)
    for sid in sorted(scores, key=lambda s: (-scores[s], s)):
        if len(chosen) >= k:
            break
        chosen.setdefault(sid, None)
    return [Candidate(sid, scores[sid], merged[sid][0], merged[sid][2], merged[sid][3], merged[sid][1])
            for sid in sorted(chosen, key=lambda s: (-scores[s], s))]


def _as_tuple(c: Candidate):
    return (c.shop_id, c.score, list(c.funnels.items()), c.distance_m, c.row, list(c.ranks.items()))


score_values = st.one_of(st.just(0.0), st.just(1.0), st.floats(0.0, 1.0, allow_nan=False))


@st.composite
def funnel_lists(draw):
    lists = {}
    for name in draw(st.permutations(NAMES)):
        shops = draw(st.lists(st.integers(1, 40), max_size=25, unique=True))
        scores = sorted((draw(score_values) for _ in shops), reverse=True)
        with_distance = draw(st.booleans())
        dist = [float(s * 10) for s in shops] if with_distance else None
        if draw(st.booleans()):
            lists[name] = FunnelList(name, shops, scores, dist, [s + 1000 for s in shops])
        else:  # a plain list of candidates, as a custom funnel may return
            lists[name] = [Candidate(s, v, {name: v}, None if dist is None else dist[i], s + 1000)
                           for i, (s, v) in enumerate(zip(shops, scores, strict=True))]
    return lists


@settings(max_examples=150, deadline=None, derandomize=True)
@given(lists=funnel_lists(), k=st.integers(1, 60), method=st.sampled_from(["rrf", "weighted"]),
       quota_share=st.sampled_from([0.0, 0.25, 1.0]),
       weights=st.sampled_from([None, {"content": 0.25}, {"popularity": 0.0, "itemknn": 2.0}]))
def test_the_array_merge_equals_the_per_shop_definition(lists, k, method, quota_share, weights):
    got = merge_candidates(lists, k=k, method=method, quota_share=quota_share, weights=weights)
    want = reference_merge(lists, k=k, method=method, quota_share=quota_share, weights=weights)
    assert [_as_tuple(c) for c in got] == [_as_tuple(c) for c in want]
    if got:
        # The builder's funnel matrices from the merge's own arrays equal those from the candidates' mappings.
        from_merge = _funnel_matrices_from_merge(*got.matrices())
        from_maps = _funnel_matrices(list(got))
        for a, b in zip(from_merge, from_maps, strict=True):
            assert np.array_equal(a, b)


def test_the_merges_matrices_are_offered_only_while_the_list_is_as_made():
    lists = {"content": FunnelList("content", [3, 1, 2], [1.0, 0.5, 0.0], None, [0, 1, 2]),
             "popularity": FunnelList("popularity", [2, 5], [1.0, 0.0], None, [2, 5])}
    merged = merge_candidates(lists, k=10)
    assert isinstance(merged, MergedCandidates) and merged == reference_merge(lists, k=10)
    names, scores, present, ranks = merged.matrices()
    assert names == ("content", "popularity")
    by_shop = {c.shop_id: i for i, c in enumerate(merged)}
    # Shop 5 came first from popularity with a score of 0: kept (its first funnel); shop 2 scored 1 there.
    assert present[by_shop[5]].tolist() == [False, True] and ranks[by_shop[5]].tolist() == [-1, 1]
    assert scores[by_shop[2]].tolist() == [0.0, 1.0] and ranks[by_shop[2]].tolist() == [2, 0]
    merged.reverse()
    assert merged.matrices() is None  # reordered: the builder reads each candidate's own mappings instead
    assert type(merged[:2]) is list  # a slice is a plain list (no matrices to go stale)
