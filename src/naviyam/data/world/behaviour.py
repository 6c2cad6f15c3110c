"""Sampling behaviour: orders, payments, favourites and reviews from the hidden tastes."""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass

import numpy as np

from naviyam.data.world.catalogue import (
    CATEGORIES,
    GROWTH,
    MAX_CANDIDATES,
    REVIEW_PHRASES,
    SEGMENTS,
    SLOT_HOURS,
    SLOT_PROFILES,
    SLOTS,
    TIME_AFFINITY,
    WEEKDAY_VOLUME,
)
from naviyam.data.world.helpers import _josa, _report
from naviyam.data.world.hours import _open_mask
from naviyam.progress import Reporter


@dataclass(frozen=True)
class _Calendar:
    """What every user's orders share: the day weights, slot profiles and time-of-day affinities."""

    start_wd: int
    day_wd: np.ndarray
    day_cum: np.ndarray
    time_aff: np.ndarray  # slot x category
    slot_hours: list[tuple[np.ndarray, np.ndarray]]  # per slot: (hours, weights)
    slot_prof: np.ndarray  # segment x (weekday/weekend) x slot

    @classmethod
    def of(cls, start: dt.datetime, days: int) -> _Calendar:
        start_wd = start.weekday()
        day_wd = (start_wd + np.arange(days)) % 7
        day_w = np.array(WEEKDAY_VOLUME)[day_wd] * (1.0 + GROWTH * np.arange(days) / max(days - 1, 1))
        return cls(
            start_wd=start_wd, day_wd=day_wd, day_cum=np.cumsum(day_w),
            time_aff=np.array([[TIME_AFFINITY[s].get(c, 0.0) for c in CATEGORIES] for s in SLOTS]),
            slot_hours=[(np.array(list(SLOT_HOURS[s])), np.array(list(SLOT_HOURS[s].values()))) for s in SLOTS],
            slot_prof=np.array([[SLOT_PROFILES[s][k] for k in (0, 1)] for s in SEGMENTS]),
        )


# local flat-earth kilometres: within Seoul the error against haversine is far below 0.1 %
_KY, _KX = 110.95, 111.32 * math.cos(math.radians(37.55))


