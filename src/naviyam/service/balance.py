"""Balanced meals: a gentle nudge towards rice, soup and vegetables after a one-sided week.

What a child ate in the last :data:`DEFAULT_WINDOW_DAYS` days is read from their
orders (``product_order``) and the ``ordered`` feedback events of the app
(:func:`recent_meals`). When one kind of food (분식, 패스트푸드, 치킨 …, see
:data:`ONE_SIDED_KINDS`) makes up at least ``min_meals`` of those meals and at
least half of them, places of another kind with a main dish of rice, soup or
vegetables (:data:`BALANCED_DISHES`, all taxonomy dishes, and every 도시락집)
move up ``boost`` places in the list the engine returned (:func:`nudge`), the
card shows that dish first, and the reason says why, kindly: "이번 주엔 분식을
많이 먹었으니 밥이 든 메뉴도 골라 봤어요".

The nudge never overrides the child: a request that names a category or a dish,
an explicit sort ("더 싼 데는?", "가까운 순") and a refinement keep their order.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session as DBSession

from naviyam.core.clock import zone
from naviyam.core.text import particle
from naviyam.db.models import FeedbackEvent, ProductOrder, Shop, ShopMenu
from naviyam.menus import main_dish_mask

DEFAULT_WINDOW_DAYS = 7
#: Meals of one kind in the window before the nudge starts (0 turns it off).
DEFAULT_MIN_MEALS = 3
#: How many places a balanced shop moves up in the engine's list.
DEFAULT_BOOST = 4

#: Kinds of food a week can lean on too much.
ONE_SIDED_KINDS = frozenset({"분식", "패스트푸드", "치킨", "피자", "디저트", "카페", "베이커리"})

RICE, SOUP, VEGETABLES = "rice", "soup", "vegetables"
#: Taxonomy dishes that make a balanced meal, with what they bring (tests check every one is a taxonomy dish).
BALANCED_DISHES: dict[str, str] = {
    # 한식
    "비빔밥": VEGETABLES, "쌈밥": VEGETABLES, "백반": RICE, "불고기": RICE, "제육볶음": RICE, "죽": RICE,
    "김치찌개": SOUP, "된장찌개": SOUP, "순두부찌개": SOUP, "부대찌개": SOUP, "국밥": SOUP, "삼계탕": SOUP,
    "갈비탕": SOUP, "감자탕": SOUP, "칼국수": SOUP,
    # 분식, 중식, 일식, 양식
    "주먹밥": RICE, "컵밥": RICE, "볶음밥": RICE, "덮밥": RICE, "규동": RICE, "초밥": RICE,
    "오므라이스": RICE, "리조또": RICE,
    # 아시안, 샐러드
    "쌀국수": SOUP, "카레": RICE, "나시고랭": RICE,
    "샐러드볼": VEGETABLES, "포케볼": VEGETABLES, "닭가슴살샐러드": VEGETABLES,
}
#: A whole category that is a rice meal even without dishes in the taxonomy.
BALANCED_CATEGORIES: dict[str, str] = {"도시락": RICE}

_WHAT = {RICE: "밥이 든 메뉴", SOUP: "따뜻한 국물 메뉴", VEGETABLES: "채소가 든 메뉴"}


def object_particle(word: str) -> str:
    """을/를 after ``word`` by its final consonant."""
    return particle(word, "을", "를")


@dataclass(frozen=True)
class BalanceRule:
    """When the nudge starts and how strong it is (from the ``balanced_meal_*`` settings)."""

    min_meals: int = DEFAULT_MIN_MEALS
    boost: int = DEFAULT_BOOST
    window_days: int = DEFAULT_WINDOW_DAYS

    @classmethod
    def from_settings(cls, settings: Any | None) -> BalanceRule:
        return cls(min_meals=int(getattr(settings, "balanced_meal_min_meals", DEFAULT_MIN_MEALS)),
                   boost=int(getattr(settings, "balanced_meal_boost", DEFAULT_BOOST)))

    @property
    def active(self) -> bool:
        return self.min_meals > 0 and self.boost > 0


@dataclass(frozen=True)
class WeekMeals:
    """The kinds of food (shop categories) of a child's recent meals."""

    kinds: Counter = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.kinds.values())

    def one_sided(self, min_meals: int) -> str | None:
        """The kind the week leans on: a one-sided kind with at least ``min_meals`` meals and half of all."""
        if min_meals <= 0 or not self.kinds:
            return None
        kind, n = max(self.kinds.items(), key=lambda kv: (kv[1], kv[0]))
        if kind in ONE_SIDED_KINDS and n >= min_meals and 2 * n >= self.total:
            return kind
        return None


