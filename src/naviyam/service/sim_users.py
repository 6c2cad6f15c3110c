"""Simulated users for ``naviyam simulate``: who they are, what they ask, and how they choose.

Who. The sample world's users with their *hidden* tastes. The generator
(:mod:`naviyam.data.generate`) does not store tastes; they are derived again,
deterministically, from the generator's seed: the users' random stream is the
third child of ``SeedSequence(seed)`` and depends only on the seed, the number
of users and the window (``sample_seed``, ``sample_users``, ``sample_days``).
Each derived user is checked against the database (birthday, district, meal
card); when the database is not that sample world (an operator's data), the
taste is estimated instead from the user's order history (category shares,
smoothed towards the overall shares) and the home from their 동's centre.

What they ask (:func:`draw_message`): a category they like, drawn from their
taste (``"{category} 먹고 싶어"``), a budget or card request, a place near
home, or "아무거나"; the phrasings are the ones children use in
``benchmarks/child_journeys.py`` and the NLU's generated data.

How they choose (:func:`choose`), for a list shown in rank order 1..K:

* utility of shop s for user u::

      U(u, s) = TASTE * ln(K_cat * θ_u[c_s] + 0.05)        taste affinity (0 for an average category)
              - dist_km(u, s) / travel_km_u                 distance penalty
              - price_u * max(0, ln(price_s / budget_u))    price against the budget (the card's
                                                            per-meal amount for card holders)
              + card holder: +0.8 if s takes the card, -1.0 if not
              + 0.25 * good_shop_s + ε,  ε ~ N(0, NOISE)    small seeded noise

* position bias: rank k is looked at with probability ``EXAMINE[k]``
  (1.0, 0.7, 0.5, 0.35, …, decreasing);
* a looked-at shop is clicked with ``σ(CLICK_BIAS + U)``; the user scans the
  list top-down and stops at the first click (one chosen shop per list);
* after a click, an order with ``σ(ORDER_BIAS + U)``, and after an order a
  favourite with ``FAVOURITE_P``; a looked-at shop that is not clicked and
  has ``U < DISMISS_BELOW`` is dismissed with ``DISMISS_P``.

Everything is seeded per (seed, user, day, turn): the two arms of a
simulation see the same random numbers for the same user and turn.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Engine, func, select

from naviyam.core import geo
from naviyam.data import generate as gen
from naviyam.data.generate import CATEGORIES
from naviyam.db.models import ProductOrder, Shop, ShopMenu, User
from naviyam.db.session import session_scope

log = logging.getLogger(__name__)

TASTE = 1.0
NOISE = 0.5
CLICK_BIAS = -0.3
ORDER_BIAS = -0.5
FAVOURITE_P = 0.15
DISMISS_BELOW = -1.5
DISMISS_P = 0.3
#: Probability that rank k (1-based) is looked at; later ranks keep the last value times 0.7.
EXAMINE = (1.0, 0.7, 0.5, 0.35, 0.25)
#: The card's per-meal amount a card holder budgets with (KRW) when nothing else is known.
CARD_BUDGET = 9000.0


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def examine_probability(rank: int) -> float:
    """Probability that the shop at 1-based ``rank`` is looked at (decreasing with rank)."""
    if rank <= len(EXAMINE):
        return EXAMINE[rank - 1]
    return EXAMINE[-1] * 0.7 ** (rank - len(EXAMINE))


@dataclass(frozen=True)
class SimUser:
    id: int
    taste: np.ndarray  # over categories (sums to 1)
    lat: float
    lon: float
    budget: float  # KRW per meal
    price_sensitivity: float
    travel_km: float
    card: bool
    source: str  # "generator" (hidden taste) or "history" (estimated)


@dataclass(frozen=True)
class ShopFacts:
    id: int
    cat: int
    lat: float
    lon: float
    card: bool
    good: bool
    price: float  # typical main dish price (median of its menu)
    dong: str | None


class World:
    """The shops (facts the choice model reads) and the categories of the database being simulated."""

    def __init__(self, shops: dict[int, ShopFacts], categories: tuple[str, ...]):
        self.shops = shops
        self.categories = categories
        self.cat_index = {c: i for i, c in enumerate(categories)}

    @classmethod
    def load(cls, engine: Engine) -> World:
        with session_scope(engine) as s:
            rows = list(s.execute(select(Shop.id, Shop.category, Shop.lat, Shop.lon, Shop.accepts_meal_card,
                                         Shop.is_good_shop, Shop.dong)))
            prices: dict[int, list[int]] = {}
            for sid, price in s.execute(select(ShopMenu.shop_id, ShopMenu.price)):
                prices.setdefault(int(sid), []).append(int(price))
        cats = tuple(CATEGORIES) + tuple(sorted({r.category for r in rows} - set(CATEGORIES)))
        index = {c: i for i, c in enumerate(cats)}
        shops = {int(r.id): ShopFacts(int(r.id), index[r.category], float(r.lat), float(r.lon),
                                      bool(r.accepts_meal_card), bool(r.is_good_shop),
                                      float(np.median(prices.get(int(r.id)) or [8000])), r.dong) for r in rows}
        return cls(shops, cats)


# --------------------------------------------------------------------------- who


def hidden_users(engine: Engine, world: World, *, seed: int, n_users: int, days: int,
                 end_date=None) -> dict[int, SimUser]:
    """Every user of the database with a taste: the generator's hidden one when the database is that world."""
    with session_scope(engine) as s:
        db_users = {int(u.id): u for u in s.scalars(select(User))}
    derived: dict[int, SimUser] = {}
    if len(db_users) == n_users and n_users > 0:
        end = end_date or gen.DEFAULT_END_DATE
        start = dt.datetime.combine(end - dt.timedelta(days=days), dt.time())
        rng_user = np.random.default_rng(np.random.SeedSequence(seed).spawn(7)[2])
        rows, arr = gen._make_users(rng_user, n_users, start, end, days, None)
        same = all((u := db_users.get(r["id"])) is not None and u.birthday == r["birthday"]
                   and u.district == r["district"] and bool(u.is_meal_card_holder) == r["is_meal_card_holder"]
                   for r in rows)
        if same and tuple(gen.CATEGORIES) == world.categories[:len(gen.CATEGORIES)]:
            k = len(world.categories)
            for i, r in enumerate(rows):
                taste = np.zeros(k)
                taste[:len(gen.CATEGORIES)] = arr["taste"][i]
                derived[r["id"]] = SimUser(r["id"], taste, float(arr["lat"][i]), float(arr["lon"][i]),
                                           float(arr["budget"][i]), float(arr["price"][i]),
                                           float(arr["travel"][i]), bool(arr["card"][i]), "generator")
            return derived
        log.info("the database is not the sample world of seed %s; tastes are estimated from order history", seed)
    return _estimated_users(engine, world, db_users)