def _candidate_shops(rng: np.random.Generator, u: int, shop_arr: dict, menu_arr: dict,
                     user_arr: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(shops, noise, static utility) of the shops user ``u`` might order from (near enough, best few kept)."""
    s_cat, s_card, s_good, s_q = shop_arr["cat"], shop_arr["card"], shop_arr["good"], shop_arr["quality"]
    d_km = np.hypot((shop_arr["lat"] - user_arr["lat"][u]) * _KY, (shop_arr["lon"] - user_arr["lon"][u]) * _KX)
    travel = user_arr["travel"][u]
    cand = np.flatnonzero(d_km <= max(4.0 * travel, 2.5))
    if cand.size < 25:
        cand = np.argsort(d_km, kind="stable")[:25]
    taste_log = np.log(user_arr["taste"][u] + 0.01)
    eps = rng.normal(0.0, 0.9, cand.size)
    static = (taste_log[s_cat[cand]] - d_km[cand] / travel
              - user_arr["price"][u] * np.maximum(0.0, np.log(menu_arr["typical"][cand] / user_arr["budget"][u]))
              + 0.25 * s_good[cand] + s_q[cand] + eps)
    if user_arr["card"][u]:
        static += np.where(s_card[cand], 1.6, -1.0) + 0.35 * s_good[cand]
    if cand.size > MAX_CANDIDATES:  # the rest would win with negligible probability
        keep_idx = np.sort(np.argsort(-static, kind="stable")[:MAX_CANDIDATES])
        cand, eps, static = cand[keep_idx], eps[keep_idx], static[keep_idx]
    return cand, eps, static


def _order_times(rng: np.random.Generator, cal: _Calendar, seg: int, slot_gain: np.ndarray, n_orders: int,
                 first_day: int, days: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(day, slot, minute of day, second) of ``n_orders`` orders; a day past the window is ``days`` or more."""
    lo = cal.day_cum[first_day - 1] if first_day > 0 else 0.0
    day = np.searchsorted(cal.day_cum, rng.uniform(lo, cal.day_cum[-1], n_orders), side="right")
    day = np.minimum(day, days - 1)
    weekend = (cal.day_wd[day] >= 5).astype(np.int64)
    mix = cal.slot_prof[seg][weekend] * slot_gain[None, :]
    mix /= mix.sum(axis=1, keepdims=True)
    slot = (rng.random(n_orders)[:, None] > np.cumsum(mix, axis=1)).sum(axis=1)
    slot = np.minimum(slot, len(SLOTS) - 1)
    hour = np.empty(n_orders, dtype=np.int64)
    for k in np.unique(slot):
        idx = np.flatnonzero(slot == k)
        hrs, w = cal.slot_hours[k]
        hour[idx] = hrs[rng.choice(len(hrs), size=idx.size, p=w / w.sum())]
    minute = rng.integers(0, 60, n_orders)
    second = rng.integers(0, 60, n_orders)
    day = day + (hour < 5)  # after midnight: next calendar day
    return day, slot, hour * 60 + minute, second


def _user_orders(rng: np.random.Generator, cal: _Calendar, u: int, cand: np.ndarray, eps: np.ndarray,
                 static: np.ndarray, first_day: int, days: int, shop_arr: dict, user_arr: dict):
    """(chosen shops, their seconds since start, their noise, their taste match) of user ``u``'s orders."""
    span = days - first_day
    n_orders = 0
    if user_arr["active"][u] and span > 0:
        mean = user_arr["orders_mean"][u] * user_arr["activity"][u] * span / 180.0
        n_orders = int(rng.poisson(mean))
    if not n_orders:
        return None
    day, slot, mod, second = _order_times(rng, cal, user_arr["seg"][u], user_arr["slot_gain"][u], n_orders,
                                          first_day, days)
    keep = day < days
    weekday = (cal.start_wd + day) % 7
    s_cat = shop_arr["cat"]
    open_ = _open_mask(shop_arr["open_m"][cand], shop_arr["close_m"][cand], shop_arr["closed_bits"][cand],
                       weekday, mod)
    util = static[None, :] + cal.time_aff[slot][:, s_cat[cand]] + rng.gumbel(size=(n_orders, cand.size))
    util = np.where(open_, util, -np.inf)
    pick = np.argmax(util, axis=1)
    keep &= open_.any(axis=1)
    chosen = cand[pick[keep]]
    match = np.log(user_arr["taste"][u][s_cat[chosen]] * len(CATEGORIES) + 1e-9)
    return chosen, day[keep] * 86400 + mod[keep] * 60 + second[keep], eps[pick[keep]], match


def _simulate(rng: np.random.Generator, rng_fav: np.random.Generator, rng_text: np.random.Generator,
              start: dt.datetime, days: int, shop_arr: dict, menu_rows: list[dict], menu_arr: dict, user_arr: dict,
              progress: Reporter | None):
    """(orders, favourites, reviews) of every user over ``days`` days from ``start``, as row dicts."""
    n_users = len(user_arr["seg"])
    cal = _Calendar.of(start, days)
    out_user, out_shop, out_sec, out_eps, out_match = [], [], [], [], []
    extra_favs: list[tuple[int, int, int]] = []  # (user, shop, second)
    for u in range(n_users):
        cand, eps, static = _candidate_shops(rng, u, shop_arr, menu_arr, user_arr)
        first_day = max(0, int(user_arr["created_day"][u]) + 1)
        got = _user_orders(rng, cal, u, cand, eps, static, first_day, days, shop_arr, user_arr)
        chosen = np.zeros(0, dtype=np.int64)
        if got is not None:
            chosen, seconds, chosen_eps, match = got
            out_user.append(np.full(chosen.size, u, dtype=np.int64))
            out_shop.append(chosen)
            out_sec.append(seconds)
            out_eps.append(chosen_eps)
            out_match.append(match)
        # a browsed favourite: an attractive shop never ordered from (also for users who never order)
        if days - first_day > 0 and rng_fav.random() < (0.15 if chosen.size else 0.3):
            ordered = set(chosen.tolist())
            best = next((int(cand[j]) for j in np.argsort(-static, kind="stable") if int(cand[j]) not in ordered), None)
            if best is not None:
                extra_favs.append((u, best, int(rng_fav.integers(first_day * 86400, days * 86400))))
        _report(progress, "orders", u + 1, n_users, every=200)

    o_user, o_shop, o_sec = _joined(out_user, np.int64), _joined(out_shop, np.int64), _joined(out_sec, np.int64)
    o_eps, o_match = _joined(out_eps, float), _joined(out_match, float)
    order = np.lexsort((o_user, o_sec))  # chronological ids
    o_user, o_shop, o_sec, o_eps, o_match = (a[order] for a in (o_user, o_shop, o_sec, o_eps, o_match))

    menu_id, price, qty = _choose_menus(rng, o_shop, o_user, shop_arr, menu_arr, user_arr)
    pay = _payments(rng, o_user, o_shop, shop_arr["card"], user_arr)
    amount = price * qty
    ordered_at = _datetimes(start, o_sec)
    orders = [
        {"id": i + 1, "user_id": u + 1, "shop_id": s + 1, "menu_id": m, "quantity": q, "amount": a,
         "payment_method": p, "ordered_at": t}
        for i, (u, s, m, q, a, p, t) in enumerate(zip(o_user.tolist(), o_shop.tolist(), menu_id.tolist(),
                                                      qty.tolist(), amount.tolist(), pay, ordered_at, strict=False))
    ]
    favs = _favourites(rng_fav, start, days, o_user, o_shop, o_sec, extra_favs)
    reviews = _reviews(rng_text, start, days, o_user, o_shop, o_sec, o_eps, o_match, menu_id, pay, shop_arr,
                       menu_rows, user_arr)
    _report(progress, "reviews", len(reviews), len(reviews))
    return orders, favs, reviews


def _joined(parts: list[np.ndarray], dtype) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)


