"""A simulated week of card-holding children, to measure the balanced-meal nudge (naviyam.service.balance).

Each child asks the chat service a few times a day (:data:`SLOTS`): mostly vague
messages ("배고파", "뭐 먹지"), sometimes their usual food by name. From the shops
shown they "order" one by a seeded choice model — earlier cards are likelier, a
shop of the child's habitual kind twice as likely — and one of the dishes on its
card, uniformly. The child's recent meals start as their real orders of the
week before and grow with every simulated order; the service reads them through
``ChatService.meal_history``, so nothing is written to ``product_order``.

:func:`simulate_week` runs the same children, messages and choices with the
nudge on and off and reports, per arm, the average share of a child's meals in
their most eaten kind and the share of meals with a rice, soup or vegetable
dish (:data:`naviyam.service.balance.BALANCED_DISHES`).
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import func, select

from naviyam.core.clock import zone
from naviyam.db.models import ProductOrder, Shop, ShopMenu
from naviyam.service.balance import BALANCED_CATEGORIES, BALANCED_DISHES, DEFAULT_WINDOW_DAYS, WeekMeals
from naviyam.service.chat import ChatRequest, ChatService

#: When the children ask (local time).
SLOTS = (dt.time(12, 20), dt.time(15, 40), dt.time(18, 10))
VAGUE = ("배고파", "배고파 뭐 먹지", "아무거나 추천해줘", "뭐 먹지", "밥 먹을 데 추천해줘")
#: The child's usual food by name, per kind.
USUAL = {
    "분식": ("떡볶이 먹고 싶어", "김밥 먹고 싶어", "분식 먹고 싶어"),
    "패스트푸드": ("햄버거 먹고 싶어",), "치킨": ("치킨 먹고 싶어",), "피자": ("피자 먹고 싶어",),
    "한식": ("국밥 먹고 싶어", "한식 먹고 싶어"), "중식": ("짜장면 먹고 싶어",), "일식": ("돈까스 먹을래",),
    "양식": ("파스타 먹고 싶어",), "디저트": ("간식 먹고 싶어",), "카페": ("카페 가고 싶어",),
    "베이커리": ("빵 먹고 싶어",), "아시안": ("쌀국수 먹고 싶어",), "고기": ("고기 먹고 싶어",),
    "도시락": ("도시락 먹고 싶어",), "샐러드": ("샐러드 먹고 싶어",),
}
#: Chance that a message names the child's usual food.
P_USUAL = 0.3
#: Choice weight of the first, second, third … card.
RANK_WEIGHTS = (1.0, 0.6, 0.4, 0.3, 0.2)
#: A shop of the child's habitual kind is this much likelier to be chosen.
HABIT_WEIGHT = 2.0


@dataclass
class Meal:
    at: dt.datetime  # naive UTC, like the database
    shop_id: int
    category: str
    balanced: bool


@dataclass
class ArmResult:
    meals: int = 0
    #: average over children of the share of their simulated meals in their most eaten kind
    top_kind_share: float = 0.0
    #: share of all simulated meals with a rice, soup or vegetable dish
    balanced_share: float = 0.0
    #: answers where at least one shop was moved up by the nudge
    nudged_answers: int = 0
    no_answer: int = 0
    per_child: dict[int, dict[str, Any]] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {"meals": self.meals, "top_kind_share": round(self.top_kind_share, 4),
                "balanced_share": round(self.balanced_share, 4), "nudged_answers": self.nudged_answers,
                "asks_without_shops": self.no_answer}


def _to_utc(local: dt.datetime) -> dt.datetime:
    return local.replace(tzinfo=zone()).astimezone(dt.UTC).replace(tzinfo=None)


def _world(service: ChatService) -> tuple[dict[int, str], dict[tuple[int, str], str | None]]:
    with service.sessions() as db:
        cats = dict(db.execute(select(Shop.id, Shop.category)).all())
        dishes = {(s, n): d for s, n, d in db.execute(select(ShopMenu.shop_id, ShopMenu.name, ShopMenu.dish))}
    return cats, dishes


def _is_balanced(shop_id: int, dish_name: str, cats: dict[int, str],
                 dishes: dict[tuple[int, str], str | None]) -> bool:
    return dishes.get((shop_id, dish_name)) in BALANCED_DISHES or cats.get(shop_id) in BALANCED_CATEGORIES


def _history(service: ChatService, user_ids: Sequence[int], start: dt.datetime,
             cats: dict[int, str]) -> tuple[dict[int, list[Meal]], dict[int, str]]:
    """Each child's real orders in the week before ``start`` and their habitual kind (most ordered ever)."""
    since = _to_utc(start) - dt.timedelta(days=DEFAULT_WINDOW_DAYS)
    before: dict[int, list[Meal]] = defaultdict(list)
    habit: dict[int, str] = {}
    with service.sessions() as db:
        rows = db.execute(select(ProductOrder.user_id, ProductOrder.shop_id, ProductOrder.ordered_at)
                          .where(ProductOrder.user_id.in_(list(user_ids)), ProductOrder.ordered_at >= since,
                                 ProductOrder.ordered_at < _to_utc(start))).all()
        for uid, sid, at in rows:
            before[uid].append(Meal(at, sid, cats.get(sid, ""), False))
        counts = db.execute(select(ProductOrder.user_id, Shop.category, func.count())
                            .join(Shop, Shop.id == ProductOrder.shop_id)
                            .where(ProductOrder.user_id.in_(list(user_ids)))
                            .group_by(ProductOrder.user_id, Shop.category)).all()
    best: dict[int, tuple[int, str]] = {}
    for uid, cat, n in counts:
        if uid not in best or (n, cat) > best[uid]:
            best[uid] = (n, cat)
    for uid in user_ids:
        habit[uid] = best.get(uid, (0, "분식"))[1]
    return before, habit


