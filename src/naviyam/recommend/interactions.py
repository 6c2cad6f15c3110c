"""Implicit feedback from the operator's tables: orders, favourites and good reviews, weighted.

:class:`Interactions` holds the raw events (numpy columns); :func:`interaction_matrix`
turns them into a users × shops CSR of confidence weights over a catalog's rows,
which the collaborative and content funnels share.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sqlalchemy import Engine, select

from naviyam.core.privacy import training_exclusions
from naviyam.db.models import ProductOrder, Review, User, UserFavorite

#: Weight of one event of each kind in the implicit-feedback matrix.
ORDER_WEIGHT = 1.0
FAVORITE_WEIGHT = 3.0
GOOD_REVIEW_WEIGHT = 2.0
#: Reviews at or above this rating count as positive feedback (label 1 for review >= 4).
GOOD_REVIEW_MIN_RATING = 4


def _ts(values) -> np.ndarray:
    return np.array(values, dtype="datetime64[s]") if len(values) else np.zeros(0, dtype="datetime64[s]")


@dataclass
class EventTable:
    user_id: np.ndarray
    shop_id: np.ndarray
    at: np.ndarray  # datetime64[s]

    def __len__(self) -> int:
        return len(self.user_id)

    def select(self, keep: np.ndarray) -> EventTable:
        return EventTable(self.user_id[keep], self.shop_id[keep], self.at[keep])


@dataclass
class Interactions:
    orders: EventTable
    favorites: EventTable
    good_reviews: EventTable

    @classmethod
    def load(cls, engine: Engine, until: dt.datetime | None = None, *, trainable_only: bool = True) -> Interactions:
        """Every event strictly before ``until`` (all events when None).

        What models are fitted on: unless ``trainable_only`` is off, the events of users no training may
        use (children without a guardian's consent, erased users: :func:`~naviyam.core.privacy.training_exclusions`)
        are left out.
        """
        excluded = training_exclusions(engine) if trainable_only else frozenset()

        def table(user_col, shop_col, at_col, *where):
            q = select(user_col, shop_col, at_col).where(*where)
            if until is not None:
                q = q.where(at_col < until)
            with engine.connect() as conn:
                rows = conn.execute(q).all()
            if excluded:
                rows = [r for r in rows if int(r[0]) not in excluded]
            return EventTable(
                np.array([r[0] for r in rows], dtype=np.int64),
                np.array([r[1] for r in rows], dtype=np.int64),
                _ts([r[2] for r in rows]),
            )

        return cls(
            orders=table(ProductOrder.user_id, ProductOrder.shop_id, ProductOrder.ordered_at),
            favorites=table(UserFavorite.user_id, UserFavorite.shop_id, UserFavorite.created_at),
            good_reviews=table(Review.user_id, Review.shop_id, Review.created_at,
                               Review.rating >= GOOD_REVIEW_MIN_RATING),
        )

    @classmethod
    def empty(cls) -> Interactions:
        def none() -> EventTable:
            return EventTable(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), _ts([]))

        return cls(none(), none(), none())

    def window(self) -> tuple[dt.datetime | None, dt.datetime | None]:
        stamps = [t.at for t in (self.orders, self.favorites, self.good_reviews) if len(t)]
        if not stamps:
            return None, None
        lo = min(s.min() for s in stamps).astype("datetime64[s]").item()
        hi = max(s.max() for s in stamps).astype("datetime64[s]").item()
        return lo, hi

    def weighted(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(user_ids, shop_ids, weights) of every event."""
        parts = [(self.orders, ORDER_WEIGHT), (self.favorites, FAVORITE_WEIGHT), (self.good_reviews, GOOD_REVIEW_WEIGHT)]
        users = np.concatenate([t.user_id for t, _ in parts])
        shops = np.concatenate([t.shop_id for t, _ in parts])
        weights = np.concatenate([np.full(len(t), w, dtype=np.float32) for t, w in parts])
        return users, shops, weights


@dataclass
class InteractionMatrix:
    """Users × catalog rows of summed weights; ``user_ids[i]`` is row i."""

    user_ids: np.ndarray
    shop_ids: np.ndarray  # the catalog's ids at build time: column j is shop_ids[j]
    matrix: sparse.csr_matrix

    def __post_init__(self) -> None:
        self.user_row = {int(u): i for i, u in enumerate(self.user_ids)}

    def history(self, user_id: int | None) -> tuple[np.ndarray, np.ndarray]:
        """(columns, weights) of the user's interacted shops; empty for unknown users."""
        i = self.user_row.get(int(user_id)) if user_id is not None else None
        if i is None:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        start, end = self.matrix.indptr[i], self.matrix.indptr[i + 1]
        return self.matrix.indices[start:end].astype(np.int64), self.matrix.data[start:end]

    def save(self, folder, prefix: str = "interactions") -> None:
        sparse.save_npz(folder / f"{prefix}_matrix.npz", self.matrix)
        np.save(folder / f"{prefix}_users.npy", self.user_ids)
        np.save(folder / f"{prefix}_shops.npy", self.shop_ids)

    @classmethod
    def load(cls, folder, prefix: str = "interactions") -> InteractionMatrix:
        return cls(np.load(folder / f"{prefix}_users.npy"), np.load(folder / f"{prefix}_shops.npy"),
                   sparse.load_npz(folder / f"{prefix}_matrix.npz").tocsr())


def interaction_matrix(interactions: Interactions, shop_ids: np.ndarray) -> InteractionMatrix:
    users, shops, weights = interactions.weighted()
    col_of = {int(s): j for j, s in enumerate(shop_ids)}
    cols = np.array([col_of.get(int(s), -1) for s in shops], dtype=np.int64)
    keep = cols >= 0
    users, cols, weights = users[keep], cols[keep], weights[keep]
    uniq_users, rows = np.unique(users, return_inverse=True)
    m = sparse.csr_matrix((weights, (rows, cols)), shape=(len(uniq_users), len(shop_ids)), dtype=np.float32)
    m.sum_duplicates()
    return InteractionMatrix(uniq_users.astype(np.int64), np.asarray(shop_ids, dtype=np.int64), m)


@dataclass(frozen=True)
class UserRow:
    """What the recommender reads about a user: birthday, home area, meal card."""

    id: int
    birthday: dt.date | None
    district: str | None
    dong: str | None
    is_meal_card_holder: bool


def load_users(engine: Engine, user_id: int | None = None) -> list[UserRow]:
    """Every user (or only ``user_id``): the one user loader of Layer 1 and the ranker's features."""
    q = select(User.id, User.birthday, User.district, User.dong, User.is_meal_card_holder)
    if user_id is not None:
        q = q.where(User.id == int(user_id))
    with engine.connect() as conn:
        return [UserRow(int(r[0]), r[1], r[2], r[3], bool(r[4])) for r in conn.execute(q)]