def _datetimes(start: dt.datetime, seconds: np.ndarray) -> list[dt.datetime]:
    base = np.datetime64(start, "s")
    return (base + seconds.astype("timedelta64[s]")).astype(object).tolist()


def _choose_menus(rng: np.random.Generator, o_shop: np.ndarray, o_user: np.ndarray, shop_arr: dict,
                  menu_arr: dict, user_arr: dict):
    """One main menu per order by popularity; tight budgets avoid expensive ones. Vectorised."""
    m_shop, m_price, m_pop, m_main = menu_arr["shop"], menu_arr["price"], menu_arr["pop"], menu_arr["main"]
    tight_user = user_arr["card"] | np.isin(user_arr["segment"], ("child", "teen"))
    menu_ids = np.arange(m_shop.size) + 1
    n = o_shop.size
    chosen = np.zeros(n, dtype=np.int64)
    tight = tight_user[o_user] if n else np.zeros(0, dtype=bool)
    for flag in (False, True):
        w = m_pop * m_main
        if flag:
            w = w * np.exp(-2.0 * np.maximum(0.0, np.log(m_price / 9000.0)))
        # cumulative weights within each shop, offset by the shop index: one searchsorted for all orders
        totals = np.bincount(m_shop, weights=w, minlength=len(shop_arr["lat"]))
        cum = np.cumsum(w)
        shop_start_cum = np.concatenate([[0.0], np.cumsum(totals)])[:-1]
        within = (cum - shop_start_cum[m_shop]) / np.maximum(totals[m_shop], 1e-12)
        keyed = m_shop + np.minimum(within, 1.0) * 0.999999
        idx = np.flatnonzero(tight == flag)
        u = rng.random(idx.size) * 0.999999
        pos = np.searchsorted(keyed, o_shop[idx] + u, side="left")
        chosen[idx] = pos
    price = m_price[chosen]
    cat = shop_arr["cat"][o_shop]
    meat = cat == CATEGORIES.index("고기")
    r = rng.random(n)
    qty = np.where(tight, np.where(r < 0.92, 1, 2), np.where(r < 0.75, 1, np.where(r < 0.95, 2, 3)))
    qty = np.where(meat & ~tight, np.where(r < 0.3, 1, np.where(r < 0.8, 2, 3)), qty)
    qty = np.where(np.isin(cat, [CATEGORIES.index("치킨"), CATEGORIES.index("피자")]), np.where(r < 0.9, 1, 2), qty)
    return menu_ids[chosen], price, qty.astype(np.int64)


def _payments(rng: np.random.Generator, o_user: np.ndarray, o_shop: np.ndarray, s_card: np.ndarray,
              user_arr: dict) -> list[str]:
    n = o_user.size
    holder = user_arr["card"][o_user]
    young = np.isin(user_arr["segment"][o_user], ("child", "teen"))
    accepts = s_card[o_shop]
    r = rng.random(n)
    pay = np.where(r < 0.85, "card", np.where(r < 0.92, "cash", "coupon")).astype(object)  # adults
    pay = np.where(young, np.where(r < 0.5, "card", np.where(r < 0.85, "cash", "coupon")), pay)
    pay = np.where(holder & ~accepts, np.where(r < 0.6, "card", np.where(r < 0.9, "cash", "coupon")), pay)
    pay = np.where(holder & accepts, np.where(r < 0.93, "meal_card", np.where(r < 0.97, "card", "cash")), pay)
    return [str(p) for p in pay]


