"""Who the answer is for: the rules around the engine that every recommendation path shares.

Before the engine (:func:`plan_search`):

- **Meal card.** A card holder (or a conversation that says 급식카드/꿈나무카드)
  gets card-accepting shops with a main dish within their 구's per-meal amount
  (``meal_card_limit``, else the ``meal_card_per_meal`` setting), unless they
  said otherwise ("카드 말고 현금으로") or named their own budget ("2만원까지 괜찮아").
- **Safety.** Alcohol shops stay out inside retrieval unless the user is known
  to be an adult.
- **Refinements.** "더 싼 데는?" keeps shops whose cheapest main dish costs
  less than the cheapest one shown; "더 가까운 곳은?" keeps shops nearer than
  the nearest one shown; "다른 데는?"/"또 없어?" leaves out every shop
  already shown in the conversation.

After the engine (:func:`arrange`): each shop gets its hours (open now, closes
at, closing soon, opens at), walking minutes and the dishes worth showing (the
asked-for dish with its price, else the main dishes within the budget); the
list is sorted as asked (price, distance, rating, popularity) and, for a
request about now, open shops always come before closed ones.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session as DBSession

from naviyam.core.safety import may_see_alcohol_shops
from naviyam.db import data_versions
from naviyam.db.models import MealCardLimit, ProductOrder, Shop, ShopMenu
from naviyam.hours import is_open
from naviyam.menus import main_dish_mask
from naviyam.nlg.format import walk_minutes
from naviyam.nlu.lexicon import load_taxonomy

DEFAULT_PER_MEAL = 9_000
DEFAULT_CLOSING_SOON_MINUTES = 30
#: Dishes shown on one card.
MAX_DISHES = 3
#: "더 가까운 곳은?": a shop must be at least this much (m) nearer than the nearest one shown.
CLOSER_MARGIN_M = 1.0

_CASH = re.compile(r"현금|카드\s*(말고|없이|안\s*쓰|빼고|말구)|내\s*돈으로|용돈으로")
_CARD_WORD = re.compile(r"급식\s*카드|꿈나무\s*카드|아동\s*급식|카드\s*(되는|돼|로|쓸)")
_CHEAPER = re.compile(r"더\s*(싼|싸|저렴)|덜\s*비싼|(싼|저렴한)\s*(데|곳|가게|거)\s*(는|없|또)")
_CLOSER = re.compile(r"더\s*가까")
_OTHER = re.compile(r"다른\s*(데|곳|가게|집|식당|덴)|딴\s*(데|곳|가게)|또\s*(없|있|다른|추천|알려)|말고\s*또|더\s*없|다른\s*거\s*(는|없|또)")
_HUNGRY = re.compile(r"배\s*고|밥\s*집|식당|맛집|아무\s*거나|아무거나|뭐\s*먹|뭘\s*먹|추천\s*(해|좀|부탁)|출출|밥\s*(먹|줘)|먹을\s*(거|데|곳)")
_SORTS = ("price", "distance", "rating", "popularity")


@dataclass(frozen=True)
class Asker:
    """What the service knows about who asks."""

    user_id: int | None = None
    age: int | None = None
    district: str | None = None
    card_holder: bool = False
    known: bool = False


@dataclass
class Plan:
    """The engine's filters for one request and what the answer must say about them."""

    filters: dict[str, Any]
    #: the per-meal amount applied because the user pays with the meal card (None: not applied)
    card_budget: int | None = None
    card: bool = False
    #: "다른 데는?": shops left out because they were already shown
    excluded_shown: int = 0
    #: "더 싼 데는?": the cheapest main dish shown before
    cheaper_than: int | None = None
    closer: bool = False
    #: "더 가까운 곳은?": the distance (m) of the nearest shop shown before
    closer_than: float | None = None
    #: a request about now (no time words): open shops first
    now_request: bool = True
    card_off: bool = False
    notes: list[str] = field(default_factory=list)


def per_meal_amount(db: DBSession, district: str | None, default: int = DEFAULT_PER_MEAL) -> int:
    """The meal card's amount per meal in a 구 (the default where the operator has no row)."""
    if district:
        row = db.connection().execute(_PER_MEAL, {"district": district}).first()  # prepared: read on every search turn
        if row is not None:
            return int(row.per_meal)
    return int(default)


