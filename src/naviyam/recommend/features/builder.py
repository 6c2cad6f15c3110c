"""Building feature rows for a request's candidates (vectorised over the candidates)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from naviyam.core.geo import distances_from_m
from naviyam.recommend.features.definitions import (
    DIETARY_PREFERENCES,
    DISMISS_SATURATION,
    DISTANCE_SCALE_M,
    EXTRA_FUNNELS,
    GOOD_SHOP_VALUE,
    HISTORY_SATURATION,
    NUM_DIM,
    NUM_SCALES,
    RANKED_FUNNELS,
    SEED_FUNNELS,
    TIME_BUCKETS,
    WIDE_DIM,
    WIDE_NAMES,
    CandidateLike,
    FeatureRows,
    RankingQuery,
    W,
    _dish_fits,
    age_at,
    age_group,
    budget_compatibility,
    candidate_funnels,
    history_feature,
    rating_feature,
    time_bucket,
)
from naviyam.recommend.features.state import InteractionState
from naviyam.retrieval.catalog import ShopCatalog


class FeatureBuilder:
    """Computes :class:`FeatureRows` for a query and its candidates over one catalog.

    Static per-shop figures (cheapest menu, dietary fit, opening hours) are
    precomputed once; per-request work is a few numpy operations over the
    candidate rows.
    """

    def __init__(self, catalog: ShopCatalog):
        self.catalog = catalog
        n = len(catalog)
        self.diet_fit = {p: np.zeros(n, dtype=np.float64) for p in DIETARY_PREFERENCES}
        for i, menus in enumerate(catalog.menus):
            cat = catalog.categories[i]
            for p in DIETARY_PREFERENCES:
                if menus:
                    self.diet_fit[p][i] = float(np.mean([_dish_fits(p, m.dish, cat) for m in menus]))
                else:
                    self.diet_fit[p][i] = float(_dish_fits(p, None, cat))
        o = catalog.open_min.astype(np.int32)
        c = catalog.close_min.astype(np.int32)
        minutes = np.where(o == c, 24 * 60, (c - o) % (24 * 60))
        self.operating_hours = minutes / 60.0
        self.brand = np.array([b if b is not None else -1 for b in catalog.brand_ids], dtype=np.int64)
        self.avg_price = np.nan_to_num(catalog.avg_price, nan=0.0)
        self._figures: ShopFigures | None = None  # every catalog shop's figures at one state version (steady)
        self._figures_seen_version: int | None = None
        self._figures_seen = 0

    def rows(self, shop_ids: Sequence[int]) -> np.ndarray:
        row_of = self.catalog.row_of
        ids = shop_ids.tolist() if isinstance(shop_ids, np.ndarray) else [int(s) for s in shop_ids]
        rows = [row_of.get(s) for s in ids]
        if None in rows:
            missing = [s for s, r in zip(ids, rows, strict=True) if r is None]
            raise KeyError(f"shops not in the catalog: {missing[:5]}")
        return np.array(rows, dtype=np.int64)

    def build(self, query: RankingQuery, candidates: Sequence[CandidateLike],
              state: InteractionState, similarity: SimilaritySource | None = None) -> FeatureRows:
        """Features of every candidate for this query, as of ``query.when`` in ``state``.

        ``similarity`` (the item-kNN funnel) gives slot 27; without it the slot is 0.
        """
        cat = self.catalog
        shop_ids = np.array([int(c.shop_id) for c in candidates], dtype=np.int64)
        shop_list = shop_ids.tolist()
        rows = self.rows(shop_ids)
        n = len(rows)
        wide = np.zeros((n, WIDE_DIM), dtype=np.float64)
        num = np.zeros((n, NUM_DIM), dtype=np.float64)
        uid = query.user_id
        user = state.users.get(uid) if uid is not None else None
        age = age_at(user.birthday, query.when) if user else None
        group = age_group(age)
        tod = query.filters.get("time_of_day")
        tb = tod if tod in TIME_BUCKETS else time_bucket(query.when)
        row_list = rows.tolist()
        categories = [cat.categories[r] for r in row_list]
        districts = [cat.districts[r] for r in row_list]

        _cross_slots(wide, state, group, tb, categories)  # 0, 2
        _user_slots(wide, uid, user, state, shop_list, districts)
        # 4: budget
        budget = query.filters.get("budget_filter")
        if budget is None:
            budget = state.user_mean_amount(uid)
        wide[:, W["budget_compatibility"]] = [budget_compatibility(p, budget) for p in cat.min_price[rows].tolist()]
        dist = self._distance_slot(wide, query, rows)  # 5
        # 6: dietary
        prefs = [p for p in (query.filters.get("dietary_preferences") or []) if p in self.diet_fit]
        if prefs:
            wide[:, W["dietary_match"]] = np.mean([self.diet_fit[p][rows] for p in prefs], axis=0)
        else:
            wide[:, W["dietary_match"]] = 0.5
        # 7, 8: good shop, rating (as of the request)
        wide[:, W["good_shop"]] = np.where(cat.is_good_shop[rows], GOOD_SHOP_VALUE, 0.0)
        figures = self._shop_figures(state, shop_list, rows)
        wide[:, W["rating"]] = figures.rating_feature
        # 9-16, and 17-23: which funnels proposed the shop, their scores (the item-kNN funnel's too), their ranks
        flags, scores, ranks = _funnel_block(candidates)
        _funnel_slots(wide, flags, scores, ranks)
        self._dynamic(wide, query, candidates, flags.any(axis=1), shop_ids, rows, categories, state, similarity,
                      figures)

        num = self._numerical(num, uid, age, state, rows, figures)

        return FeatureRows(
            user_id=np.full(n, uid if uid is not None else -1, dtype=np.int64),
            shop_id=shop_ids,
            brand_id=self.brand[rows],
            category=categories,
            semantic_query=[query.semantic_query or ""] * n,
            wide=wide.astype(np.float32),
            numerical=num.astype(np.float32),
            distance_m=dist,
        )


    def _distance_slot(self, wide: np.ndarray, query: RankingQuery, rows: np.ndarray) -> np.ndarray:
        """Slot 5, exp(-distance / 1 km) from the query's position; the distances (NaN without a position)."""
        if query.position is None:
            return np.full(len(rows), np.nan)
        cat = self.catalog
        dist = distances_from_m(query.position[0], query.position[1], cat.lat[rows], cat.lon[rows])
        wide[:, W["distance"]] = np.exp(-dist / DISTANCE_SCALE_M)
        return dist

    def _shop_figures(self, state: InteractionState, shop_ids: list[int], rows: np.ndarray) -> ShopFigures:
        """The candidates' own figures as of ``state``: gathered from a table of every catalog shop once the state's
        figures have stayed the same for :data:`FIGURES_STEADY` builds (a server between refreshes), else read per
        shop (a training-set builder applies events between its builds)."""
        version = state.shop_figures_version
        table = self._figures
        if table is not None and table.version == version:
            return table.take(rows)
        self._figures_seen = self._figures_seen + 1 if self._figures_seen_version == version else 1
        self._figures_seen_version = version
        if self._figures_seen >= FIGURES_STEADY:
            self._figures = ShopFigures.of(state, self.catalog.ids.tolist(), version)
            return self._figures.take(rows)
        return ShopFigures.of(state, shop_ids, version)

    def _numerical(self, num: np.ndarray, uid: int | None, age: float | None, state: InteractionState,
                   rows: np.ndarray, figures: ShopFigures) -> np.ndarray:
        """The numerical features (the user's age and counts, the shop's prices, menus, rating, counts, hours),
        scaled into [0, 1]."""
        cat = self.catalog
        if uid is not None:
            num[:, 0] = (age or 0.0)
            num[:, 1] = state.user_favs.get(uid, 0)
            num[:, 2] = state.user_orders.get(uid, 0)
            num[:, 3] = state.user_reviews.get(uid, 0)
        num[:, 4] = self.avg_price[rows]
        num[:, 5] = cat.menu_count[rows]
        num[:, 6] = np.nan_to_num(figures.rating, nan=0.0)
        num[:, 7] = figures.reviews
        num[:, 8] = figures.orders
        num[:, 9] = self.operating_hours[rows]
        return np.clip(num / NUM_SCALES, 0.0, 1.0)

    def _dynamic(self, wide, query, candidates, proposed, shop_ids, rows, categories, state,
                 similarity, figures: ShopFigures) -> None:
        """Slots 24-30: Layer 1's score (of a shop some funnel proposed), recent popularity, recency, similarity,
        taste."""
        wide[:, W["layer1_score"]] = [min(1.0, max(0.0, float(getattr(c, "score", 0.0) or 0.0)))
                                      if m else 0.0 for c, m in zip(candidates, proposed.tolist(), strict=True)]
        n_shops = max(1, len(self.catalog))
        windows = state.recent_orders_windows(shop_ids, query.when, (7, 30))
        for (counts, total), slot in zip(windows, ("shop_orders_7d", "shop_orders_30d"), strict=True):
            wide[:, W[slot]] = _squash(counts * n_shops / total) if total else 0.0
        wide[:, W["shop_recency"]] = np.exp(-state.days_since_last_order(shop_ids, query.when) / 7.0)
        if figures.all_orders:
            wide[:, W["shop_popularity"]] = _squash(figures.orders * n_shops / figures.all_orders)
        uid = query.user_id
        if uid is not None:
            history = state.user_history.get(uid)
            sims = similarity.history_scores_by_row(history) if similarity is not None and history else None
            if sims is not None and len(sims) == n_shops and sims.max() > 0:
                wide[:, W["itemknn_similarity"]] = sims[rows] / sims.max()
            orders, feedback = state.user_cat.get(uid) or {}, state.user_feedback_cat.get(uid) or {}
            total = sum(orders.values()) + sum(feedback.values())
            if total:
                wide[:, W["user_x_category"]] = [(orders.get(c, 0) + feedback.get(c, 0.0)) / total
                                                 for c in categories]