def _favourites(rng: np.random.Generator, start: dt.datetime, days: int, o_user: np.ndarray, o_shop: np.ndarray,
                o_sec: np.ndarray, extra: list[tuple[int, int, int]]) -> list[dict]:
    """Repeat customers favourite a shop (likelier the more they order); plus browsed favourites."""
    end_sec = days * 86400
    order = np.lexsort((o_sec, o_shop, o_user))
    u, s, t = o_user[order], o_shop[order], o_sec[order]
    new_pair = np.ones(u.size, dtype=bool)
    new_pair[1:] = (u[1:] != u[:-1]) | (s[1:] != s[:-1])
    starts = np.flatnonzero(new_pair)
    counts = np.diff(np.append(starts, u.size))
    p = np.where(counts == 1, 0.04, 1.0 - np.exp(-0.35 * (counts - 1)))
    p = np.minimum(p, 0.8)
    take = rng.random(starts.size) < p
    nth = starts + np.minimum(counts, 2) - 1  # after the second order (or the only one)
    when = t[nth] + rng.integers(1800, 48 * 3600, starts.size)
    take &= when < end_sec
    pairs = {(int(a), int(b)): int(c) for a, b, c in zip(u[starts[take]], s[starts[take]], when[take], strict=False)}
    for a, b, c in extra:
        pairs.setdefault((a, b), c)
    items = sorted(pairs.items(), key=lambda kv: (kv[1], kv[0]))
    times = _datetimes(start, np.array([c for _, c in items], dtype=np.int64)) if items else []
    return [{"id": i + 1, "user_id": a + 1, "shop_id": b + 1, "created_at": when_}
            for i, (((a, b), _), when_) in enumerate(zip(items, times, strict=False))]


def _reviews(rng: np.random.Generator, start: dt.datetime, days: int, o_user: np.ndarray, o_shop: np.ndarray,
             o_sec: np.ndarray, o_eps: np.ndarray, o_match: np.ndarray, menu_id: np.ndarray, pay: list[str],
             shop_arr: dict, menu_rows: list[dict], user_arr: dict) -> list[dict]:
    n = o_user.size
    wrote = rng.random(n) < user_arr["review_rate"][o_user] if n else np.zeros(0, dtype=bool)
    delay = rng.integers(3600, 48 * 3600, n)
    when = o_sec + delay
    wrote &= when < days * 86400
    idx = np.flatnonzero(wrote)
    match = np.clip(o_match[idx], -2.0, 2.0)
    raw = 3.55 + 0.45 * match + 0.9 * shop_arr["quality"][o_shop[idx]] + 0.35 * o_eps[idx] + rng.normal(0, 0.6, idx.size)
    rating = np.clip(np.rint(raw), 1, 5).astype(np.int64)
    draws = rng.random((idx.size, 8))
    times = _datetimes(start, when[idx])
    reviews = []
    for k, i in enumerate(idx.tolist()):
        menu = menu_rows[int(menu_id[i]) - 1]
        said = menu["dish"] or re.sub(r"\(.*?\)", "", menu["name"]).strip()  # "족발(소)" -> "족발"
        text = _review_text(int(rating[k]), said, pay[i] == "meal_card",
                            bool(shop_arr["good"][o_shop[i]]), user_arr["segment"][o_user[i]] == "child", draws[k])
        reviews.append((times[k], int(o_user[i]) + 1, int(o_shop[i]) + 1, int(rating[k]), text))
    reviews.sort(key=lambda r: (r[0], r[1], r[2]))
    return [{"id": k + 1, "user_id": u, "shop_id": s, "rating": r, "text": text, "created_at": t}
            for k, (t, u, s, r, text) in enumerate(reviews)]


def _review_text(rating: int, menu: str, meal_card: bool, good: bool, child: bool, u: np.ndarray) -> str | None:
    """A short Korean review assembled from phrases that fit the rating (u: 8 uniforms)."""
    if u[0] < 0.08:
        return None

    def choose(key: str, x: float) -> str:
        options = REVIEW_PHRASES[key]
        phrase = options[min(int(x * len(options)), len(options) - 1)]
        return phrase.format(m=menu, 이가=_josa(menu, "이가"), 은는=_josa(menu, "은는"))

    end = "!" if rating == 5 and u[5] < 0.4 else "."
    parts = [choose(f"food{rating}", u[1])]
    if rating >= 4:
        if meal_card and u[2] < 0.45:
            parts.append(choose("card", u[3]))
        elif good and u[2] < 0.3:
            parts.append(choose("good", u[3]))
        elif u[2] < 0.6:
            parts.append(choose("service_pos", u[3]))
        if child and u[4] < 0.3:
            parts.append(choose("kid", u[5]))
        if u[6] < 0.5:
            parts.append(choose("close_pos", u[7]))
    elif rating <= 2 and u[2] < 0.6:
        parts.append(choose("service_neg", u[3]))
    elif rating == 3 and u[2] < 0.3:
        parts.append(choose("service_pos" if u[4] < 0.5 else "service_neg", u[3]))
    return " ".join(p if p.endswith(("!", ".", "?", "ㅎ")) else p + end for p in parts)