_PER_MEAL = select(MealCardLimit.per_meal).where(MealCardLimit.district == bindparam("district"))


def is_hungry_talk(message: str) -> bool:
    """"배고파", "아무거나", "뭐 먹지", "추천해줘": food is wanted even when nothing else is said."""
    return bool(_HUNGRY.search(message or ""))


def is_refinement(message: str) -> bool:
    """"더 싼 데는?", "더 가까운 곳은?", "다른 데는?", "또 없어?"."""
    m = message or ""
    return bool(_CHEAPER.search(m) or _CLOSER.search(m) or _OTHER.search(m))


def wants_cash(message: str) -> bool:
    return bool(_CASH.search(message or ""))


def plan_search(message: str, filters: dict[str, Any], asker: Asker, *, per_meal: int,
                state: dict[str, Any] | None = None) -> Plan:
    """The engine's filters: the NLU's, plus the meal card, safety and refinement rules.

    ``state`` is the conversation's memory (``card_off``, ``shown_all``,
    ``last_prices``, ``last_distances``); it is updated in place with ``card_off``.
    """
    state = state if state is not None else {}
    out = dict(filters)
    message = message or ""
    if wants_cash(message):
        state["card_off"] = True
    elif _CARD_WORD.search(message):
        state["card_off"] = False
    card_off = bool(state.get("card_off"))
    plan = Plan(out, card_off=card_off)
    if card_off:
        out.pop("payment_method", None)
    card = not card_off and (out.get("payment_method") == "meal_card" or asker.card_holder)
    plan.card = card
    if card:
        out["payment_method"] = "meal_card"
        if out.get("budget_filter") is None:
            out["budget_filter"] = per_meal
            plan.card_budget = per_meal
    if may_see_alcohol_shops(asker.age):
        out["_allow_alcohol"] = True
    shown = [int(s) for s in state.get("shown_all") or ()]
    if _CHEAPER.search(message) and state.get("last_prices"):
        plan.cheaper_than = int(min(state["last_prices"]))
        out["_cheaper_than"] = plan.cheaper_than
        out["sort"] = "price"
    if _OTHER.search(message) and shown:
        out["_exclude_shop_ids"] = shown
        plan.excluded_shown = len(shown)
    if _CLOSER.search(message):
        plan.closer = True
        out["sort"] = "distance"
        if state.get("last_distances"):
            plan.closer_than = float(min(state["last_distances"]))
            # Shown distances are rounded to 0.1 m: a metre's margin keeps the nearest shop itself out.
            out["_closer_than"] = plan.closer_than - CLOSER_MARGIN_M
    plan.now_request = not out.get("time_of_day")
    return plan


# --------------------------------------------------------------------------- after the engine


@dataclass(frozen=True)
class _ShopFacts:
    open_time: dt.time
    close_time: dt.time
    closed_days: str | None
    menus: list[tuple[str, str | None, int, bool]]  # name, dish, price, is_signature
    orders: int
    mains: list[tuple[str, str | None, int, bool]]  # the main dishes among ``menus`` (naviyam.menus)
    #: the cheapest main dish's price (None without one), and the closing time as "HH:MM"
    cheapest_main: int | None = None
    closes_hhmm: str = ""


def _facts(db: DBSession, shop_ids: Sequence[int] | None) -> dict[int, _ShopFacts]:
    """Facts of the shops ``shop_ids`` (None: of every shop) from the database."""
    ids = sorted({int(s) for s in shop_ids}) if shop_ids is not None else None
    if ids is not None and not ids:
        return {}
    # Plain column rows on the session's connection (Core, not ORM objects).
    conn = db.connection()
    shop_q = select(Shop.id, Shop.open_time, Shop.close_time, Shop.closed_days)
    menu_q = select(ShopMenu.shop_id, ShopMenu.name, ShopMenu.dish, ShopMenu.price, ShopMenu.is_signature)
    order_q = select(ProductOrder.shop_id, func.count())
    if ids is not None:
        shop_q = shop_q.where(Shop.id.in_(ids))
        menu_q = menu_q.where(ShopMenu.shop_id.in_(ids))
        order_q = order_q.where(ProductOrder.shop_id.in_(ids))
    shops = {row[0]: row for row in conn.execute(shop_q)}
    menus: dict[int, list[tuple[str, str | None, int, bool]]] = {i: [] for i in shops}
    for shop_id, name, dish, price, signature in conn.execute(menu_q.order_by(ShopMenu.id)):
        if shop_id in menus:
            menus[shop_id].append((name, dish, int(price or 0), bool(signature)))
    orders = dict(conn.execute(order_q.group_by(ProductOrder.shop_id)).all())
    out = {}
    for i, row in shops.items():
        mains = _mains(menus[i])
        out[i] = _ShopFacts(row[1], row[2], row[3], menus[i], int(orders.get(i, 0)), mains,
                            min((m[2] for m in mains), default=None), _hhmm(row[2]) if row[2] is not None else "")
    return out


