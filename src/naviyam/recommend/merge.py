"""Merge the funnels' candidate lists into one de-duplicated list that keeps provenance.

Each merged :class:`Candidate` carries ``funnels``: funnel name → that funnel's
normalised score, for every funnel that proposed the shop (Layer 2 features).
The merged ``score`` (in [0, 1]) is, by default, weighted reciprocal rank
fusion ``sum_f w_f / (rrf_k + 1 + rank_f)`` divided by its maximum; with
``method="weighted"`` it is the weighted mean of the funnel scores over the
active funnels (a funnel that did not propose the shop counts 0). Either way
shops proposed by several funnels rise.

So that no funnel is crowded out, each active funnel first places its own top
``quota_share * k / n_active`` shops; the remaining places go to the best
merged scores. The final list is ordered by merged score.
"""

from __future__ import annotations

from typing import Literal

from naviyam.recommend.funnels.base import Candidate

DEFAULT_CANDIDATES = 100
#: Tuned on held-out orders of half the users of the sample world (benchmarks/retrieval_eval.py, merge grid):
#: weighted RRF with these weights beat the weighted mean of scores by ~2-3 recall points.
#: item-kNN (co-visitation) came later; ``index build`` fits all five weights on the operator's own data.
DEFAULT_FUNNEL_WEIGHTS = {"collaborative": 1.0, "content": 1.0, "contextual": 0.5, "popularity": 0.25, "itemknn": 1.0}


def merge_candidates(
    lists: dict[str, list[Candidate]],
    k: int = DEFAULT_CANDIDATES,
    weights: dict[str, float] | None = None,
    quota_share: float = 0.25,
    method: Literal["weighted", "rrf"] = "rrf",
    rrf_k: int = 60,
) -> list[Candidate]:
    weights = {**DEFAULT_FUNNEL_WEIGHTS, **(weights or {})}
    active = [name for name, cands in lists.items() if cands]
    if not active or k <= 0:
        return []
    merged: dict[int, Candidate] = {}
    rrf: dict[int, float] = {}
    for name in active:
        w = weights.get(name, 1.0)
        for rank, c in enumerate(lists[name]):
            sid = c.shop_id
            m = merged.get(sid)
            score = c.funnels.get(name, c.score)
            if m is None:
                merged[sid] = Candidate(sid, 0.0, {name: score}, c.distance_m, c.row, {name: rank})
                rrf[sid] = w / (rrf_k + 1 + rank)
                continue
            if score > m.funnels.get(name, 0.0):
                m.funnels[name] = score
            if rank < m.ranks.get(name, rank + 1):
                m.ranks[name] = rank
            rrf[sid] += w / (rrf_k + 1 + rank)
    wsum = sum(weights.get(n, 1.0) for n in active)
    top_rrf = sum(weights.get(n, 1.0) for n in active) / (rrf_k + 1)
    for m in merged.values():
        if method == "rrf":
            m.score = rrf[m.shop_id] / top_rrf
        else:
            m.score = sum(weights.get(n, 1.0) * s for n, s in m.funnels.items()) / wsum

    chosen: dict[int, Candidate] = {}
    quota = int(quota_share * k / len(active))
    for name in active:
        for c in lists[name][:quota]:
            if len(chosen) >= k:
                break
            chosen.setdefault(c.shop_id, merged[c.shop_id])
    for m in sorted(merged.values(), key=lambda c: (-c.score, c.shop_id)):
        if len(chosen) >= k:
            break
        chosen.setdefault(m.shop_id, m)
    return sorted(chosen.values(), key=lambda c: (-c.score, c.shop_id))
