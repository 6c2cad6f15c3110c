"""Sampling shops: category, place, name, brand, hours, meal card and good-shop flags."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import numpy as np

from naviyam.core import geo
from naviyam.core.text import WEEKDAYS_KO
from naviyam.data.world.catalogue import (
    ALL_NIGHT,
    ALL_NIGHT_BRANDS,
    BRANDS,
    CATEGORIES,
    CATEGORY_SHARES,
    CLOSED_DAY_PATTERNS,
    CLOSED_DAY_RATE,
    CLOSED_DAY_WEIGHTS,
    FAMOUS_DISH_PLACES,
    GOOD_SHOP_SHARE,
    HOURS,
    MEAL_CARD_AFFINITY,
    MEAL_CARD_SHARE,
    NAME_PREFIXES,
    NAME_SUFFIXES,
    NAMEABLE_DISHES,
    ROADS,
    STYLE_NAMES,
    STYLE_PREFIXES,
)
from naviyam.data.world.helpers import _dong_stem, _parse_hhmm, _pick, _place_points, _report
from naviyam.progress import Reporter


def _shop_name(rng: np.random.Generator, category: str, sig_dish: str | None, dong: str) -> str:
    r = rng.random()
    if sig_dish in NAMEABLE_DISHES and r < 0.35:
        places = FAMOUS_DISH_PLACES.get(sig_dish)
        if places and rng.random() < 0.4:
            return _pick(rng, places) + sig_dish
        return _pick(rng, NAME_PREFIXES) + sig_dish
    if category in STYLE_NAMES and r < 0.6:
        return _pick(rng, STYLE_NAMES[category])
    if category in STYLE_PREFIXES and r < 0.7:
        return _pick(rng, STYLE_PREFIXES[category]) + _pick(rng, NAME_SUFFIXES[category])
    if r < 0.85:
        return _pick(rng, NAME_PREFIXES) + _pick(rng, NAME_SUFFIXES[category])
    return _dong_stem(dong) + _pick(rng, NAME_SUFFIXES[category])


def _make_shops(rng: np.random.Generator, n: int, start: dt.datetime, progress: Reporter | None):
    """(shop rows, brand rows, per-shop arrays the behaviour sampler reads) of ``n`` shops."""
    dongs = geo.dong_table()
    shares = np.array([CATEGORY_SHARES[c] for c in CATEGORIES])
    first = np.arange(min(n, len(CATEGORIES)))
    cat_idx = np.concatenate([rng.permutation(first), rng.choice(len(CATEGORIES), n - len(first), p=shares / shares.sum())])
    lat, lon, dong_idx = _place_points(rng, n, jitter_km=0.3)
    is_chain, brand_name = _chains(rng, cat_idx)

    # meal card and good shop: exact shares, weighted by category (Gumbel top-k sampling without replacement)
    card_w = np.array([MEAL_CARD_AFFINITY[CATEGORIES[k]] for k in cat_idx]) * np.where(is_chain, 0.7, 1.0)
    card = _weighted_subset(rng, card_w, round(MEAL_CARD_SHARE * n))
    good_w = np.where(card, 5.0, 1.0) * np.where(is_chain, 0.25, 1.0)
    good = _weighted_subset(rng, good_w, round(GOOD_SHOP_SHARE * n))
    quality = rng.normal(0.0, 0.5, n) + np.where(good, 0.15, 0.0)
    open_m, close_m, closed_bits, closed_txt = _opening_hours(rng, cat_idx, is_chain, brand_name)

    used_brands = sorted({b for b in brand_name if b}, key=lambda b: _brand_order().index(b))
    brand_id = {b: i + 1 for i, b in enumerate(used_brands)}
    brand_rows = [{"id": brand_id[b], "name": b} for b in used_brands]

    rows: list[dict] = []
    created_days = rng.integers(30, 2000, n)
    for i in range(n):
        dong = dongs[dong_idx[i]]
        address, phone = _address_and_phone(rng, dong.district)
        rows.append({
            "id": i + 1,
            "name": "",  # named after menus are known (signature dishes)
            "category": CATEGORIES[cat_idx[i]],
            "brand_id": brand_id[brand_name[i]] if brand_name[i] else None,
            "district": dong.district,
            "dong": dong.name,
            "address": address,
            "lat": float(lat[i]),
            "lon": float(lon[i]),
            "open_time": dt.time(int(open_m[i]) // 60, int(open_m[i]) % 60),
            "close_time": dt.time(int(close_m[i]) // 60, int(close_m[i]) % 60),
            "closed_days": closed_txt[i],
            "is_good_shop": bool(good[i]),
            "accepts_meal_card": bool(card[i]),
            "phone": phone,
            "description": None,
            "created_at": start - dt.timedelta(days=int(created_days[i]), seconds=int(rng.integers(0, 86400))),
        })
        _report(progress, "shops", i + 1, n)
    arr = {
        "lat": lat, "lon": lon, "cat": cat_idx, "open_m": open_m, "close_m": close_m, "closed_bits": closed_bits,
        "card": card, "good": good, "quality": quality, "brand": brand_name,
    }
    return rows, brand_rows, arr


def _chains(rng: np.random.Generator, cat_idx: np.ndarray) -> tuple[np.ndarray, list[str | None]]:
    """(is a chain shop, its brand name) per shop, by the category's chain share."""
    n = len(cat_idx)
    is_chain = np.zeros(n, dtype=bool)
    brand_name: list[str | None] = [None] * n
    for i in range(n):
        c = CATEGORIES[cat_idx[i]]
        if c in BRANDS and rng.random() < BRANDS[c][0]:
            is_chain[i] = True
            brand_name[i] = _pick(rng, BRANDS[c][1])
    return is_chain, brand_name


