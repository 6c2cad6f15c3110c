"""The shop catalog held in memory: one row per shop, numpy arrays for fast filtering.

Serving never queries the database per request. :meth:`ShopCatalog.load`
reads shops, menus and review aggregates once; :meth:`fingerprint` tells
whether the database changed since (the generator refreshes when it did).

Row ``i`` of every array describes the shop ``ids[i]``. Categorical values are
kept as Python lists (one entry per row) *and* as integer codes for numpy.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import Engine, func, select

from naviyam.core.geo import haversine_m
from naviyam.core.lru import LRU
from naviyam.core.safety import is_alcohol_shop
from naviyam.db.models import ProductOrder, Review, Shop, ShopMenu, UserFavorite
from naviyam.hours import format_hours, parse_closed_days
from naviyam.menus import main_dish_mask

log = logging.getLogger(__name__)

#: At most this many review snippets go into a shop's document.
REVIEW_SNIPPETS = 3

#: Memory for the per-catalog distance arrays of recent origins (:meth:`ShopCatalog.distances_m`): 1,000
#: origins with 1,500 shops, 16 (the least kept) with 200,000.
DISTANCE_CACHE_BYTES = 12_000_000
#: Minutes of the week whose open shops :meth:`ShopCatalog.open_at` keeps (read-only masks of one byte a shop).
OPEN_CACHE_SIZE = 8


@dataclass(frozen=True)
class Menu:
    name: str
    price: int
    dish: str | None
    is_signature: bool
    #: a main dish rather than a side item (공기밥, 콜라, …): see :mod:`naviyam.menus`
    is_main: bool = True


def closed_days_mask(value: str | None) -> int:
    """Bit mask of closed weekdays (bit 0 = Monday), parsed like :func:`naviyam.hours.parse_closed_days`."""
    mask = 0
    for d in parse_closed_days(value):
        mask |= 1 << d
    return mask


def _minutes(t: dt.time | str | None, default: int) -> int:
    if t is None:
        return default
    if isinstance(t, str):
        hh, mm, *_ = (t.split(":") + ["0"])[:3]
        return int(hh) * 60 + int(mm)
    return t.hour * 60 + t.minute


@dataclass
class ShopCatalog:
    ids: np.ndarray  # int64 (n,)
    names: list[str]
    categories: list[str]
    districts: list[str]
    dongs: list[str | None]
    lat: np.ndarray  # float64 (n,)
    lon: np.ndarray
    open_min: np.ndarray  # int16 minutes since midnight
    close_min: np.ndarray  # close <= open means the shop closes after midnight (== : 24 h)
    closed_days: np.ndarray  # uint8 bit mask, bit 0 = Monday
    closed_days_text: list[str | None]
    is_good_shop: np.ndarray  # bool
    accepts_meal_card: np.ndarray  # bool
    min_price: np.ndarray  # float64, cheapest main dish (price > 0, not a side item); inf when none
    avg_price: np.ndarray  # float64, mean real menu price; nan when none
    menu_count: np.ndarray  # int32
    rating: np.ndarray  # float64 mean rating, nan without reviews
    review_count: np.ndarray  # int32
    order_count: np.ndarray  # int32
    brand_ids: list[int | None]
    descriptions: list[str | None]
    created_at: list[dt.datetime | None]
    menus: list[list[Menu]]
    review_snippets: list[list[str]]
    #: dish -> sorted row indices of shops with a menu of that dish
    dish_rows: dict[str, np.ndarray] = field(default_factory=dict)
    #: dish -> rows whose signature menus (or, without signatures, all menus) are only that dish
    main_dish_rows: dict[str, np.ndarray] = field(default_factory=dict)

    # ------------------------------------------------------------------ derived
    def __post_init__(self) -> None:
        self.row_of: dict[int, int] = {int(s): i for i, s in enumerate(self.ids)}
        self.category_values = sorted(set(self.categories))
        cat_code = {c: i for i, c in enumerate(self.category_values)}
        self.category_codes = np.array([cat_code[c] for c in self.categories], dtype=np.int32)
        self.district_values = sorted(set(self.districts))
        d_code = {d: i for i, d in enumerate(self.district_values)}
        self.district_codes = np.array([d_code[d] for d in self.districts], dtype=np.int32)
        self.dong_array = np.array([d or "" for d in self.dongs], dtype=object)
        self.district_array = np.array(self.districts, dtype=object)
        self.category_array = np.array(self.categories, dtype=object)
        #: origin (lat, lon) -> metres to every shop (:meth:`distances_m`)
        self._distances: LRU[tuple[float, float], np.ndarray] = LRU(16)
        #: (weekday, minute of the day) -> which shops are open then (:meth:`open_at`)
        self._open: LRU[tuple[int, int], np.ndarray] = LRU(OPEN_CACHE_SIZE)

    def __len__(self) -> int:
        return len(self.ids)

    def rows_for(self, shop_ids) -> np.ndarray:
        return np.array([self.row_of[int(s)] for s in shop_ids if int(s) in self.row_of], dtype=np.int64)

    def value_mask(self, column: str, value: str) -> np.ndarray:
        """Rows whose ``column`` ("category", "district" or "dong") is ``value``; read-only, kept per catalog
        (comparing every shop's string costs more than the rest of the hard filters)."""
        masks = self.__dict__.setdefault("_value_masks", {})
        mask = masks.get((column, value))
        if mask is None:
            values = {"category": self.category_array, "district": self.district_array, "dong": self.dong_array}
            mask = np.asarray(values[column] == value, dtype=bool)
            mask.flags.writeable = False
            if len(masks) < 4096:  # the catalog's own values; a stray value is not kept forever
                masks[(column, value)] = mask
        return mask

    def distances_m(self, lat: float, lon: float) -> np.ndarray:
        """Metres from (lat, lon) to every shop (:func:`naviyam.core.geo.haversine_m`); read-only, the last
        origins that fit :data:`DISTANCE_CACHE_BYTES` kept per catalog (a home is a 동's centre, so origins repeat, and one
        request asks up to four times: Layer 1, the radius filter and each widening of it)."""
        key = (float(lat), float(lon))
        found = self._distances.get(key)
        if found is not None:
            return found
        d = haversine_m(lat, lon, self.lat, self.lon)
        d.flags.writeable = False
        return self._distances.put(key, d, max(16, DISTANCE_CACHE_BYTES // max(1, d.nbytes)))

    def values_mask(self, column: str, values) -> np.ndarray:
        """Rows whose ``column`` is any of ``values`` (:meth:`value_mask` of each)."""
        out = np.zeros(len(self), dtype=bool)
        for value in values:
            out |= self.value_mask(column, value)
        return out

    def dish_mask(self, dish: str) -> np.ndarray:
        mask = np.zeros(len(self), dtype=bool)
        rows = self.dish_rows.get(dish)
        if rows is not None:
            mask[rows] = True
        else:  # not a canonical dish: fall back to the menu names
            for i, ms in enumerate(self.menus):
                mask[i] = any(dish in m.name for m in ms)
        return mask

    def main_dish_mask(self, dish: str) -> np.ndarray:
        mask = np.zeros(len(self), dtype=bool)
        rows = self.main_dish_rows.get(dish)
        if rows is not None:
            mask[rows] = True
        return mask

    def alcohol_mask(self) -> np.ndarray:
        """Rows of shops whose main business is alcohol (computed once per catalog)."""
        mask = self.__dict__.get("_alcohol_mask")
        if mask is None:
            mask = np.array([is_alcohol_shop(n, c, d) for n, c, d in
                             zip(self.names, self.categories, self.descriptions, strict=True)], dtype=bool)
            self.__dict__["_alcohol_mask"] = mask
        return mask

    def open_at(self, when: dt.datetime) -> np.ndarray:
        """Which shops are open at ``when`` (local time), after-midnight hours and closed days included.

        A shop with open < close is open on day d from open to close. With
        close <= open it is open on day d from open to midnight, and on day d+1
        from midnight to close (that part belongs to day d's session, so it is
        cancelled when day d is a closed day). open == close means 24 hours.
        """
        m = when.hour * 60 + when.minute
        wd = when.weekday()
        found = self._open.get((wd, m))
        if found is not None:  # a request asks up to three times (filters, a funnel, the answer), all in a minute
            return found
        mask = self._open_at(m, wd)
        mask.flags.writeable = False
        return self._open.put((wd, m), mask)

    def _open_at(self, m: int, wd: int) -> np.ndarray:
        prev = (wd - 1) % 7
        closed_today = (self.closed_days >> wd) & 1 == 1
        closed_prev = (self.closed_days >> prev) & 1 == 1
        o, c = self.open_min, self.close_min
        same_day = (o < c) & (m >= o) & (m < c) & ~closed_today
        overnight = o > c
        late = overnight & (m >= o) & ~closed_today
        early = overnight & (m < c) & ~closed_prev
        allday = (o == c) & ~closed_today
        return same_day | late | early | allday

    def hours_text(self, row: int) -> str:
        """Korean opening hours with closed days, as shown to users (see :mod:`naviyam.hours`)."""
        o, c = int(self.open_min[row]), int(self.close_min[row])
        return format_hours(dt.time(o // 60, o % 60), dt.time(c // 60, c % 60), self.closed_days_text[row])

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, engine: Engine, until: dt.datetime | None = None) -> ShopCatalog:
        """Read every shop with menus and review/order aggregates (a few queries, no per-shop SQL).

        ``until`` counts only reviews and orders before it (offline evaluation on a time split).
        """
        rev_time = [Review.created_at < until] if until is not None else []
        ord_time = [ProductOrder.ordered_at < until] if until is not None else []
        with engine.connect() as conn:
            shops = conn.execute(select(Shop.__table__).order_by(Shop.id)).mappings().all()
            menus = conn.execute(
                select(ShopMenu.shop_id, ShopMenu.name, ShopMenu.price, ShopMenu.dish, ShopMenu.is_signature)
                .order_by(ShopMenu.shop_id, ShopMenu.id)
            ).all()
            rev_agg = dict(
                (r[0], (r[1], r[2]))
                for r in conn.execute(
                    select(Review.shop_id, func.avg(Review.rating), func.count()).where(*rev_time)
                    .group_by(Review.shop_id)
                )
            )
            ord_agg = dict(
                conn.execute(select(ProductOrder.shop_id, func.count()).where(*ord_time)
                             .group_by(ProductOrder.shop_id)).all()
            )
            snippets_rows = conn.execute(
                select(Review.shop_id, Review.text)
                .where(Review.rating >= 4, Review.text.is_not(None), *rev_time)
                .order_by(Review.shop_id, Review.created_at.desc(), Review.id.desc())
            ).all()
        return cls.from_rows(shops, menus, rev_agg, ord_agg, snippets_rows)

    @classmethod
    def from_rows(cls, shops, menus, rev_agg, ord_agg, snippet_rows) -> ShopCatalog:
        n = len(shops)
        ids = np.array([s["id"] for s in shops], dtype=np.int64)
        row_of = {int(s): i for i, s in enumerate(ids)}
        menu_lists: list[list[Menu]] = [[] for _ in range(n)]
        for shop_id, name, price, dish, sig in menus:
            r = row_of.get(shop_id)
            if r is not None:
                menu_lists[r].append(Menu(name, int(price), dish, bool(sig)))
        snippets: list[list[str]] = [[] for _ in range(n)]
        for shop_id, text in snippet_rows:
            r = row_of.get(shop_id)
            if r is not None and len(snippets[r]) < REVIEW_SNIPPETS and text and text.strip():
                snippets[r].append(text.strip())

        min_price, avg_price, dish_rows, main_rows = _menu_facts(menu_lists)
        return cls(
            ids=ids,
            names=[s["name"] for s in shops],
            categories=[s["category"] for s in shops],
            districts=[s["district"] for s in shops],
            dongs=[s["dong"] for s in shops],
            lat=np.array([s["lat"] for s in shops], dtype=np.float64),
            lon=np.array([s["lon"] for s in shops], dtype=np.float64),
            open_min=np.array([_minutes(s["open_time"], 0) for s in shops], dtype=np.int16),
            close_min=np.array([_minutes(s["close_time"], 0) for s in shops], dtype=np.int16),
            closed_days=np.array([closed_days_mask(s["closed_days"]) for s in shops], dtype=np.uint8),
            closed_days_text=[s["closed_days"] for s in shops],
            is_good_shop=np.array([bool(s["is_good_shop"]) for s in shops], dtype=bool),
            accepts_meal_card=np.array([bool(s["accepts_meal_card"]) for s in shops], dtype=bool),
            min_price=min_price,
            avg_price=avg_price,
            menu_count=np.array([len(m) for m in menu_lists], dtype=np.int32),
            rating=np.array([float(rev_agg[s][0]) if s in rev_agg else np.nan for s in ids]),
            review_count=np.array([int(rev_agg[s][1]) if s in rev_agg else 0 for s in ids], dtype=np.int32),
            order_count=np.array([int(ord_agg.get(int(s), 0)) for s in ids], dtype=np.int32),
            brand_ids=[s["brand_id"] for s in shops],
            descriptions=[s["description"] for s in shops],
            created_at=[s["created_at"] for s in shops],
            menus=menu_lists,
            review_snippets=snippets,
            dish_rows={d: np.array(r, dtype=np.int64) for d, r in dish_rows.items()},
            main_dish_rows={d: np.array(r, dtype=np.int64) for d, r in main_rows.items()},
        )


def _menu_facts(menu_lists: list[list[Menu]]) -> tuple[np.ndarray, np.ndarray, dict[str, list[int]],
                                                         dict[str, list[int]]]:
    """Per shop the cheapest main dish and the average price; dish -> shop rows (any menu, the signature ones).

    Marks each menu's ``is_main`` in place.
    """
    n = len(menu_lists)
    min_price = np.full(n, np.inf)
    avg_price = np.full(n, np.nan)
    dish_rows: dict[str, list[int]] = defaultdict(list)
    main_rows: dict[str, list[int]] = defaultdict(list)
    for i, ms in enumerate(menu_lists):
        mains = main_dish_mask([(m.name, m.dish, m.price) for m in ms])
        ms[:] = [dataclasses.replace(m, is_main=ok) for m, ok in zip(ms, mains, strict=True)]
        real = [m.price for m in ms if m.price > 0]
        if real:
            # A budget buys a meal: the cheapest main dish, not a 1,000원 공기밥.
            min_price[i] = min(m.price for m in ms if m.is_main)
            avg_price[i] = float(np.mean(real))
        for d in {m.dish for m in ms if m.dish}:
            dish_rows[d].append(i)
        sig = [m for m in ms if m.is_signature] or ms
        sig_dishes = {m.dish for m in sig}
        if len(sig_dishes) == 1 and None not in sig_dishes:
            main_rows[next(iter(sig_dishes))].append(i)
        else:
            for d in sig_dishes - {None}:
                main_rows[d].append(i)
    return min_price, avg_price, dish_rows, main_rows


def catalog_fingerprint(engine: Engine) -> str:
    """A cheap digest of what shop documents depend on; it changes when shops, menus or reviews change.

    Counts and id/price/time sums catch inserts, deletes and most edits without
    reading every row into Python. A full rebuild still compares per-shop
    document hashes, so this only decides whether to look.
    """
    with engine.connect() as conn:
        parts = [
            conn.execute(select(func.count(), func.coalesce(func.sum(Shop.id), 0), func.max(Shop.id))).one(),
            conn.execute(
                select(func.count(), func.coalesce(func.sum(ShopMenu.price), 0), func.max(ShopMenu.id))
            ).one(),
            conn.execute(select(func.count(), func.max(Review.id))).one(),
            conn.execute(select(func.count(), func.max(UserFavorite.id))).one(),
        ]
    return hashlib.sha1(repr(parts).encode()).hexdigest()
