"""Sampling menus: each shop's dishes and prices from its category's catalogue."""

from __future__ import annotations

import math

import numpy as np

from naviyam.data.world.catalogue import (
    BRAND_FOCUS,
    BRANDS,
    MENU_CATALOG,
    MENU_PRICE_RANGES,
    SIDE_MENU_NAMES,
    SIDE_MENUS,
    SIDE_PRICE_RANGE,
)
from naviyam.data.world.helpers import _dong_stem, _report, _round500
from naviyam.data.world.shops import _brand_order, _shop_name
from naviyam.progress import Reporter


def _menu_template(rng: np.random.Generator, category: str,
                   brand: str | None = None) -> list[tuple[str, str | None, int, bool, float]]:
    """(name, dish, price, is_signature, popularity) for one shop (or one chain)."""
    chain = brand is not None
    catalog = MENU_CATALOG[category]
    focus = BRAND_FOCUS.get(brand or "")
    if focus:
        catalog = [c for c in catalog if c[1] in focus or c[0] in focus]
    sides = SIDE_MENUS[category]
    lo, hi = MENU_PRICE_RANGES[category]
    n_total = int(rng.integers(4, 16))
    n_side = min(len(sides), int(rng.choice(3, p=(0.35, 0.4, 0.25))))
    n_main = max(3, min(len(catalog), n_total - n_side))
    n_side = min(len(sides), max(n_side, 4 - n_main))  # a small chain menu still lists 4 items
    pop = np.array([c[3] for c in catalog], dtype=float)
    # at least one taxonomy dish first (when the category has dishes), then the rest by popularity
    dish_idx = [i for i, c in enumerate(catalog) if c[1] is not None]
    chosen: list[int] = []
    if dish_idx:
        p = pop[dish_idx] / pop[dish_idx].sum()
        chosen.append(dish_idx[int(rng.choice(len(dish_idx), p=p))])
    rest = [i for i in range(len(catalog)) if i not in chosen]
    p = pop[rest] / pop[rest].sum()
    chosen += [rest[j] for j in rng.choice(len(rest), size=n_main - len(chosen), replace=False, p=p)]
    level = math.exp(rng.normal(0.08 if chain else 0.0, 0.08))
    prices = _round500(np.array([catalog[i][2] for i in chosen]) * level * np.exp(rng.normal(0, 0.05, len(chosen))))
    prices = np.clip(prices, lo, hi)
    # signatures: 1-3 of the chosen mains, favouring popular ones
    n_sig = min(len(chosen), int(rng.choice([1, 2, 3], p=(0.4, 0.4, 0.2))))
    sig_keys = 2.0 * np.log(pop[chosen]) + rng.gumbel(size=len(chosen))
    sig = set(np.argsort(-sig_keys, kind="stable")[:n_sig].tolist())
    items = [(catalog[i][0], catalog[i][1], int(prices[j]), j in sig, float(pop[i]) * (3.0 if j in sig else 1.0))
             for j, i in enumerate(chosen)]
    items.sort(key=lambda t: (not t[3], -t[4]))  # signatures first, as menus are usually listed
    slo, shi = SIDE_PRICE_RANGE
    for j in rng.choice(len(sides), size=n_side, replace=False):
        name, price = sides[int(j)]
        items.append((name, None, int(min(max(price, slo), shi)), False, 0.0))
    return items


def _make_menus(rng: np.random.Generator, shop_rows: list[dict], shop_arr: dict, progress: Reporter | None):
    brand_templates: dict[str, list] = {}
    for b in sorted({b for b in shop_arr["brand"] if b}, key=lambda b: _brand_order().index(b)):
        category = next(c for c, (_, names) in BRANDS.items() if b in names)
        brand_templates[b] = _menu_template(rng, category, brand=b)
    rows: list[dict] = []
    shop_of, price, pop, is_main = [], [], [], []
    typical = np.zeros(len(shop_rows))
    used_names: set[str] = set()
    for i, shop in enumerate(shop_rows):
        b = shop_arr["brand"][i]
        items = brand_templates[b] if b else _menu_template(rng, shop["category"])
        for name, dish, p, sig, w in items:
            rows.append({"id": len(rows) + 1, "shop_id": shop["id"], "name": name, "price": p, "dish": dish,
                         "is_signature": sig})
            shop_of.append(i)
            price.append(p)
            pop.append(w)
            is_main.append(name not in SIDE_MENU_NAMES)
        mains = [p for name, _, p, _, _ in items if name not in SIDE_MENU_NAMES]
        typical[i] = float(np.median(mains))
        sig_items = [t for t in items if t[3]]
        shop["name"] = _unique_name(rng, shop, b, sig_items, used_names)
        shop["description"] = _description(shop, sig_items)
        _report(progress, "menus", i + 1, len(shop_rows))
    arr = {"shop": np.array(shop_of, dtype=np.int64), "price": np.array(price, dtype=np.int64),
           "pop": np.array(pop), "main": np.array(is_main, dtype=bool), "typical": typical}
    return rows, arr


def _unique_name(rng: np.random.Generator, shop: dict, brand: str | None, sig_items: list, used: set[str]) -> str:
    dong = shop["dong"]
    stem = _dong_stem(dong)
    if brand:
        candidates = [f"{brand} {stem}점", f"{brand} {stem}역점", f"{brand} {stem}중앙점"]
        candidates += [f"{brand} {stem}{k}호점" for k in range(2, 50)]
    else:
        sig_dish = next((t[1] for t in sig_items if t[1]), None)
        base = [_shop_name(rng, shop["category"], sig_dish, dong) for _ in range(4)]
        candidates = base + [f"{base[0]} {stem}점", f"{base[0]} {stem}본점"] + [f"{base[0]} {k}호점" for k in range(2, 50)]
    for name in candidates:
        if name not in used:
            used.add(name)
            return name
    name = f"{candidates[0]} {shop['id']}"  # practically unreachable
    used.add(name)
    return name


def _description(shop: dict, sig_items: list) -> str:
    parts = [f"{shop['dong']}에 있는 {shop['category']} 가게입니다."]
    if sig_items:
        parts.append("대표 메뉴: " + ", ".join(f"{t[0]} {t[2]:,}원" for t in sig_items) + ".")
    if shop["accepts_meal_card"]:
        parts.append("아동급식카드(꿈나무카드) 사용 가능.")
    if shop["is_good_shop"]:
        parts.append("착한가게.")
    return " ".join(p if p.endswith(("!", ".", "?", "ㅎ")) else p + "." for p in parts)