def _opening_hours(rng: np.random.Generator, cat_idx: np.ndarray, is_chain: np.ndarray,
                   brand_name: list[str | None]) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str | None]]:
    """(opening minute, closing minute, closed-weekday bits, closed days as text) per shop."""
    n = len(cat_idx)
    open_m = np.empty(n, dtype=np.int64)
    close_m = np.empty(n, dtype=np.int64)
    closed_bits = np.zeros(n, dtype=np.int64)
    closed_txt: list[str | None] = [None] * n
    for i in range(n):
        c = CATEGORIES[cat_idx[i]]
        options = HOURS[c]
        if is_chain[i] and brand_name[i] not in ALL_NIGHT_BRANDS:
            options = [o for o in options if o[1:] != ALL_NIGHT] or options
        weights = np.array([o[0] for o in options])
        _, opens, closes = options[int(rng.choice(len(options), p=weights / weights.sum()))]
        open_m[i] = _parse_hhmm(_pick(rng, opens))
        close_m[i] = _parse_hhmm(_pick(rng, closes))
        if rng.random() < (0.06 if is_chain[i] else CLOSED_DAY_RATE):
            weights = np.array(CLOSED_DAY_WEIGHTS) * np.array([3.0 if len(p) == 2 and c in ("샐러드", "도시락") else 1.0
                                                               for p in CLOSED_DAY_PATTERNS])
            pattern = CLOSED_DAY_PATTERNS[int(rng.choice(len(CLOSED_DAY_PATTERNS), p=weights / weights.sum()))]
            closed_txt[i] = ",".join(pattern)
            for day in pattern:
                closed_bits[i] |= 1 << WEEKDAYS_KO.index(day)
    return open_m, close_m, closed_bits, closed_txt


def _address_and_phone(rng: np.random.Generator, district: str) -> tuple[str, str]:
    """A street address in ``district`` and a Seoul phone number."""
    road = _pick(rng, ROADS[district])
    num = int(rng.integers(1, 260))
    side_street = road.endswith("로") and rng.random() < 0.45
    address = (f"서울특별시 {district} {road}{int(rng.integers(2, 40))}길 {num}" if side_street
               else f"서울특별시 {district} {road} {num}")
    ex = int(rng.integers(200, 1000)) if rng.random() < 0.5 else int(rng.integers(2000, 10000))
    return address, f"02-{ex}-{int(rng.integers(0, 10000)):04d}"


@lru_cache(maxsize=1)
def _brand_order() -> tuple[str, ...]:
    return tuple(b for _, (_, names) in BRANDS.items() for b in names)


def _weighted_subset(rng: np.random.Generator, weights: np.ndarray, k: int) -> np.ndarray:
    """A boolean mask with exactly k True, drawn without replacement proportionally to weights."""
    keys = np.log(weights) + rng.gumbel(size=weights.size)
    mask = np.zeros(weights.size, dtype=bool)
    if k > 0:
        mask[np.argsort(-keys, kind="stable")[:k]] = True
    return mask