def recent_meals(db: DBSession, user_id: int | None, *, now: dt.datetime,
                 days: int = DEFAULT_WINDOW_DAYS) -> WeekMeals:
    """The categories of the shops a user ordered from in the ``days`` before ``now`` (naive local time):
    ``product_order`` rows and ``ordered`` feedback events (both stored as naive UTC)."""
    if user_id is None:
        return WeekMeals()
    end = now.replace(tzinfo=zone()).astimezone(dt.UTC).replace(tzinfo=None)
    start = end - dt.timedelta(days=days)
    window = {"user_id": user_id, "start": start, "end": end}
    conn = db.connection()  # Core statements on the session's connection (no ORM layer per statement)
    shops = [*conn.scalars(_ORDERED_SHOPS, window), *conn.scalars(_ORDERED_IN_CHAT, window)]
    if not shops:
        return WeekMeals()
    category = dict(conn.execute(_CATEGORIES, {"ids": sorted(set(shops))}).all())
    return WeekMeals(Counter(category[s] for s in shops if s in category))


# Prepared once (read on a known user's search turns): the shops of their orders and of their 'ordered' chat
# feedback in a window, and the categories of those shops.
_ORDERED_SHOPS = select(ProductOrder.shop_id).where(
    ProductOrder.user_id == bindparam("user_id"), ProductOrder.ordered_at >= bindparam("start"),
    ProductOrder.ordered_at <= bindparam("end"))
_ORDERED_IN_CHAT = select(FeedbackEvent.shop_id).where(
    FeedbackEvent.user_id == bindparam("user_id"), FeedbackEvent.feedback_type == "ordered",
    FeedbackEvent.created_at >= bindparam("start"), FeedbackEvent.created_at <= bindparam("end"))
_CATEGORIES = select(Shop.id, Shop.category).where(Shop.id.in_(bindparam("ids", expanding=True)))


def balanced_dish(category: str | None, menus: Iterable[tuple[str, str | None, int]],
                  budget: int | None = None) -> tuple[str, str] | None:
    """(menu name, what it brings) of a shop's cheapest balanced main dish (within ``budget`` when one is),
    or None. A 도시락집's cheapest main dish counts as rice."""
    items = list(menus)
    mask = main_dish_mask(items)
    mains = sorted((m for m, keep in zip(items, mask, strict=True) if keep), key=lambda m: m[2])
    if budget is not None:
        mains = [m for m in mains if m[2] <= budget]
    for name, dish, _price in mains:
        if dish in BALANCED_DISHES:
            return name, BALANCED_DISHES[dish]
    if category in BALANCED_CATEGORIES and mains:
        return mains[0][0], BALANCED_CATEGORIES[category]
    return None


def balance_reason(kind: str, brings: str) -> str:
    """"이번 주엔 분식을 많이 먹었으니 밥이 든 메뉴도 골라 봤어요"."""
    return f"이번 주엔 {kind}{object_particle(kind)} 많이 먹었으니 {_WHAT[brings]}도 골라 봤어요"


def applies(filters: dict[str, Any], *, refinement: bool = False) -> bool:
    """False when the child named a category or a dish, asked for a sort, or refines the last list."""
    return not (refinement or filters.get("category") or filters.get("menu") or filters.get("sort")
                or filters.get("shop_name"))


def nudge(db: DBSession, recs: Sequence[dict[str, Any]], week: WeekMeals, rule: BalanceRule, *,
          budget: int | None = None) -> list[dict[str, Any]]:
    """The engine's list with balanced places of another kind moved up ``rule.boost`` places (a stable
    re-order), their reason saying why and their balanced dish shown first on the card.

    Unchanged when the week is not one-sided. Each moved shop gets ``balanced_dish``.
    """
    recs = [dict(r) for r in recs]
    kind = week.one_sided(rule.min_meals) if rule.active else None
    if kind is None or not recs:
        return recs
    ids = sorted({int(r["shop_id"]) for r in recs})
    menus: dict[int, list[tuple[str, str | None, int]]] = {i: [] for i in ids}
    for m in db.scalars(select(ShopMenu).where(ShopMenu.shop_id.in_(ids)).order_by(ShopMenu.id)):
        menus[m.shop_id].append((m.name, m.dish, int(m.price or 0)))
    keys = []
    for i, r in enumerate(recs):
        found = None if r.get("category") == kind else balanced_dish(r.get("category"), menus[int(r["shop_id"])],
                                                                      budget)
        if found is None:
            keys.append(i)
            continue
        name, brings = found
        price = next(p for n, _d, p in menus[int(r["shop_id"])] if n == name)
        r["balanced_dish"] = {"name": name, "price": price, "brings": brings}
        r["reason"] = balance_reason(kind, brings)
        dishes = [d for d in (r.get("dishes") or []) if d.get("name") != name]
        if "dishes" in r:
            r["dishes"] = [{"name": name, "price": price}, *dishes][:max(len(r["dishes"]), 1)]
        keys.append(i - rule.boost - 0.5)
    order = sorted(range(len(recs)), key=lambda i: keys[i])
    return [recs[i] for i in order]