#: Builds at one state version after which a builder reads the shops' figures from a table of the whole catalog.
FIGURES_STEADY = 8


@dataclass(frozen=True)
class ShopFigures:
    """Shops' own figures as of one state version, one entry per shop: orders, reviews, mean rating (NaN without
    reviews) and its feature; ``all_orders``: every shop's orders."""

    version: int
    orders: np.ndarray
    reviews: np.ndarray
    rating: np.ndarray
    rating_feature: np.ndarray
    all_orders: int

    @classmethod
    def of(cls, state: InteractionState, shop_ids: list[int], version: int) -> ShopFigures:
        ratings = [state.shop_rating(s) for s in shop_ids]
        return cls(version, np.array([state.shop_orders.get(s, 0) for s in shop_ids], dtype=np.float64),
                   np.array([state.shop_reviews.get(s, 0) for s in shop_ids], dtype=np.float64),
                   np.array([np.nan if r is None else r for r in ratings], dtype=np.float64),
                   np.array([rating_feature(r) for r in ratings], dtype=np.float64),
                   sum(state.shop_orders.values()))

    def take(self, rows: np.ndarray) -> ShopFigures:
        """The figures of the shops at ``rows`` (of a table made over the catalog's shops)."""
        return ShopFigures(self.version, self.orders[rows], self.reviews[rows], self.rating[rows],
                           self.rating_feature[rows], self.all_orders)


