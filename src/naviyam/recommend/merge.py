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

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from naviyam.recommend.funnels.base import Candidate, FunnelList

DEFAULT_CANDIDATES = 100
#: Tuned on held-out orders of half the users of the sample world (benchmarks/retrieval_eval.py, merge grid):
#: weighted RRF with these weights beat the weighted mean of scores by ~2-3 recall points.
#: item-kNN (co-visitation) came later; ``index build`` fits all five weights on the operator's own data.
DEFAULT_FUNNEL_WEIGHTS = {"collaborative": 1.0, "content": 1.0, "contextual": 0.5, "popularity": 0.25, "itemknn": 1.0}


def _entries(name: str, cands: Sequence[Candidate]) -> Iterable[tuple[int, float, float | None, int]]:
    """(shop id, the funnel's score, distance, row) of each proposal, read straight from a :class:`FunnelList`."""
    if isinstance(cands, FunnelList):
        return zip(cands.ids, cands.scores, cands.distances, cands.rows, strict=True)
    return ((c.shop_id, c.funnels.get(name, c.score), c.distance_m, c.row) for c in cands)


def merge_candidates(
    lists: Mapping[str, Sequence[Candidate]],
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
    # Per shop while merging: [funnel scores, funnel ranks, distance_m, row, RRF sum]; Candidate objects are
    # made only for the k shops kept (a request merges ~250 shops into 100).
    merged: dict[int, list[Any]] = {}
    for name in active:
        w = weights.get(name, 1.0)
        for rank, (sid, score, distance, row) in enumerate(_entries(name, lists[name])):
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
    top_rrf = sum(weights.get(n, 1.0) for n in active) / (rrf_k + 1)
    if method == "rrf":
        scores = {sid: m[4] / top_rrf for sid, m in merged.items()}
    else:
        scores = {sid: sum(weights.get(n, 1.0) * s for n, s in m[0].items()) / wsum for sid, m in merged.items()}

    def best_first(sid: int) -> tuple[float, int]:
        return -scores[sid], sid

    chosen: dict[int, None] = {}
    quota = int(quota_share * k / len(active))
    for name in active:
        for sid, *_rest in _entries(name, lists[name][:quota]):
            if len(chosen) >= k:
                break
            chosen.setdefault(sid, None)
    for sid in sorted(scores, key=best_first):
        if len(chosen) >= k:
            break
        chosen.setdefault(sid, None)
    out = []
    for sid in sorted(chosen, key=best_first):
        funnels, ranks, distance, row, _rrf = merged[sid]
        out.append(Candidate(sid, scores[sid], funnels, distance, row, ranks))
    return out