def _estimated_users(engine: Engine, world: World, db_users: dict[int, Any]) -> dict[int, SimUser]:
    k = len(world.categories)
    counts: dict[int, np.ndarray] = {}
    spend: dict[int, list[float]] = {}
    with session_scope(engine) as s:
        for uid, sid, amount in s.execute(select(ProductOrder.user_id, ProductOrder.shop_id, ProductOrder.amount)):
            f = world.shops.get(int(sid))
            if f is None or uid is None:
                continue
            counts.setdefault(int(uid), np.zeros(k))[f.cat] += 1
            spend.setdefault(int(uid), []).append(float(amount or 0))
        _ = s.scalar(select(func.count(User.id)))
    overall = sum(counts.values(), np.ones(k))
    overall = overall / overall.sum()
    centres = {d.name: (d.lat, d.lon) for d in geo.dong_table()}
    out = {}
    for uid, u in db_users.items():
        c = counts.get(uid, np.zeros(k))
        taste = (c + 2.0 * overall) / (c.sum() + 2.0)
        lat, lon = centres.get(u.dong or "", (37.5665, 126.9780))
        budget = float(np.median(spend[uid])) if spend.get(uid) else (CARD_BUDGET if u.is_meal_card_holder else 12000.0)
        out[uid] = SimUser(uid, taste, float(lat), float(lon), max(budget, 4000.0), 1.0, 1.2,
                           bool(u.is_meal_card_holder), "history")
    return out


# --------------------------------------------------------------------------- what they ask

