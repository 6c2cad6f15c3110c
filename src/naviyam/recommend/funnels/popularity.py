"""Popularity funnel: recency-decayed orders and favourites, ranked within the request's district.

A shop's popularity is ``sum(exp(-age / tau))`` over its orders plus
``favorite_weight`` times the same over its favourites, with ``tau`` set by a
half-life. Popularity is normalised within each district (the most popular
shop of every 구 scores 1), so a small 구 is not drowned by a big one. When
the request has a district (asked for, or the user's home), its shops come
first; the rest follow by their district-normalised popularity.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from naviyam.core.clock import local_now
from naviyam.recommend.funnels.base import Candidate, FitContext, FunnelQuery, top_k_candidates


class PopularityFunnel:
    name = "popularity"

    def __init__(self, half_life_days: float = 21.0, favorite_weight: float = 2.0, district_bonus: float = 1.0):
        self.half_life_days = half_life_days
        self.favorite_weight = favorite_weight
        self.district_bonus = district_bonus

    def config(self) -> dict:
        return {"half_life_days": self.half_life_days, "favorite_weight": self.favorite_weight,
                "district_bonus": self.district_bonus}

    def fit(self, ctx: FitContext) -> PopularityFunnel:
        cat = ctx.catalog
        now = ctx.now or ctx.interactions.window()[1] or local_now()
        ref = np.datetime64(now.replace(tzinfo=None), "s")
        tau = self.half_life_days * 86400 / np.log(2)
        raw = {}
        for table, w in ((ctx.interactions.orders, 1.0), (ctx.interactions.favorites, self.favorite_weight)):
            if not len(table):
                continue
            age = np.maximum((ref - table.at).astype(np.float64), 0.0)
            decay = w * np.exp(-age / tau)
            for sid, v in zip(table.shop_id.tolist(), decay.tolist(), strict=True):
                raw[sid] = raw.get(sid, 0.0) + v
        self.reference_time_ = now
        self.shop_ids_ = np.array(sorted(raw), dtype=np.int64)
        self.raw_ = np.array([raw[s] for s in self.shop_ids_], dtype=np.float64)
        self.align(cat)
        return self

    def align(self, cat) -> None:
        val = dict(zip(self.shop_ids_.tolist(), self.raw_.tolist(), strict=True))
        raw = np.array([val.get(int(s), 0.0) for s in cat.ids], dtype=np.float64)
        norm = np.zeros(len(cat))
        for code in np.unique(cat.district_codes):
            rows = cat.district_codes == code
            top = raw[rows].max() if rows.any() else 0.0
            norm[rows] = raw[rows] / top if top > 0 else 0.0
        self.scores_ = norm  # per catalog row, district-normalised in [0, 1]
        self.raw_by_row_ = raw
        self._catalog = cat

    def candidates(self, query: FunnelQuery, k: int) -> Sequence[Candidate]:
        cat = self._catalog
        scores = self.scores_.copy()
        if query.district:
            scores = scores + self.district_bonus * cat.value_mask("district", query.district)
        return top_k_candidates(self.name, scores, query.allowed & (self.raw_by_row_ > 0), k, cat,
                                query.distances)

    def save(self, folder: Path) -> None:
        np.save(folder / "popularity_shops.npy", self.shop_ids_)
        np.save(folder / "popularity_raw.npy", self.raw_)
        (folder / "popularity.json").write_text(json.dumps(
            {**self.config(), "reference_time": self.reference_time_.isoformat()}), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, ctx: FitContext) -> PopularityFunnel:
        meta = json.loads((folder / "popularity.json").read_text(encoding="utf-8"))
        f = cls(**{k: v for k, v in meta.items() if k != "reference_time"})
        f.reference_time_ = dt.datetime.fromisoformat(meta["reference_time"])
        f.shop_ids_ = np.load(folder / "popularity_shops.npy")
        f.raw_ = np.load(folder / "popularity_raw.npy")
        f.align(ctx.catalog)
        return f
