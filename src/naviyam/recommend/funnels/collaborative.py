"""Collaborative funnel: implicit ALS over weighted orders, favourites and good reviews.

Users with at least ``min_history`` distinct shops are scored with their ALS
factors; users with less history fall back to item-item similarity (cosine
over co-interactions: a shop scores by how much its users overlap with the
users of the shops this user chose). Unknown users get nothing: cold start is
the other funnels' job.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from implicit.cpu.als import AlternatingLeastSquares
from scipy import sparse
from threadpoolctl import threadpool_limits

from naviyam.recommend.funnels.base import Candidate, FitContext, FunnelQuery, top_k_candidates

log = logging.getLogger(__name__)


class CollaborativeFunnel:
    name = "collaborative"

    def __init__(self, factors: int = 48, regularization: float = 0.05, iterations: int = 15,
                 alpha: float = 5.0, min_history: int = 3, random_state: int = 42):
        self.factors = factors
        self.regularization = regularization
        self.iterations = iterations
        self.alpha = alpha
        self.min_history = min_history
        self.random_state = random_state

    def config(self) -> dict:
        return {"factors": self.factors, "regularization": self.regularization, "iterations": self.iterations,
                "alpha": self.alpha, "min_history": self.min_history, "random_state": self.random_state}

    def fit(self, ctx: FitContext) -> CollaborativeFunnel:
        m = ctx.matrix
        self.matrix_ = m
        conf = m.matrix.copy().astype(np.float32)
        conf.data = (self.alpha * np.log1p(conf.data)).astype(np.float32)
        if conf.nnz and conf.shape[0] > 1:
            with threadpool_limits(1, "blas"):
                model = AlternatingLeastSquares(
                    factors=self.factors, regularization=self.regularization, iterations=self.iterations,
                    random_state=self.random_state, num_threads=min(2, os.cpu_count() or 1),
                    calculate_training_loss=False,
                )
                model.fit(conf, show_progress=False)
            self.user_factors_ = np.asarray(model.user_factors, dtype=np.float32)
            self.item_factors_ = np.asarray(model.item_factors, dtype=np.float32)
        else:
            self.user_factors_ = np.zeros((conf.shape[0], self.factors), dtype=np.float32)
            self.item_factors_ = np.zeros((conf.shape[1], self.factors), dtype=np.float32)
        self._item_item()
        self.align(ctx.catalog)
        return self

    def _item_item(self) -> None:
        """Items × users, rows L2-normalised, for cosine item-item scores."""
        iu = self.matrix_.matrix.T.tocsr().astype(np.float32)
        iu.data = np.log1p(iu.data)
        norms = np.sqrt(np.asarray(iu.multiply(iu).sum(axis=1)).ravel())
        self.item_users_ = sparse.diags(1.0 / np.maximum(norms, 1e-9)).dot(iu).tocsr()
        self.user_items_t_ = self.item_users_.T.tocsr()

    def align(self, catalog) -> None:
        """Map the model's shop columns onto catalog rows (new shops have no column)."""
        col_of = {int(s): j for j, s in enumerate(self.matrix_.shop_ids)}
        self.row_to_col_ = np.array([col_of.get(int(s), -1) for s in catalog.ids], dtype=np.int64)
        self._catalog = catalog

    def knows(self, user_id: int | None) -> bool:
        return len(self.matrix_.history(user_id)[0]) > 0

    def user_scores(self, user_id: int | None) -> np.ndarray | None:
        """Scores over the model's shop columns, or None for users without history."""
        cols, weights = self.matrix_.history(user_id)
        if len(cols) == 0:
            return None
        if len(cols) >= self.min_history:
            u = self.matrix_.user_row[int(user_id)]
            return self.item_factors_ @ self.user_factors_[u]
        # item-item: sum over the user's shops of cosine(shop, candidate), weighted
        profile = np.zeros(self.item_users_.shape[0], dtype=np.float32)
        profile[cols] = np.log1p(weights)
        user_vec = self.user_items_t_ @ profile  # users
        return self.item_users_ @ user_vec

    def candidates(self, query: FunnelQuery, k: int) -> Sequence[Candidate]:
        s = self.user_scores(query.user_id)
        if s is None:
            return []
        catalog = self._catalog
        scores = np.full(len(catalog), -np.inf)
        has = self.row_to_col_ >= 0
        scores[has] = s[self.row_to_col_[has]]
        return top_k_candidates(self.name, scores, query.allowed, k, catalog, query.distances)

    # ------------------------------------------------------------------ persistence
    def save(self, folder: Path) -> None:
        np.save(folder / "als_user_factors.npy", self.user_factors_)
        np.save(folder / "als_item_factors.npy", self.item_factors_)
        np.save(folder / "als_shop_ids.npy", self.matrix_.shop_ids)
        np.save(folder / "als_user_ids.npy", self.matrix_.user_ids)
        (folder / "collaborative.json").write_text(json.dumps(self.config()), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, ctx: FitContext) -> CollaborativeFunnel:
        f = cls(**json.loads((folder / "collaborative.json").read_text(encoding="utf-8")))
        f.matrix_ = ctx.matrix
        if not (np.array_equal(np.load(folder / "als_shop_ids.npy"), f.matrix_.shop_ids)
                and np.array_equal(np.load(folder / "als_user_ids.npy"), f.matrix_.user_ids)):
            raise ValueError("saved ALS factors do not match the interaction matrix they are loaded with")
        f.user_factors_ = np.load(folder / "als_user_factors.npy")
        f.item_factors_ = np.load(folder / "als_item_factors.npy")
        f._item_item()
        f.align(ctx.catalog)
        return f
