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

import operator
from collections.abc import Mapping, Sequence
from itertools import chain
from typing import Literal

import numpy as np

from naviyam.recommend.funnels.base import Candidate, FunnelList

DEFAULT_CANDIDATES = 100
#: Tuned on held-out orders of half the users of the sample world (benchmarks/retrieval_eval.py, merge grid):
#: weighted RRF with these weights beat the weighted mean of scores by ~2-3 recall points.
#: item-kNN (co-visitation) came later; ``index build`` fits all five weights on the operator's own data.
DEFAULT_FUNNEL_WEIGHTS = {"collaborative": 1.0, "content": 1.0, "contextual": 0.5, "popularity": 0.25, "itemknn": 1.0}


class MergedCandidates(list):
    """The merge's candidates (a list of :class:`Candidate`, best first), with every active funnel's score and rank
    of each as matrices in the list's order. The feature builder reads the matrices instead of one dict per
    candidate; :meth:`matrices` gives them only while the list still holds the very candidates the merge made."""

    def __init__(self, items: list[Candidate], names: tuple[str, ...], scores: np.ndarray, present: np.ndarray,
                 ranks: np.ndarray):
        super().__init__(items)
        self._made = tuple(items)
        self._matrices = (names, scores, present, ranks)

    def matrices(self) -> tuple[tuple[str, ...], np.ndarray, np.ndarray, np.ndarray] | None:
        """(funnel names, scores (0 where absent), whether each funnel scored the shop, 0-based ranks (-1 where
        the funnel did not propose it)), one row per candidate; None once the list was changed."""
        made = getattr(self, "_made", None)
        if made is None or len(made) != len(self) or not all(map(operator.is_, self, made)):
            return None
        return self._matrices


def _columns(name: str, cands: Sequence[Candidate]) -> tuple[list[int], list[float], list, list[int]]:
    """(shop ids, the funnel's scores, distances, rows) of one funnel's proposals, in its order."""
    if isinstance(cands, FunnelList):
        return cands.ids, cands.scores, cands.distances, cands.rows
    return ([c.shop_id for c in cands], [c.funnels.get(name, c.score) for c in cands],
            [c.distance_m for c in cands], [c.row for c in cands])


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
    cols = [_columns(name, lists[name]) for name in active]
    w = np.array([weights.get(n, 1.0) for n in active], dtype=np.float64)
    shops, first, rrf, funnel_scores, present, ranks = _tally(cols, w, rrf_k)
    if method == "rrf":
        merged = rrf / (sum(weights.get(n, 1.0) for n in active) / (rrf_k + 1))
    else:
        merged = np.zeros(len(shops))
        for j in range(len(active)):
            merged = np.where(present[:, j], merged + w[j] * funnel_scores[:, j], merged)
        merged = merged / sum(weights.get(n, 1.0) for n in active)
    out = _choose(cols, shops, merged, k, int(quota_share * k / len(active)))

    distances = list(chain.from_iterable(c[2] for c in cols))
    rows = list(chain.from_iterable(c[3] for c in cols))
    s_out, p_out, r_out = funnel_scores[out], present[out], ranks[out]
    items = []
    for shop, value, at_first, s_row, p_row, r_row in zip(
            shops[out].tolist(), merged[out].tolist(), first[out].tolist(), s_out.tolist(), p_out.tolist(),
            r_out.tolist(), strict=True):
        items.append(Candidate(
            shop, value, {name: s_row[j] for j, name in enumerate(active) if p_row[j]},
            distances[at_first], rows[at_first],
            {name: r_row[j] for j, name in enumerate(active) if r_row[j] >= 0}))
    return MergedCandidates(items, tuple(active), s_out, p_out, r_out)


def _tally(cols: list[tuple[list[int], list[float], list, list[int]]], w: np.ndarray, rrf_k: int):
    """Every proposal in one set of arrays, funnel after funnel in rank order (the order every sum adds in): the
    shops (sorted), where each first appears, its RRF sum, and per funnel its score (0 where absent), whether the
    funnel scored it, and its best rank (-1 where the funnel did not propose it)."""
    sizes = [len(c[0]) for c in cols]
    total = sum(sizes)
    sid = np.fromiter(chain.from_iterable(c[0] for c in cols), dtype=np.int64, count=total)
    score = np.fromiter(chain.from_iterable(c[1] for c in cols), dtype=np.float64, count=total)
    funnel = np.repeat(np.arange(len(cols)), sizes)
    rank = np.concatenate([np.arange(n) for n in sizes])
    shops, first, at = np.unique(sid, return_index=True, return_inverse=True)
    n_shops, n_funnels = len(shops), len(cols)
    rrf = np.zeros(n_shops)
    np.add.at(rrf, at, w[funnel] / (rrf_k + 1 + rank))
    # A funnel's score of a shop: its best proposal of it, kept when it is above 0 or the shop came first from it.
    best = np.full((n_shops, n_funnels), -np.inf)
    np.maximum.at(best, (at, funnel), score)
    present = best > 0.0
    present[np.arange(n_shops), funnel[first]] = True
    no_rank = np.iinfo(np.int64).max
    ranks = np.full((n_shops, n_funnels), no_rank, dtype=np.int64)
    np.minimum.at(ranks, (at, funnel), rank)
    ranks[ranks == no_rank] = -1
    return shops, first, rrf, np.where(present, best, 0.0), present, ranks


def _choose(cols, shops: np.ndarray, merged: np.ndarray, k: int, quota: int) -> np.ndarray:
    """The kept shops' positions in ``shops``, best first: each funnel places its own first ``quota`` shops, the
    best merged scores fill the rest (ties by shop id)."""
    chosen: dict[int, None] = {}
    for ids, *_rest in cols:
        for s in ids[:quota]:
            if len(chosen) >= k:
                break
            chosen.setdefault(s, None)
    order = np.lexsort((shops, -merged))
    keep = np.zeros(len(shops), dtype=bool)
    keep[np.searchsorted(shops, np.fromiter(chosen, dtype=np.int64, count=len(chosen)))] = True
    if len(chosen) < k:
        keep[order[~keep[order]][: k - len(chosen)]] = True
    return order[keep[order]]
