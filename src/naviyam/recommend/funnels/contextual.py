"""Contextual funnel: what suits this moment and place, with no need for the user's or shop's history.

The score of a shop is a weighted sum of five signals in [0, 1]:

- time of day: the lift of the shop's category in this time slot, learned from
  orders (``P(category | slot) / P(category)``, smoothed); the slot is the
  NLU's ``time_of_day`` when given, else the request time's
- day of week: the same lift for weekday vs weekend
- distance: ``exp(-d / distance_scale_m)`` from the request's origin
- open now: 1 when the shop is open at the request time
- budget fit: 1 when a real menu fits the budget, falling linearly to 0 at
  twice the budget; without a budget, cheaper shops score higher (children's
  meal card limits are low)

New shops score like any other, so they enter Layer 1 through this funnel.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from naviyam.hours import MEAL_TIMES, meal_time
from naviyam.recommend.funnels.base import Candidate, FitContext, FunnelQuery, top_k_candidates

TIME_SLOTS = MEAL_TIMES
time_slot = meal_time


class ContextualFunnel:
    name = "contextual"

    def __init__(self, w_time: float = 0.25, w_day: float = 0.05, w_distance: float = 0.4, w_open: float = 0.2,
                 w_budget: float = 0.1, distance_scale_m: float = 1_500.0, smoothing: float = 5.0):
        self.w_time = w_time
        self.w_day = w_day
        self.w_distance = w_distance
        self.w_open = w_open
        self.w_budget = w_budget
        self.distance_scale_m = distance_scale_m
        self.smoothing = smoothing

    def config(self) -> dict:
        return {k: getattr(self, k) for k in ("w_time", "w_day", "w_distance", "w_open", "w_budget",
                                              "distance_scale_m", "smoothing")}

    def fit(self, ctx: FitContext) -> ContextualFunnel:
        cat = ctx.catalog
        categories = list(cat.category_values)
        code = {c: i for i, c in enumerate(categories)}
        orders = ctx.interactions.orders
        row_of = cat.row_of
        slot_counts = np.zeros((len(TIME_SLOTS), len(categories)))
        day_counts = np.zeros((2, len(categories)))
        for sid, at in zip(orders.shop_id.tolist(), orders.at.astype("datetime64[s]").tolist(), strict=True):
            r = row_of.get(sid)
            if r is None:
                continue
            c = code[cat.categories[r]]
            slot_counts[TIME_SLOTS.index(time_slot(at)), c] += 1
            day_counts[int(at.weekday() >= 5), c] += 1
        self.categories_ = categories
        self.slot_lift_ = self._lift(slot_counts)
        self.day_lift_ = self._lift(day_counts)
        self.align(cat)
        return self

    def _lift(self, counts: np.ndarray) -> np.ndarray:
        """Smoothed P(cat | row) / P(cat), rescaled so each row's best category is 1."""
        prior = (counts.sum(axis=0) + self.smoothing) / (counts.sum() + self.smoothing * counts.shape[1])
        cond = (counts + self.smoothing * prior) / (counts.sum(axis=1, keepdims=True) + self.smoothing)
        lift = cond / prior
        return lift / np.maximum(lift.max(axis=1, keepdims=True), 1e-9)

    def align(self, cat) -> None:
        code = {c: i for i, c in enumerate(self.categories_)}
        self.cat_col_ = np.array([code.get(c, -1) for c in cat.categories], dtype=np.int64)
        self._catalog = cat
        self.__dict__.pop("_time_parts", None)  # lifts by row of the catalog aligned to before

    def _by_row(self, lift_row: np.ndarray) -> np.ndarray:
        out = np.full(len(self.cat_col_), 0.5)
        known = self.cat_col_ >= 0
        out[known] = lift_row[self.cat_col_[known]]
        return out

    def scores(self, query: FunnelQuery) -> np.ndarray:
        cat = self._catalog
        slot = query.filters.get("time_of_day") or time_slot(query.now)
        if slot not in TIME_SLOTS:
            slot = time_slot(query.now)
        s = self._time_part(slot, int(query.now.weekday() >= 5)).copy()
        if query.distances is not None:
            s += self.w_distance * np.exp(-query.distances / self.distance_scale_m)
        s += self.w_open * cat.open_at(query.now)
        price = cat.min_price
        if query.budget:
            fit = np.clip(2.0 - price / query.budget, 0.0, 1.0)
        else:
            fit = np.clip(1.0 - (price - 3_000.0) / 17_000.0, 0.0, 1.0)
        s += self.w_budget * np.where(np.isfinite(price), fit, 0.0)
        return s

    def _time_part(self, slot: str, weekend: int) -> np.ndarray:
        """The time-of-day and weekday lifts of every shop, weighted (read-only; one per slot and day kind, kept
        for the catalog aligned to)."""
        cache = self.__dict__.setdefault("_time_parts", {})  # emptied by align()
        key = (slot, weekend)
        found = cache.get(key)
        if found is None:
            found = self.w_time * self._by_row(self.slot_lift_[TIME_SLOTS.index(slot)])
            found += self.w_day * self._by_row(self.day_lift_[weekend])
            found.flags.writeable = False
            cache[key] = found  # bounded: scores() passes only TIME_SLOTS
        return found

    def candidates(self, query: FunnelQuery, k: int) -> Sequence[Candidate]:
        return top_k_candidates(self.name, self.scores(query), query.allowed, k, self._catalog, query.distances)

    def save(self, folder: Path) -> None:
        (folder / "contextual.json").write_text(json.dumps({
            "config": self.config(), "categories": self.categories_,
            "slot_lift": self.slot_lift_.tolist(), "day_lift": self.day_lift_.tolist()}, ensure_ascii=False),
            encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, ctx: FitContext) -> ContextualFunnel:
        meta = json.loads((folder / "contextual.json").read_text(encoding="utf-8"))
        f = cls(**meta["config"])
        f.categories_ = meta["categories"]
        f.slot_lift_ = np.array(meta["slot_lift"])
        f.day_lift_ = np.array(meta["day_lift"])
        f.align(ctx.catalog)
        return f
