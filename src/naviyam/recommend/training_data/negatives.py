"""Negatives of a positive: from Layer 1's candidate list and from the whole catalogue."""

from __future__ import annotations

import logging

import numpy as np

from naviyam.recommend.features import (
    InteractionState,
)
from naviyam.recommend.funnels import Candidate
from naviyam.retrieval.catalog import ShopCatalog

log = logging.getLogger(__name__)


def pick_negatives(cands, pos_rank: int, catalog: ShopCatalog, n: int, rng: np.random.Generator,
                    exclude: set[int] | frozenset[int] = frozenset()) -> list[int]:
    """Indices into ``cands``: first a hard negative (best-ranked same category, else best-ranked), then random.

    Shops in ``exclude`` (the user's other choices in the same window) are never negatives.
    """
    others = [r for r in range(len(cands)) if r != pos_rank and cands[r].shop_id not in exclude]
    if not others or n <= 0:
        return []
    pos_cat = catalog.categories[catalog.row_of[cands[pos_rank].shop_id]]
    same = [r for r in others if catalog.categories[catalog.row_of[cands[r].shop_id]] == pos_cat]
    hard = same[0] if same else others[0]
    picked = [hard]
    rest = [r for r in others if r != hard]
    if n > 1 and rest:
        picked.extend(int(x) for x in rng.choice(rest, min(n - 1, len(rest)), replace=False))
    return picked


def order_weights(catalog: ShopCatalog, state: InteractionState) -> np.ndarray:
    """Each catalogue shop's share of past orders (+1 each), the popularity half of the catalogue negatives."""
    weights = np.array([state.shop_orders.get(int(s), 0) + 1.0 for s in catalog.ids])
    return weights / weights.sum()


def catalogue_negatives(catalog: ShopCatalog, state: InteractionState, exclude: set[int], n: int,
                        rng: np.random.Generator, weights: np.ndarray | None = None) -> list:
    """``n`` shops from the whole catalogue, alternately uniform and in proportion to past orders (+1).

    ``weights``: :func:`order_weights` of this ``state`` when the caller already has them.
    """
    out: list = []
    if n <= 0:
        return out
    ids = catalog.ids
    if weights is None:
        weights = order_weights(catalog, state)
    for _ in range(n * 4):
        if len(out) >= n:
            break
        r = int(rng.integers(len(ids))) if (len(out) % 2 == 0) else int(rng.choice(len(ids), p=weights))
        sid = int(ids[r])
        if sid not in exclude:
            exclude.add(sid)
            out.append(Candidate(sid, 0.0))
    return out


