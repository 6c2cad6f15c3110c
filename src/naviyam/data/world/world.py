"""The world in memory: :func:`build_world` runs the samplers in order with one seed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from naviyam.data.world.behaviour import _simulate
from naviyam.data.world.catalogue import (
    CATEGORIES,
    DEFAULT_DAYS,
    DEFAULT_END_DATE,
    DEFAULT_SEED,
    DEFAULT_SHOPS,
    DEFAULT_USERS,
)
from naviyam.data.world.menus import _make_menus
from naviyam.data.world.shops import _make_shops
from naviyam.data.world.users import _guardian_consents, _make_users
from naviyam.progress import Reporter


@dataclass
class World:
    """Rows per table (dicts in insertion order) and the hidden parameters that produced them."""

    tables: dict[str, list[dict]]
    categories: tuple[str, ...]
    #: users x categories: each user's hidden taste distribution (row i = user id i + 1).
    user_taste: np.ndarray
    user_segment: np.ndarray
    user_home: np.ndarray  # users x 2 (lat, lon)
    shop_quality: np.ndarray  # shops (row i = shop id i + 1)

    def counts(self) -> dict[str, int]:
        return {name: len(rows) for name, rows in self.tables.items()}


def build_world(*, seed: int = DEFAULT_SEED, shops: int = DEFAULT_SHOPS, users: int = DEFAULT_USERS,
                days: int = DEFAULT_DAYS, end_date: dt.date | None = None,
                progress: Reporter | None = None) -> World:
    """Generate the whole world in memory (no database); see the module docstring."""
    if shops < 1 or users < 0 or days < 1:
        raise ValueError("need shops >= 1, users >= 0 and days >= 1")
    end_date = end_date or DEFAULT_END_DATE
    start = dt.datetime.combine(end_date - dt.timedelta(days=days), dt.time())
    streams = np.random.SeedSequence(seed).spawn(7)
    rng_shop, rng_menu, rng_user, rng_order, rng_text, rng_fav, rng_consent = (
        np.random.default_rng(s) for s in streams)

    shop_rows, brand_rows, shop_arr = _make_shops(rng_shop, shops, start, progress)
    menu_rows, menu_arr = _make_menus(rng_menu, shop_rows, shop_arr, progress)
    user_rows, user_arr = _make_users(rng_user, users, start, end_date, days, progress)
    _guardian_consents(rng_consent, user_rows, user_arr["age"])
    orders, favs, reviews = _simulate(rng_order, rng_fav, rng_text, start, days, shop_arr, menu_rows, menu_arr,
                                      user_arr, progress)
    tables = {
        "brand": brand_rows, "shop": shop_rows, "shop_menu": menu_rows, "user": user_rows,
        "product_order": orders, "userfavorite": favs, "review": reviews,
    }
    return World(tables, CATEGORIES, user_arr["taste"], user_arr["segment"],
                 np.column_stack([user_arr["lat"], user_arr["lon"]]) if users else np.zeros((0, 2)),
                 shop_arr["quality"])