CATEGORY_PHRASES = ("{c} 먹고 싶어", "{c} 추천해줘", "오늘은 {c} 어때?", "{c} 맛집 알려줘")
BUDGET_PHRASES = ("만원으로 뭐 먹지?", "{b}원으로 먹을 수 있는 거", "싸고 맛있는 데 알려줘", "용돈 {b}원 있어 뭐 먹을까")
CARD_PHRASES = ("급식카드 되는 곳", "급식카드로 먹을 수 있는 데 추천해줘", "급식카드 되는 밥집 알려줘")
PLACE_PHRASES = ("{d} 근처 맛집", "{d}에서 먹을 만한 곳", "집 근처 맛집 알려줘")
ANY_PHRASES = ("아무거나 추천해줘", "배고파 뭐 먹지", "맛있는 거 추천해줘", "오늘 뭐 먹을까?")
#: Shares of the request kinds: category, budget, card, place, anything.
KIND_SHARES = (0.35, 0.15, 0.15, 0.1, 0.25)


def draw_message(user: SimUser, world: World, rng: np.random.Generator, dong: str | None = None) -> tuple[str, str]:
    """(request kind, message) for one turn."""
    kind = ("category", "budget", "card", "place", "any")[int(rng.choice(5, p=KIND_SHARES))]
    if kind == "card" and not user.card:
        kind = "any"
    if kind == "place" and not dong:
        kind = "any"
    if kind == "category":
        cat = world.categories[int(rng.choice(len(user.taste), p=user.taste / user.taste.sum()))]
        return kind, CATEGORY_PHRASES[int(rng.integers(len(CATEGORY_PHRASES)))].format(c=cat)
    if kind == "budget":
        b = int(round(user.budget / 1000.0)) * 1000
        return kind, BUDGET_PHRASES[int(rng.integers(len(BUDGET_PHRASES)))].format(b=f"{max(b, 3000):,}")
    if kind == "card":
        return kind, CARD_PHRASES[int(rng.integers(len(CARD_PHRASES)))]
    if kind == "place":
        return kind, PLACE_PHRASES[int(rng.integers(len(PLACE_PHRASES)))].format(d=dong)
    return kind, ANY_PHRASES[int(rng.integers(len(ANY_PHRASES)))]


# --------------------------------------------------------------------------- how they choose


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    ky, kx = 110.95, 111.32 * math.cos(math.radians(37.55))
    return math.hypot((lat1 - lat2) * ky, (lon1 - lon2) * kx)


def utility(user: SimUser, shop: ShopFacts, noise: float = 0.0) -> float:
    """U(u, s) of the module doc (``noise`` is the ε draw)."""
    k = len(user.taste)
    u = TASTE * math.log(k * float(user.taste[shop.cat]) + 0.05)
    u -= _km(user.lat, user.lon, shop.lat, shop.lon) / user.travel_km
    budget = min(user.budget, CARD_BUDGET) if user.card else user.budget
    u -= user.price_sensitivity * max(0.0, math.log(shop.price / budget))
    if user.card:
        u += 0.8 if shop.card else -1.0
    return u + 0.25 * shop.good + noise


def click_probability(user: SimUser, shop: ShopFacts, rank: int, noise: float = 0.0) -> float:
    """P(click at ``rank``) = examine(rank) · σ(CLICK_BIAS + U)."""
    return examine_probability(rank) * sigmoid(CLICK_BIAS + utility(user, shop, noise))


@dataclass
class Choice:
    """What a user did with one list: the clicked shop and its 1-based rank (None: nothing), and the events."""

    shop_id: int | None
    rank: int | None
    ordered: bool
    favourited: bool
    dismissed: list[int]


def choose(user: SimUser, shown: list[int], world: World, rng: np.random.Generator) -> Choice:
    """Scan the list top-down (position bias), stop at the first click; see the module doc."""
    dismissed: list[int] = []
    noises = rng.normal(0.0, NOISE, len(shown))
    draws = rng.random((len(shown), 3))
    for i, sid in enumerate(shown):
        shop = world.shops.get(int(sid))
        if shop is None or draws[i, 0] >= examine_probability(i + 1):
            continue
        u = utility(user, shop, float(noises[i]))
        if draws[i, 1] < sigmoid(CLICK_BIAS + u):
            ordered = bool(draws[i, 2] < sigmoid(ORDER_BIAS + u))
            fav = bool(ordered and rng.random() < FAVOURITE_P)
            return Choice(int(sid), i + 1, ordered, fav, dismissed)
        if u < DISMISS_BELOW and draws[i, 2] < DISMISS_P:
            dismissed.append(int(sid))
    return Choice(None, None, False, False, dismissed)