def _rank_feature(rank: int | None) -> float:
    """1 / log2(rank + 2) for a 0-based rank; 0.0 when the funnel did not propose the shop."""
    return 0.0 if rank is None else 1.0 / math.log2(rank + 2)


def _squash(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / (1.0 + x)


class SimilaritySource(Protocol):
    """What the builder reads from the item-kNN funnel: similarity to a history of shops per catalog row."""

    def history_scores_by_row(self, shop_ids) -> np.ndarray | None: ...


def make_query(user_id: int | None, nlu_output: Mapping[str, Any] | None, when: dt.datetime,
               position: tuple[float, float] | None, position_source: str | None) -> RankingQuery:
    """A :class:`RankingQuery` from the NLU contract object (``filters``, ``semantic_query``)."""
    nlu = dict(nlu_output or {})
    filters = dict(nlu.get("filters") or {})
    sq = str(nlu.get("semantic_query") or nlu.get("text") or "").strip()
    return RankingQuery(user_id=user_id, filters=filters, semantic_query=sq, when=when,
                        position=position, position_source=position_source)


def iter_wide_names() -> Iterable[tuple[int, str]]:
    """(slot, name) of every wide slot, padding included."""
    for i in range(WIDE_DIM):
        yield i, (WIDE_NAMES[i] if i < len(WIDE_NAMES) else f"padding_{i}")


def _user_slots(wide: np.ndarray, uid: int | None, user, state: InteractionState, shop_ids: list[int],
                districts: list[str]) -> None:
    """Slot 1 (location x district) and the user x shop slots (history, chat feedback, dismissals)."""
    home = user.district if user else None
    n_orders = state.user_orders.get(uid, 0) if uid is not None else 0
    per_district = state.user_district_orders.get(uid) if uid is not None else None
    wide[:, W["location_x_district"]] = [
        ((per_district.get(d, 0) if per_district else 0) + float(d == home)) / (n_orders + 1.0)
        for d in districts
    ]
    if uid is None:
        return
    # 3: user x shop history
    feedback = [state.user_shop_feedback.get((uid, s), 0.0) for s in shop_ids]
    wide[:, W["user_x_shop_history"]] = [
        history_feature(state.user_shop_orders.get((uid, s), 0), (uid, s) in state.favourites, f)
        for s, f in zip(shop_ids, feedback, strict=True)
    ]
    wide[:, W["user_x_shop_feedback"]] = np.minimum(1.0, np.asarray(feedback) / HISTORY_SATURATION)
    wide[:, W["user_x_shop_dismissed"]] = [
        min(1.0, state.user_shop_dismissed.get((uid, s), 0) / DISMISS_SATURATION) for s in shop_ids]


def _cross_slots(wide: np.ndarray, state: InteractionState, group: str, bucket: str, categories: list[str]) -> None:
    """Slots 0 and 2, the age group and the time of day crossed with the category (worked out once per category:
    a list holds a few categories over ~100 shops)."""
    kinds = set(categories)
    by_age = {c: state.cross("age", group, c) for c in kinds}
    by_time = {c: state.cross("time", bucket, c) for c in kinds}
    wide[:, W["age_group_x_category"]] = [by_age[c] for c in categories]
    wide[:, W["time_x_category"]] = [by_time[c] for c in categories]


def _funnel_block(candidates: Sequence[CandidateLike]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_funnel_matrices`, from the merge's own matrices when the candidates are the merge's list as made
    (naviyam.recommend.merge.MergedCandidates)."""
    merged = getattr(candidates, "matrices", None)
    matrices = merged() if callable(merged) else None
    if matrices is not None:
        return _funnel_matrices_from_merge(*matrices)
    return _funnel_matrices(candidates)


def _funnel_matrices(candidates: Sequence[CandidateLike]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per candidate and funnel (:data:`RANKED_FUNNELS`' order): whether the funnel scored it, its score, and its
    rank feature (1 / log2(rank + 2), 0 without a rank); from each candidate's own mappings."""
    n = len(candidates)
    col = {f: j for j, f in enumerate(RANKED_FUNNELS)}  # the seed's four, then the extra funnels
    at_i: list[int] = []
    at_j: list[int] = []
    values: list[float] = []
    rank_i: list[int] = []
    rank_j: list[int] = []
    rank_values: list[float] = []
    for i, c in enumerate(candidates):
        for f, v in candidate_funnels(c).items():
            j = col.get(f)
            if j is not None:
                at_i.append(i)
                at_j.append(j)
                values.append(v)
        for f, rank in (getattr(c, "ranks", None) or {}).items():
            j = col.get(f)
            if j is not None and rank is not None:
                rank_i.append(i)
                rank_j.append(j)
                rank_values.append(_rank_feature(rank))
    k = len(RANKED_FUNNELS)
    flags = np.zeros((n, k), dtype=np.float64)
    scores = np.zeros((n, k), dtype=np.float64)
    ranks = np.zeros((n, k), dtype=np.float64)
    flags[at_i, at_j] = 1.0
    scores[at_i, at_j] = values
    ranks[rank_i, rank_j] = rank_values
    return flags, scores, ranks


#: 1 / log2(rank + 2) of the ranks 0, 1, 2, ... (grown when a longer list comes).
_RANK_TABLE = np.array([_rank_feature(r) for r in range(512)])


def _funnel_matrices_from_merge(names: tuple[str, ...], scores: np.ndarray, present: np.ndarray,
                                ranks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_funnel_matrices` from the merge's matrices (columns in ``names``' order), without a dict per
    candidate; the same numbers."""
    global _RANK_TABLE
    n, k = len(scores), len(RANKED_FUNNELS)
    top = int(ranks.max(initial=-1))
    if top >= len(_RANK_TABLE):
        _RANK_TABLE = np.array([_rank_feature(r) for r in range(2 * top + 2)])
    table = _RANK_TABLE
    out_flags = np.zeros((n, k), dtype=np.float64)
    out_scores = np.zeros((n, k), dtype=np.float64)
    out_ranks = np.zeros((n, k), dtype=np.float64)
    for j, f in enumerate(RANKED_FUNNELS):
        if f not in names:
            continue
        m = names.index(f)
        out_flags[:, j] = present[:, m]
        out_scores[:, j] = np.where(present[:, m], scores[:, m], 0.0)
        r = ranks[:, m]
        out_ranks[:, j] = np.where(r >= 0, table[np.maximum(r, 0)], 0.0)
    return out_flags, out_scores, out_ranks


def _funnel_slots(wide: np.ndarray, flags: np.ndarray, scores: np.ndarray, ranks: np.ndarray) -> None:
    """Slots 9-23 from :func:`_funnel_matrices`: which funnel proposed the shop and its score in [0, 1] (the seed's
    four, then the item-kNN funnel), and each funnel's rank feature; one numpy assignment per block."""
    seed = len(SEED_FUNNELS)
    first_flag, first_score = W["funnel_collaborative"], W["score_collaborative"]
    wide[:, first_flag:first_flag + seed] = flags[:, :seed]
    wide[:, first_score:first_score + seed] = np.clip(np.nan_to_num(scores[:, :seed]), 0.0, 1.0) * flags[:, :seed]
    for j, f in enumerate(EXTRA_FUNNELS, start=seed):
        wide[:, W[f"funnel_{f}"]] = flags[:, j]
        wide[:, W[f"score_{f}"]] = np.clip(scores[:, j], 0.0, 1.0) * flags[:, j]
    for j, f in enumerate(RANKED_FUNNELS):
        wide[:, W[f"rank_{f}"]] = ranks[:, j]
