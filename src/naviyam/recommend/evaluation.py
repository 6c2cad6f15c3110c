"""Full-ranking evaluation on a temporal hold-out, side by side with the standard peers.

The protocol (full ranking over every shop, every method side by side):

- the hold-out is every order at or after a cut-off; for each user known
  before the cut, the *relevant* shops are those they ordered in the hold-out
  and had not ordered before (earlier orders are excluded from every ranking,
  so a method never gains by repeating history);
- every method ranks the **whole catalogue** (a method that returns a short
  list, like Layer 1, simply misses what it did not return);
- peers are fitted on the same interactions before the cut: popularity
  (order count), implicit ALS, and item-kNN (implicit's cosine, BM25 and
  plain co-occurrence ``ItemItemRecommender``; ``itemknn`` is the best of the
  three on the hold-out itself, which favours the peer).

Metrics per method (means over users with at least one relevant shop):
NDCG@10 = DCG@10 / IDCG@10 with binary gains (IDCG over min(|rel|, 10) hits),
Recall@k = hits in the top k / |rel|, MRR = 1 / rank of the first relevant
shop (0 beyond the list), AUC over every non-excluded shop (unlisted shops
tie at the bottom), catalogue coverage of the top-10 lists, the share of
meal-card and good shops in the top 10 and their intra-list diversity
(share of pairs of different categories).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from implicit.cpu.als import AlternatingLeastSquares
from implicit.nearest_neighbours import BM25Recommender, CosineRecommender, ItemItemRecommender
from scipy import sparse
from threadpoolctl import threadpool_limits

from naviyam.recommend.interactions import InteractionMatrix
from naviyam.recommend.metrics import DEFAULT_K, intra_list_diversity, roc_auc
from naviyam.retrieval.catalog import ShopCatalog

log = logging.getLogger(__name__)

#: Methods of the report, in this order; ``--json`` prints at least these.
METHODS = ("popularity", "itemknn", "als", "layer1", "wide_deep")
#: How deep every ranking is taken (MRR and AUC look this far; Layer 1 returns about this many).
DEPTH = 100
#: A seed for every peer that has random state.
SEED = 42
#: The request every method answers in the evaluation: a known user who is simply hungry, no filters.
VAGUE_NLU = {"text": "오늘 뭐 먹지?", "intent": "FOOD_RECOMMENDATION", "confidence": 1.0, "entities": [],
             "filters": {}}


@dataclass
class Holdout:
    """What the hold-out asks: ``relevant[u]`` shops to find, ``seen[u]`` shops to exclude."""

    cutoff: dt.datetime
    relevant: dict[int, set[int]]
    seen: dict[int, set[int]]

    @property
    def users(self) -> list[int]:
        return sorted(u for u, r in self.relevant.items() if r)


def make_holdout(cutoff: dt.datetime, heldout: Iterable[tuple[int, int]], earlier: Iterable[tuple[int, int]],
                 known_users: Iterable[int] | None = None) -> Holdout:
    """From (user, shop) orders after and before the cut: users known before it, new shops only."""
    seen: dict[int, set[int]] = {}
    for u, s in earlier:
        seen.setdefault(int(u), set()).add(int(s))
    known = set(seen) if known_users is None else {int(u) for u in known_users}
    relevant: dict[int, set[int]] = {}
    for u, s in heldout:
        u, s = int(u), int(s)
        if u in known and s not in seen.get(u, ()):
            relevant.setdefault(u, set()).add(s)
    return Holdout(cutoff, relevant, {u: seen.get(u, set()) for u in relevant})


# --------------------------------------------------------------------------- metrics


def _ndcg(hits: np.ndarray, n_rel: int, k: int) -> float:
    gains = hits[:k] / np.log2(np.arange(2, min(k, len(hits)) + 2))
    ideal = (1.0 / np.log2(np.arange(2, min(k, n_rel) + 2))).sum()
    return float(gains.sum() / ideal) if ideal > 0 else 0.0


def evaluate_lists(lists: Mapping[int, Sequence[int]], holdout: Holdout, catalog: ShopCatalog,
                   k: int = DEFAULT_K) -> dict[str, float]:
    """Metrics of one method's ranked lists (user -> shop ids, best first; excluded shops are dropped here)."""
    sums: dict[str, float] = {}
    tops: list[list[int]] = []
    n = 0
    n_cat = len(catalog)
    row_of = catalog.row_of
    for u in holdout.users:
        rel = holdout.relevant[u]
        seen = holdout.seen.get(u, set())
        ranked = [int(s) for s in lists.get(u, ()) if int(s) not in seen and int(s) in row_of]
        ranked = list(dict.fromkeys(ranked))[:DEPTH]
        hits = np.array([1.0 if s in rel else 0.0 for s in ranked])
        if len(hits) == 0:
            hits = np.zeros(1)
        n += 1
        first = np.flatnonzero(hits)
        vals = {
            f"ndcg@{k}": _ndcg(hits, len(rel), k),
            f"recall@{k}": float(hits[:k].sum() / len(rel)),
            f"recall@{DEPTH}": float(hits[:DEPTH].sum() / len(rel)),
            f"hit_rate@{k}": float(hits[:k].any()),
            "mrr": float(1.0 / (first[0] + 1)) if len(first) else 0.0,
        }
        # AUC over every shop not excluded: listed shops score by position, the rest tie at 0
        score = np.zeros(n_cat)
        for pos, s in enumerate(ranked):
            score[row_of[s]] = len(ranked) - pos
        keep = np.ones(n_cat, dtype=bool)
        keep[[row_of[s] for s in seen if s in row_of]] = False
        y = np.zeros(n_cat)
        y[[row_of[s] for s in rel if s in row_of]] = 1.0
        vals["auc"] = roc_auc(y[keep], score[keep])
        top = ranked[:k]
        tops.append(top)
        rows = [row_of[s] for s in top]
        vals["meal_card_share"] = float(np.mean(catalog.accepts_meal_card[rows])) if rows else 0.0
        vals["good_shop_share"] = float(np.mean(catalog.is_good_shop[rows])) if rows else 0.0
        vals["diversity"] = intra_list_diversity([catalog.categories[r] for r in rows])
        for key, v in vals.items():
            if not np.isnan(v):
                sums[key] = sums.get(key, 0.0) + v
    out = {key: v / n for key, v in sums.items()} if n else {}
    seen_shops = {s for t in tops for s in t}
    out["coverage"] = len(seen_shops) / max(1, n_cat)
    out["n_users"] = float(n)
    return out