class ShopFactsCache:
    """What :func:`annotate` reads about shops (hours, menus, order counts), read for every shop at once and kept
    while the operator's data stays the same.

    Every write path of the operator's data bumps its ``data_version`` (naviyam.db.data_versions); a request
    reads those few versions (at most once a second, and at once after a write of this process) and rereads every
    shop when one of ``shop``, ``shop_menu`` or ``product_order`` moved on. A shop the cache does not know (added
    by hand since) is read from the database as before. Rows edited by hand in SQL, which bump no version, are
    seen after the next import or a restart, like the models.
    """

    ASPECTS = ("shop", "shop_menu", "product_order")
    #: Seconds the versions read are trusted before they are read again (a write of this process, through
    #: ``data_versions.bump``, makes the next answer read them at once; another process's after this long).
    RECHECK_S = 1.0

    def __init__(self, recheck_s: float = RECHECK_S, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._facts: dict[int, _ShopFacts] = {}
        self._versions: dict[str, int] | None = None
        self._lock = threading.Lock()
        self.recheck_s = recheck_s
        self._monotonic = monotonic
        self._checked: tuple[float, int] | None = None  # (when, data_versions.local_bumps()) of the last read

    def get(self, db: DBSession, shop_ids: Sequence[int]) -> dict[int, _ShopFacts]:
        now, bumps = self._monotonic(), data_versions.local_bumps()
        checked = self._checked
        if checked is None or checked[1] != bumps or now - checked[0] >= self.recheck_s:
            conn = db.connection()
            versions = {a: v for a, v in data_versions.current(conn).items() if a in self.ASPECTS}
            with self._lock:
                if versions != self._versions:
                    self._facts = _facts(db, None)
                    self._versions = versions
                self._checked = (now, bumps)
        with self._lock:
            facts = self._facts
        ids = {int(s) for s in shop_ids}
        missing = [i for i in ids if i not in facts]
        out = {i: facts[i] for i in ids if i in facts}
        if missing:
            out.update(_facts(db, missing))
        return out


def _mains(menus: list[tuple[str, str | None, int, bool]]) -> list[tuple[str, str | None, int, bool]]:
    mask = main_dish_mask([(n, d, p) for n, d, p, _s in menus])
    return [m for m, keep in zip(menus, mask, strict=True) if keep]


def dishes_to_show(menus: list[tuple[str, str | None, int, bool]], *, asked_menu: str | None,
                   budget: int | None, mains: list[tuple[str, str | None, int, bool]] | None = None,
                   ) -> list[dict[str, Any]]:
    """The asked-for dish with its price, else the main dishes within the budget (signature ones first),
    else the cheapest main dishes: what a child can actually order, not the dearest signature dish.
    ``mains``: the main dishes among ``menus`` when the caller has them already."""
    mains = _mains(menus) if mains is None else mains
    if asked_menu:
        asked = [m for m in menus if m[2] > 0 and (m[1] == asked_menu or asked_menu in m[0])]
        asked.sort(key=lambda m: m[2])
        if budget is not None and any(m[2] <= budget for m in asked):
            asked = [m for m in asked if m[2] <= budget]
        if asked:
            return [{"name": n, "price": p} for n, _d, p, _s in asked[:MAX_DISHES]]
    pool = [m for m in mains if budget is None or m[2] <= budget] or sorted(mains, key=lambda m: m[2])[:1]
    pool = sorted(pool, key=lambda m: (not m[3], m[2] if budget is None else -m[2]))
    return [{"name": n, "price": p} for n, _d, p, _s in pool[:MAX_DISHES]]


def _hhmm(t: dt.time) -> str:
    return f"{t:%H:%M}"


def _opens_text(f: _ShopFacts, now: dt.datetime) -> str:
    """When a closed shop opens next: "오늘 17:00에 열어요", "내일 10:00에 열어요"."""
    for days in range(0, 8):
        day = now.date() + dt.timedelta(days=days)
        at = dt.datetime.combine(day, f.open_time)
        if at > now and is_open(f.open_time, f.close_time, f.closed_days, at):
            word = {0: "오늘", 1: "내일"}.get(days, f"{day.month}월 {day.day}일")
            return f"{word} {_hhmm(f.open_time)}에 열어요"
    return "여는 시간을 확인해 주세요"


def annotate(db: DBSession, recs: list[dict[str, Any]], *, now: dt.datetime, asked_menu: str | None,
             budget: int | None, closing_soon_minutes: int = DEFAULT_CLOSING_SOON_MINUTES,
             facts_cache: ShopFactsCache | None = None) -> list[dict[str, Any]]:
    """Each recommendation with ``open_now``, ``closes_at``, ``closing_soon``, ``opens_text``, ``walk_minutes``,
    ``cheapest_main``, ``order_count`` and ``dishes`` (the dishes worth showing, with prices).

    The shops' facts come from ``facts_cache`` when given, else from the database."""
    shop_ids = [r["shop_id"] for r in recs]
    facts = facts_cache.get(db, shop_ids) if facts_cache is not None else _facts(db, shop_ids)
    later = now + dt.timedelta(minutes=closing_soon_minutes)
    out = []
    for r in recs:
        r = dict(r)
        f = facts.get(int(r["shop_id"]))
        if f is not None:
            open_now = is_open(f.open_time, f.close_time, f.closed_days, now)
            r["open_now"] = open_now
            allday = f.open_time == f.close_time
            r["closes_at"] = None if allday else f.closes_hhmm
            r["closing_soon"] = bool(open_now and not allday and closing_soon_minutes > 0
                                     and not is_open(f.open_time, f.close_time, f.closed_days, later))
            r["opens_text"] = None if open_now else _opens_text(f, now)
            r["cheapest_main"] = f.cheapest_main
            r["order_count"] = f.orders
            r["dishes"] = dishes_to_show(f.menus, asked_menu=asked_menu, budget=budget, mains=f.mains)
        r["walk_minutes"] = walk_minutes(r["distance_m"]) if r.get("distance_m") is not None else None
        out.append(r)
    return out


def _sort_key(sort: str):
    inf = float("inf")
    if sort == "price":
        return lambda r: r.get("cheapest_main") if r.get("cheapest_main") is not None else inf
    if sort == "distance":
        return lambda r: r["distance_m"] if r.get("distance_m") is not None else inf
    if sort == "rating":
        return lambda r: -(r["rating"] if r.get("rating") is not None else 0.0)
    return lambda r: -(r.get("order_count") or 0)


#: Categories that sell snacks and drinks rather than a meal.
SNACK_CATEGORIES = frozenset({"카페", "디저트", "베이커리"})


def wants_a_meal(filters: dict[str, Any]) -> bool:
    """Whether a request is for a meal: not for a snack category or dish, not for snack time."""
    if filters.get("time_of_day") == "snack" or filters.get("category") in SNACK_CATEGORIES:
        return False
    menu = filters.get("menu")
    if menu:
        cats = load_taxonomy()["categories"]
        if any(menu in cats.get(c, {}).get("dishes", []) for c in SNACK_CATEGORIES):
            return False
    return True


def arrange(recs: list[dict[str, Any]], *, sort: str | None, now_request: bool, top_k: int,
            meal: bool = False) -> list[dict[str, Any]]:
    """Sorted as asked (stable, so ties keep the ranker's order), open shops first for a request about now,
    meal places before cafés, dessert and bakery shops for a request for a meal (a 2,000원 빙수 is not a
    child's dinner, even when relaxing the category brought it in), then the first ``top_k``."""
    out = list(recs)
    if sort in _SORTS:
        out.sort(key=_sort_key(sort))
    if meal:
        out.sort(key=lambda r: r.get("category") in SNACK_CATEGORIES)
    if now_request:
        out.sort(key=lambda r: r.get("open_now") is False)
    return out[:top_k]