def _choose(rng: random.Random, recs: list[dict[str, Any]], habit: str) -> dict[str, Any]:
    weights = [RANK_WEIGHTS[min(i, len(RANK_WEIGHTS) - 1)] * (HABIT_WEIGHT if r.get("category") == habit else 1.0)
               for i, r in enumerate(recs)]
    return rng.choices(recs, weights=weights, k=1)[0]


def _run_arm(service: ChatService, user_ids: Sequence[int], *, start: dt.date, days: int, seed: int,
             before: dict[int, list[Meal]], habit: dict[int, str], cats: dict[int, str],
             dishes: dict[tuple[int, str], str | None]) -> ArmResult:
    log: dict[int, list[Meal]] = {uid: list(before.get(uid, ())) for uid in user_ids}

    def meal_history(_db, user_id, *, now, days=DEFAULT_WINDOW_DAYS):
        end = _to_utc(now)
        begin = end - dt.timedelta(days=days)
        return WeekMeals(Counter(m.category for m in log.get(user_id, ()) if begin <= m.at <= end))

    service.meal_history = meal_history
    out = ArmResult()
    simulated: dict[int, list[Meal]] = defaultdict(list)
    for uid in user_ids:
        for d in range(days):
            day = start + dt.timedelta(days=d)
            for slot in SLOTS:
                now = dt.datetime.combine(day, slot)
                rng = random.Random(f"{seed}:{uid}:{day.isoformat()}:{slot}")
                usual = USUAL.get(habit[uid])
                message = rng.choice(usual) if usual and rng.random() < P_USUAL else rng.choice(VAGUE)
                reply = service.chat(ChatRequest(message=message, user_id=uid, now=now))
                recs = reply.recommendations
                if not recs:
                    out.no_answer += 1
                    continue
                if any(r.get("balanced_dish") for r in recs):
                    out.nudged_answers += 1
                shop = _choose(rng, recs, habit[uid])
                names = [x["name"] for x in shop.get("dishes") or ()] or [""]
                dish = rng.choice(names)
                sid = int(shop["shop_id"])
                meal = Meal(_to_utc(now), sid, cats.get(sid, shop.get("category", "")),
                            _is_balanced(sid, dish, cats, dishes))
                log[uid].append(meal)
                simulated[uid].append(meal)
    shares = []
    for uid in user_ids:
        meals = simulated.get(uid, [])
        if not meals:
            continue
        kinds = Counter(m.category for m in meals)
        shares.append(max(kinds.values()) / len(meals))
        out.per_child[uid] = {"meals": len(meals), "top_kind": kinds.most_common(1)[0][0],
                              "top_kind_share": round(max(kinds.values()) / len(meals), 3),
                              "balanced": sum(m.balanced for m in meals)}
    all_meals = [m for ms in simulated.values() for m in ms]
    out.meals = len(all_meals)
    out.top_kind_share = sum(shares) / len(shares) if shares else 0.0
    out.balanced_share = sum(m.balanced for m in all_meals) / len(all_meals) if all_meals else 0.0
    return out


def simulate_week(service: ChatService, user_ids: Sequence[int], *, start: dt.date, days: int = 7,
                  seed: int = 15) -> dict[str, ArmResult]:
    """The same children, messages and seeded choices with the nudge off ("without") and on ("with")."""
    cats, dishes = _world(service)
    before, habit = _history(service, user_ids, dt.datetime.combine(start, dt.time(0)), cats)
    rule, history = service.balance, service.meal_history
    try:
        results = {}
        for arm, arm_rule in (("without", replace(rule, min_meals=0)), ("with", rule)):
            service.balance = arm_rule
            results[arm] = _run_arm(service, user_ids, start=start, days=days, seed=seed, before=before,
                                    habit=habit, cats=cats, dishes=dishes)
        return results
    finally:
        service.balance, service.meal_history = rule, history