# --------------------------------------------------------------------------- peers


def _top(scores: np.ndarray, exclude: Iterable[int], depth: int = DEPTH) -> np.ndarray:
    s = np.asarray(scores, dtype=np.float64).copy()
    ex = list(exclude)
    if ex:
        s[ex] = -np.inf
    depth = min(depth, len(s))
    part = np.argpartition(-s, depth - 1)[:depth]
    part = part[np.isfinite(s[part])]
    return part[np.lexsort((part, -s[part]))]


def peer_rankings(matrix: InteractionMatrix, orders: sparse.csr_matrix, holdout: Holdout,
                  *, factors: int = 64, regularization: float = 0.05, iterations: int = 15,
                  neighbours: int = 100) -> dict[str, dict[int, list[int]]]:
    """Popularity, ALS and three item-kNN variants, each ranking every shop for every hold-out user.

    ``matrix`` is the users × shops weighted interaction matrix (orders,
    favourites, good reviews) the peers learn from; ``orders`` (same shape)
    counts orders only, for popularity.
    """
    ui = matrix.matrix.tocsr().astype(np.float32)
    col_of = {int(s): j for j, s in enumerate(matrix.shop_ids)}
    ids = matrix.shop_ids
    users = [u for u in holdout.users if int(u) in matrix.user_row]
    excl = {u: [col_of[s] for s in holdout.seen.get(u, ()) if s in col_of] for u in users}
    out: dict[str, dict[int, list[int]]] = {}

    pop = np.asarray(orders.sum(axis=0)).ravel()
    out["popularity"] = {u: ids[_top(pop, excl[u])].tolist() for u in users}

    threads = min(2, os.cpu_count() or 1)
    with threadpool_limits(1, "blas"):
        conf = ui.copy()
        conf.data = (1.0 + 5.0 * np.log1p(conf.data)).astype(np.float32)
        als = AlternatingLeastSquares(factors=factors, regularization=regularization, iterations=iterations,
                                      random_state=SEED, num_threads=threads, calculate_training_loss=False)
        als.fit(conf, show_progress=False)
        uf, itf = np.asarray(als.user_factors), np.asarray(als.item_factors)
        out["als"] = {u: ids[_top(itf @ uf[matrix.user_row[u]], excl[u])].tolist() for u in users}
        binary = ui.astype(np.float64)
        binary.data[:] = 1.0
        for name, model in (("itemknn_cosine", CosineRecommender(K=neighbours, num_threads=threads)),
                            ("itemknn_bm25", BM25Recommender(K=neighbours, num_threads=threads)),
                            ("itemknn_cooccurrence", ItemItemRecommender(K=neighbours, num_threads=threads))):
            model.fit(binary, show_progress=False)
            sim = model.similarity.tocsr()
            lists = {}
            for u in users:
                row = binary[matrix.user_row[u]]
                lists[u] = ids[_top(np.asarray((row @ sim).todense()).ravel(), excl[u])].tolist()
            out[name] = lists
    return out


def best_itemknn(results: dict[str, dict[str, float]], metric: str = "ndcg@10") -> str:
    """The item-kNN variant with the best ``metric`` (reported as ``itemknn``)."""
    names = [m for m in results if m.startswith("itemknn_")]
    return max(names, key=lambda m: results[m].get(metric, 0.0))


def side_by_side(lists: dict[str, dict[int, list[int]]], holdout: Holdout, catalog: ShopCatalog,
                 k: int = DEFAULT_K) -> dict[str, dict[str, float]]:
    """Metrics of every method, plus ``itemknn`` (the best variant, named in ``itemknn_variant``)."""
    results = {name: evaluate_lists(ls, holdout, catalog, k) for name, ls in lists.items()}
    if any(m.startswith("itemknn_") for m in results):
        best = best_itemknn(results)
        results["itemknn"] = {**results[best]}
    return results


def served_lists(recommend: Callable[[int], Sequence[int]], users: Iterable[int]) -> dict[int, list[int]]:
    """Ranked shop ids per user from any recommend callable (the engine, or the HTTP API)."""
    return {int(u): [int(s) for s in recommend(int(u))] for u in users}
