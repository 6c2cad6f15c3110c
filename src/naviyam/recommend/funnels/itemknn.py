"""Item-kNN funnel: shops chosen by the users who chose what this user chose (co-visitation).

Each user's orders, favourites and good reviews make one binary row of the
users × shops matrix. Two shops are similar when the same users chose both:

    sim(i, j) = |U_i ∩ U_j| / (|U_i|^a · |U_j|^(1-a) + shrink)

(``a = 0.5`` is cosine; the shrink term damps pairs seen by few users). Each
shop keeps only its ``neighbours`` most similar shops. A user's score for a
shop is the sum of its similarities to the shops in their history; shops the
user already chose score like any other (whether to show them again is the
caller's choice). Users without history get nothing: cold start is the other
funnels' job.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy import sparse

from naviyam.core.lru import LRU
from naviyam.recommend.funnels.base import Candidate, FitContext, FunnelQuery, top_k_candidates

#: Histories whose scores a serving funnel keeps (a conversation's turns, a user's repeat visits): 12 KB each.
HISTORY_CACHE_SIZE = 512


def knn_similarity(user_items: sparse.csr_matrix, *, neighbours: int = 100, alpha: float = 0.5,
                   shrink: float = 10.0) -> sparse.csr_matrix:
    """Shops × shops similarity (zero diagonal), each row keeping its ``neighbours`` largest entries."""
    b = user_items.tocsr().astype(np.float32)
    b.data[:] = 1.0
    b.eliminate_zeros()
    co = (b.T @ b).tocsr()
    co.setdiag(0.0)
    co.eliminate_zeros()
    n = np.asarray(b.sum(axis=0)).ravel().astype(np.float64)
    coo = co.tocoo()
    denom = np.power(n[coo.row], alpha) * np.power(n[coo.col], 1.0 - alpha) + shrink
    vals = coo.data / np.maximum(denom, 1e-9)
    sim = sparse.csr_matrix((vals.astype(np.float32), (coo.row, coo.col)), shape=co.shape)
    return _keep_top(sim, neighbours)


def _keep_top(m: sparse.csr_matrix, k: int) -> sparse.csr_matrix:
    rows, cols, vals = [], [], []
    for i in range(m.shape[0]):
        s, e = m.indptr[i], m.indptr[i + 1]
        if e == s:
            continue
        d, c = m.data[s:e], m.indices[s:e]
        if e - s > k:
            part = np.argpartition(-d, k - 1)[:k]
            d, c = d[part], c[part]
        rows.append(np.full(len(c), i))
        cols.append(c)
        vals.append(d)
    if not rows:
        return sparse.csr_matrix(m.shape, dtype=np.float32)
    return sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                             shape=m.shape, dtype=np.float32)


class ItemKNNFunnel:
    name = "itemknn"

    def __init__(self, neighbours: int = 100, alpha: float = 0.5, shrink: float = 10.0):
        self.neighbours = neighbours
        self.alpha = alpha
        self.shrink = shrink

    def config(self) -> dict:
        return {"neighbours": self.neighbours, "alpha": self.alpha, "shrink": self.shrink}

    def fit(self, ctx: FitContext) -> ItemKNNFunnel:
        self.matrix_ = ctx.matrix
        self.similarity_ = knn_similarity(ctx.matrix.matrix, neighbours=self.neighbours, alpha=self.alpha,
                                          shrink=self.shrink)
        self._finish(ctx.catalog)
        return self

    def _finish(self, catalog) -> None:
        self.similarity_t_ = self.similarity_.T.tocsr()  # column j: who points at shop j
        self.align(catalog)

    def align(self, catalog) -> None:
        col_of = self._col_of = {int(s): j for j, s in enumerate(self.matrix_.shop_ids)}
        self.row_to_col_ = np.array([col_of.get(int(s), -1) for s in catalog.ids], dtype=np.int64)
        self._catalog = catalog
        self._by_history: LRU[tuple[int, ...], np.ndarray] = LRU(HISTORY_CACHE_SIZE)

    def knows(self, user_id: int | None) -> bool:
        return len(self.matrix_.history(user_id)[0]) > 0

    def scores_by_row(self, user_id: int | None) -> np.ndarray | None:
        """The user's scores over catalog rows: the sum of similarities to the shops in their history (0 for shops
        the model has never seen; None without a history); read-only."""
        cols, _w = self.matrix_.history(user_id)
        return self._scores_by_row(cols.tolist()) if len(cols) else None

    def history_scores_by_row(self, shop_ids) -> np.ndarray | None:
        """Sum of similarities to the given shops (a history as of some moment), over catalog rows; read-only."""
        col_of = self._col_of
        cols = [col_of[int(s)] for s in shop_ids if int(s) in col_of]
        return self._scores_by_row(cols) if cols else None

    def _scores_by_row(self, cols: list[int]) -> np.ndarray:
        """Sum of similarities to the shops of model columns ``cols``, over catalog rows. A history's scores are
        kept (the next turn of a conversation asks again): the array is shared, so it is read-only."""
        key = tuple(sorted(set(cols)))
        out = self._by_history.get(key)
        if out is not None:
            return out
        profile = np.zeros(self.similarity_.shape[0], dtype=np.float32)
        profile[cols] = 1.0
        s = np.asarray(self.similarity_t_ @ profile).ravel()
        out = np.zeros(len(self.row_to_col_), dtype=np.float64)
        has = self.row_to_col_ >= 0
        out[has] = s[self.row_to_col_[has]]
        out.flags.writeable = False
        return self._by_history.put(key, out)

    def candidates(self, query: FunnelQuery, k: int) -> Sequence[Candidate]:
        scores = self.scores_by_row(query.user_id)
        if scores is None:
            return []
        return top_k_candidates(self.name, scores, query.allowed & (scores > 0), k, self._catalog,
                                query.distances)

    # ------------------------------------------------------------------ persistence
    def save(self, folder: Path) -> None:
        sparse.save_npz(folder / "itemknn_similarity.npz", self.similarity_)
        (folder / "itemknn.json").write_text(json.dumps(self.config()), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, ctx: FitContext) -> ItemKNNFunnel:
        f = cls(**json.loads((folder / "itemknn.json").read_text(encoding="utf-8")))
        f.matrix_ = ctx.matrix
        f.similarity_ = sparse.load_npz(folder / "itemknn_similarity.npz").tocsr()
        if f.similarity_.shape[0] != len(ctx.matrix.shop_ids):
            raise ValueError("saved item-kNN similarities do not match the interaction matrix")
        f._finish(ctx.catalog)
        return f
