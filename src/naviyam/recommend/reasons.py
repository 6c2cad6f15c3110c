"""One Korean sentence per recommendation, built from its strongest features.

Each fact that holds for the shop (it is close, the meal card and the budget
work, the user ordered there before, it is a 착한가게, its rating is high,
similar users or the neighbourhood like it, it sells the dish asked for)
becomes a clause with a strength. Strength = the feature's value times its
weight: the trained ranker's wide weight for that feature when a ranker is
serving (so the reason follows what drove the score), else a fixed prior.
The two strongest clauses are joined into one sentence:
"집에서 5분 거리에 있고, 급식카드로 8,000원 이하 메뉴를 먹을 수 있어요."
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from naviyam.core.contract import TIME_OF_DAY_KO
from naviyam.core.text import particle
from naviyam.recommend.features import W

#: Walking speed for "N분 거리" (about 4 km/h).
WALK_M_PER_MIN = 67.0
#: Farther than this many walking minutes is not offered as a reason.
MAX_WALK_MIN = 20

#: Fixed importance of each clause when no ranker weights are given.
DEFAULT_WEIGHTS = {
    "distance": 1.0, "budget": 1.1, "meal_card": 0.9, "history": 1.2, "favourite": 1.3, "good_shop": 0.8,
    "rating": 0.7, "menu": 1.15, "collaborative": 0.6, "popularity": 0.5, "time": 0.4, "dietary": 0.75,
}
#: Clause → the wide slot whose ranker weight scales it.
_WIDE_SLOT = {
    "distance": W["distance"], "budget": W["budget_compatibility"], "history": W["user_x_shop_history"],
    "favourite": W["user_x_shop_history"], "good_shop": W["good_shop"], "rating": W["rating"],
    "collaborative": W["score_collaborative"], "popularity": W["score_popularity"],
    "time": W["time_x_category"], "dietary": W["dietary_match"],
}
_DIET_WORDS = {"healthy": "건강하게", "vegetarian": "고기 없이", "not_spicy": "맵지 않게", "spicy": "맵게",
               "light": "가볍게", "hearty": "든든하게"}


def obj(word: str) -> str:
    """word + 을/를."""
    return word + particle(word, "을", "를", otherwise="를")


def copula(word: str) -> str:
    """word + 이에요/예요."""
    return word + particle(word, "이에요", "예요", otherwise="예요")


def won(amount: float) -> str:
    return f"{int(amount):,}원"


@dataclass
class ReasonInputs:
    """What the reason may talk about for one recommended shop."""

    category: str
    wide: Sequence[float]
    distance_m: float | None = None
    #: where the distance is measured from: "집", "현재 위치", a landmark name, ...
    origin_label: str | None = None
    accepts_meal_card: bool = False
    is_good_shop: bool = False
    #: the cheapest real meal (a dish, not a side or a drink)
    cheapest_price: float | None = None
    budget: int | None = None
    meal_card_asked: bool = False
    meal_card_holder: bool = False
    orders_here: int = 0
    is_favourite: bool = False
    rating: float | None = None
    review_count: int = 0
    asked_menu: str | None = None
    serves_asked_menu: bool = False
    dietary: Sequence[str] = ()
    time_of_day: str | None = None
    funnels: Mapping[str, float] = field(default_factory=dict)


def _weight(name: str, wide_weights: Sequence[float] | None) -> float:
    base = DEFAULT_WEIGHTS[name]
    slot = _WIDE_SLOT.get(name)
    if wide_weights is None or slot is None:
        return base
    # ranker weight (clipped at 0: a feature that lowers the score is no reason) blended with the prior
    return 0.5 * base + max(0.0, float(wide_weights[slot]))


def _origin_phrase(label: str | None) -> str:
    if label in (None, "", "집"):
        return "집에서"
    if label == "현재 위치":
        return "지금 있는 곳에서"
    if label == "학교":
        return "학교에서"
    return f"{label}에서"


def clauses(x: ReasonInputs, wide_weights: Sequence[float] | None = None) -> list[tuple[float, str, str]]:
    """(strength, connective form, final form) of every clause that holds, strongest first.

    Clauses are listed in their display order; :func:`build_reason` keeps that
    order for the clauses it picks (place, history, dish, money, the shop).
    """
    out = [c for step in _CLAUSE_STEPS for c in step(x, x.wide, wide_weights)]
    order = {id(c): i for i, c in enumerate(out)}
    out.sort(key=lambda c: (-c[0], order[id(c)]))
    return out


_Clause = tuple[float, str, str]


def _place(x: ReasonInputs, w: Sequence[float], wide_weights: Sequence[float] | None) -> list[_Clause]:
    """How many walking minutes away it is (not offered past MAX_WALK_MIN)."""
    if x.distance_m is None or not math.isfinite(x.distance_m):
        return []
    minutes = max(1, round(x.distance_m / WALK_M_PER_MIN))
    if minutes > MAX_WALK_MIN:
        return []
    where = _origin_phrase(x.origin_label)
    s = w[W["distance"]] * _weight("distance", wide_weights)
    return [(s, f"{where} 걸어서 {minutes}분 거리에 있고", f"{where} 걸어서 {minutes}분 거리에 있어요")]


def _money(x: ReasonInputs, w: Sequence[float], wide_weights: Sequence[float] | None) -> list[_Clause]:
    """The budget fits (with the meal card when it counts), or the meal card alone works."""
    card = x.accepts_meal_card and (x.meal_card_asked or x.meal_card_holder)
    fits = x.cheapest_price is not None and math.isfinite(x.cheapest_price)
    if x.budget and fits and x.cheapest_price <= x.budget:
        s = w[W["budget_compatibility"]] * _weight("budget", wide_weights) + (0.3 if card else 0.0)
        if card:
            return [(s, f"급식카드로 {won(x.budget)} 이하 메뉴를 먹을 수 있고",
                     f"급식카드로 {won(x.budget)} 이하 메뉴를 먹을 수 있어요")]
        return [(s, f"{won(x.budget)} 이하 메뉴가 있고", f"{won(x.budget)} 이하 메뉴가 있어요")]
    if not card:
        return []
    s = _weight("meal_card", wide_weights) * (1.0 if x.meal_card_asked else 0.6)
    if fits and x.cheapest_price <= 10_000:
        price = won(math.ceil(x.cheapest_price / 1000) * 1000)
        return [(s, f"급식카드로 {price} 이하 메뉴를 먹을 수 있고", f"급식카드로 {price} 이하 메뉴를 먹을 수 있어요")]
    return [(s, "급식카드를 쓸 수 있고", "급식카드를 쓸 수 있어요")]


def _history(x: ReasonInputs, w: Sequence[float], wide_weights: Sequence[float] | None) -> list[_Clause]:
    """A favourite, or ordered from before."""
    history = w[W["user_x_shop_history"]]
    if x.is_favourite:
        return [(_weight("favourite", wide_weights) * max(history, 0.4), "즐겨찾기해 둔 가게이고", "즐겨찾기해 둔 가게예요")]
    if x.orders_here >= 2:
        return [(_weight("history", wide_weights) * history + 0.2, "전에 자주 주문했던 곳이고", "전에 자주 주문했던 곳이에요")]
    if x.orders_here == 1:
        return [(_weight("history", wide_weights) * history, "전에 주문해 본 곳이고", "전에 주문해 본 곳이에요")]
    return []


def _food(x: ReasonInputs, w: Sequence[float], wide_weights: Sequence[float] | None) -> list[_Clause]:
    """It sells the dish asked for; it suits the dietary wish."""
    out: list[_Clause] = []
    if x.asked_menu and x.serves_asked_menu:
        out.append((_weight("menu", wide_weights), f"찾는 {obj(x.asked_menu)} 팔고", f"찾는 {obj(x.asked_menu)} 팔아요"))
    prefs = [p for p in x.dietary if p in _DIET_WORDS]
    if prefs and w[W["dietary_match"]] >= 0.5:
        word = _DIET_WORDS[prefs[0]]
        out.append((w[W["dietary_match"]] * _weight("dietary", wide_weights),
                    f"{word} 먹을 수 있는 메뉴가 많고", f"{word} 먹을 수 있는 메뉴가 많아요"))
    return out


def _shop(x: ReasonInputs, w: Sequence[float], wide_weights: Sequence[float] | None) -> list[_Clause]:
    """A 착한가게; a high rating over enough reviews."""
    out: list[_Clause] = []
    if x.is_good_shop:
        out.append((_weight("good_shop", wide_weights) * (0.6 + w[W["good_shop"]]),
                    "아이들을 돕는 착한가게이고", "아이들을 돕는 착한가게예요"))
    if x.rating is not None and x.rating >= 4.2 and x.review_count >= 3:
        r = f"{x.rating:.1f}"
        out.append((w[W["rating"]] * _weight("rating", wide_weights) + 0.1,
                    f"평점이 {r}점으로 높고", f"평점이 {r}점으로 높아요"))
    return out


def _others(x: ReasonInputs, w: Sequence[float], wide_weights: Sequence[float] | None) -> list[_Clause]:
    """Similar users or the neighbourhood like it; it is what people eat at this time of day."""
    out: list[_Clause] = []
    collab = x.funnels.get("collaborative", 0.0)
    if collab >= 0.5:
        out.append((collab * _weight("collaborative", wide_weights),
                    "취향이 비슷한 친구들이 많이 찾았고", "취향이 비슷한 친구들이 많이 찾은 곳이에요"))
    pop = x.funnels.get("popularity", 0.0)
    if pop >= 0.5:
        out.append((pop * _weight("popularity", wide_weights), "이 동네에서 인기가 많고", "이 동네에서 인기가 많아요"))
    if x.time_of_day in TIME_OF_DAY_KO and w[W["time_x_category"]] >= 0.8:
        t = TIME_OF_DAY_KO[x.time_of_day]
        out.append((0.5 * w[W["time_x_category"]] * _weight("time", wide_weights),
                    f"{t}에 많이 먹는 {x.category} 가게이고", f"{t}에 많이 먹는 {x.category} 가게예요"))
    return out


#: The clause steps in display order.
_CLAUSE_STEPS = (_place, _money, _history, _food, _shop, _others)


_DISPLAY_ORDER = ("거리", "즐겨찾기", "주문", "찾는", "급식카드", "이하 메뉴", "먹을 수 있는 메뉴", "착한가게", "평점",
                  "친구들", "인기", "많이 먹는")


def _display_rank(clause: tuple[float, str, str]) -> int:
    """Place first, then the user's history, the dish, money, the shop itself, what others think."""
    text = clause[2]
    for i, key in enumerate(_DISPLAY_ORDER):
        if key in text:
            return i
    return len(_DISPLAY_ORDER)


def build_reason(x: ReasonInputs, wide_weights: Sequence[float] | None = None, max_clauses: int = 2) -> str:
    """One sentence from the strongest one or two clauses; a plain sentence when nothing stands out."""
    ranked = clauses(x, wide_weights)
    picked = ranked[:max_clauses]
    display = sorted(picked, key=_display_rank)
    cs = display
    if not cs:
        return f"지금 조건에 잘 맞는 {x.category} 가게예요."
    if len(cs) == 1:
        return cs[0][2] + "."
    return ", ".join([c[1] for c in cs[:-1]] + [cs[-1][2]]) + "."
