"""Wide & Deep features: the one module that training and serving both call.

The layout is documented below and in docs/architecture.md.

Wide vector (``WIDE_DIM`` = 50): slots 0-30 are defined below, 31-49 are zero
padding reserved for later features.

====  =======================  ==============================================================
slot  name                     value
====  =======================  ==============================================================
0     age_group_x_category     (n[g, c] + 1) / (max_c' n[g, c'] + 1): orders of the user's age
                               group g in the shop's category c, relative to that group's most
                               ordered category (1.0 for every category while g has no data)
1     location_x_district      (orders of the user in the shop's 구 + [shop 구 == home 구])
                               / (orders of the user + 1)
2     time_x_category          (n[t, c] + 1) / (max_c' n[t, c'] + 1) for the time of day t
                               (the NLU's time_of_day when the user said one, else the clock)
3     user_x_shop_history      min(1, (orders of the user at the shop + 2 * favourite) / 5)
4     budget_compatibility     1.0 when the cheapest real menu fits the budget B, else
                               max(0, 1 - (cheapest - B) / B). B = the NLU budget_filter, else
                               the user's mean order amount; 0.5 when neither is known
5     distance                 exp(-d / 1000 m) from the request position (context lat/lon, else
                               the user's home area); 0.0 when no position is known
6     dietary_match            mean over the asked dietary preferences of the share of the
                               shop's menus that fit it; 0.5 when none was asked
7     good_shop                0.3 for a 착한가게, else 0 (bias-corrected: the raw flag 1.0 is
                               damped to 0.3 so the ranker does not push good shops blindly)
8     rating                   (rating - 3.5) / 1.5 when the mean rating >= 3.5, else 0.0
                               (also 0.0 without reviews)
9-12  funnel flags             1.0 when the collaborative / content / contextual / popularity
                               funnel produced the candidate
13-16 funnel scores            that funnel's normalised score in [0, 1] (0.0 when absent)
17-18 item-kNN flag, score     as 9-16 for the item-kNN (co-visitation) funnel
19-23 funnel ranks             1 / log2(rank + 2) of the shop in each funnel's own list
                               (collaborative, content, contextual, popularity, item-kNN); 0 when absent
24-25 shop_orders_7d / 30d     the shop's orders in the last 7 / 30 days as a lift over the average
                               shop, squashed: x / (1 + x) with x = n_shop * n_shops / n_all
26    shop_recency             exp(-days since the shop's last order / 7); 0 without orders
27    itemknn_similarity       the shop's item-kNN similarity to the user's history as of the request
                               (the state's, not the funnel's), divided by the largest over the
                               catalogue (0 for users without history)
28    shop_popularity          all-time orders as a lift over the average shop, squashed as 24
29    user_x_category          share of the user's orders in the shop's category
30    layer1_score             Layer 1's merged score in [0, 1] (0 for a shop Layer 1 did not propose),
                               so the ranker starts from the order it must improve on
====  =======================  ==============================================================

Numerical features (``NUM_DIM`` = 10), value / scale clipped to [0, 1]: user
age / 100, favourites / 50, orders / 100, reviews / 50; shop average menu
price / 50000, menu count / 30, rating / 5, review count / 1000, order count
/ 1000, operating hours / 24.

Deep inputs (embedded by the model): user id, shop id, brand id, category and
the semantic query text.

Every count is *as of* the request time: :class:`InteractionState` is replayed
event by event when the training set is built, and loaded whole for serving,
so the same code computes the same numbers in both places.
"""

from __future__ import annotations

import bisect
import datetime as dt
import logging
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select

from naviyam.core.privacy import age_on, training_exclusions
from naviyam.db.models import ProductOrder, Review, User, UserFavorite
from naviyam.hours import MEAL_TIMES, meal_time
from naviyam.retrieval.catalog import ShopCatalog

log = logging.getLogger(__name__)

#: Bump when the meaning of any feature changes: a checkpoint with another version is refused.
FEATURE_VERSION = 3

WIDE_DIM = 50
NUM_DIM = 10
FUNNELS = ("collaborative", "content", "contextual", "popularity")
#: Funnels added after the seed's four: their flag, score and rank live in the slots after 16.
EXTRA_FUNNELS = ("itemknn",)
RANKED_FUNNELS = (*FUNNELS, *EXTRA_FUNNELS)
WIDE_NAMES: tuple[str, ...] = (
    "age_group_x_category", "location_x_district", "time_x_category", "user_x_shop_history",
    "budget_compatibility", "distance", "dietary_match", "good_shop", "rating",
    *(f"funnel_{f}" for f in FUNNELS), *(f"score_{f}" for f in FUNNELS),
    *(f"funnel_{f}" for f in EXTRA_FUNNELS), *(f"score_{f}" for f in EXTRA_FUNNELS),
    *(f"rank_{f}" for f in RANKED_FUNNELS),
    "shop_orders_7d", "shop_orders_30d", "shop_recency", "itemknn_similarity", "shop_popularity",
    "user_x_category", "layer1_score",
)
NUM_NAMES: tuple[str, ...] = (
    "user_age", "user_favorite_count", "user_order_count", "user_review_count",
    "shop_avg_menu_price", "shop_menu_count", "shop_rating", "shop_review_count",
    "shop_order_count", "shop_operating_hours",
)
#: Divisors of the numerical features, as the seed lists them.
NUM_SCALES = np.array([100, 50, 100, 50, 50_000, 30, 5, 1000, 1000, 24], dtype=np.float64)
WIDE_COLUMNS = [f"wide_feat_{i}" for i in range(WIDE_DIM)]
NUM_COLUMNS = [f"num_feat_{i}" for i in range(NUM_DIM)]

#: The seed's bias correction: a good shop's raw 1.0 becomes 0.3.
GOOD_SHOP_VALUE = 0.3
RATING_THRESHOLD = 3.5
#: A review at or above this rating is a choice (label 1 for review >= 4).
GOOD_REVIEW_RATING = 4
DISTANCE_SCALE_M = 1000.0
HISTORY_SATURATION = 5.0
FAVOURITE_WEIGHT = 2.0
#: Slot of each named wide feature.
W = {name: i for i, name in enumerate(WIDE_NAMES)}

AGE_GROUPS = ("unknown", "child", "teen", "20s", "30s", "40s", "50plus")
TIME_BUCKETS = MEAL_TIMES

# Dishes (taxonomy.json) that fit each dietary preference of the NLU contract;
# a menu without a known dish is judged by its shop's category.
_SPICY = {"떡볶이", "라볶이", "쫄면", "짬뽕", "마라탕", "마라샹궈", "김치찌개", "부대찌개", "순두부찌개",
          "제육볶음", "닭갈비", "양념치킨", "감자탕", "곱창", "깐풍기"}
_HEALTHY = {"비빔밥", "된장찌개", "죽", "삼계탕", "쌈밥", "백반", "칼국수", "초밥", "회", "소바",
            "쌀국수", "샐러드볼", "포케볼", "닭가슴살샐러드", "샌드위치", "분짜"}
_VEGETARIAN = {"비빔밥", "죽", "샐러드볼", "우동", "소바", "치즈피자", "빵", "와플", "케이크", "호떡",
               "붕어빵", "감자튀김", "치즈스틱", "토스트", "크로와상", "도넛", "빙수", "아이스크림",
               "스무디", "에이드", "버블티", "밀크티", "핫초코", "김밥", "주먹밥", "팟타이"}
_LIGHT = {"죽", "김밥", "주먹밥", "샌드위치", "토스트", "빵", "크로와상", "소바", "우동", "쌀국수",
          "샐러드볼", "포케볼", "닭가슴살샐러드", "컵밥", "어묵", "반미", "스무디", "에이드"}
_HEARTY = {"국밥", "갈비탕", "감자탕", "삼겹살", "갈비", "돼지갈비", "소고기", "보쌈", "족발",
           "돈까스", "함박스테이크", "스테이크", "부대찌개", "짜장면", "탕수육", "햄버거", "백반",
           "제육볶음", "덮밥", "규동", "후라이드치킨", "양념치킨", "간장치킨", "순살치킨",
           "페퍼로니피자", "불고기피자", "콤비네이션피자", "삼계탕", "불고기", "닭갈비", "곱창"}
_CATEGORY_DIET = {
    "spicy": set(),
    "not_spicy": {"카페", "디저트", "베이커리", "샐러드", "피자", "패스트푸드", "양식", "일식", "도시락"},
    "healthy": {"샐러드", "한식"},
    "vegetarian": {"샐러드", "카페", "베이커리", "디저트"},
    "light": {"샐러드", "카페", "베이커리", "디저트"},
    "hearty": {"고기", "치킨", "피자", "패스트푸드", "도시락", "중식"},
}
DIETARY_PREFERENCES = ("healthy", "vegetarian", "not_spicy", "spicy", "light", "hearty")


def _dish_fits(pref: str, dish: str | None, category: str) -> bool:
    if dish:
        if pref == "spicy":
            return dish in _SPICY
        if pref == "not_spicy":
            return dish not in _SPICY
        table = {"healthy": _HEALTHY, "vegetarian": _VEGETARIAN, "light": _LIGHT, "hearty": _HEARTY}
        return dish in table.get(pref, set())
    return category in _CATEGORY_DIET.get(pref, set())


def age_group(age: float | None) -> str:
    """child < 13 <= teen < 19 <= 20s < 30 ... <= 50plus; None → unknown."""
    if age is None or age < 0:
        return "unknown"
    if age < 13:
        return "child"
    if age < 19:
        return "teen"
    if age < 30:
        return "20s"
    if age < 40:
        return "30s"
    if age < 50:
        return "40s"
    return "50plus"


#: The meal time of a moment (one definition for features, funnels and training data).
time_bucket = meal_time


def age_at(birthday: dt.date | None, when: dt.datetime) -> float | None:
    age = age_on(birthday, when.date())
    return None if age is None else float(age)


def budget_compatibility(cheapest: float, budget: float | None) -> float:
    """1.0 when the cheapest real menu fits the budget, linearly down to 0 at twice the budget; 0.5 without a budget."""
    if budget is None or budget <= 0:
        return 0.5
    if not math.isfinite(cheapest):
        return 0.0
    if cheapest <= budget:
        return 1.0
    return max(0.0, 1.0 - (cheapest - budget) / budget)


def rating_feature(rating: float | None) -> float:
    """(rating - 3.5) / 1.5 at or above the 3.5 threshold, 0.0 below it or without reviews."""
    if rating is None or not math.isfinite(rating) or rating < RATING_THRESHOLD:
        return 0.0
    return min(1.0, (rating - RATING_THRESHOLD) / (5.0 - RATING_THRESHOLD))


def good_shop_feature(is_good_shop: bool) -> float:
    """The bias-corrected good-shop flag: 0.3 instead of 1.0."""
    return GOOD_SHOP_VALUE if is_good_shop else 0.0


def history_feature(orders: int, is_favourite: bool) -> float:
    """min(1, (orders + 2 * favourite) / 5)."""
    return min(1.0, (orders + FAVOURITE_WEIGHT * float(is_favourite)) / HISTORY_SATURATION)


def distance_feature(distance_m: float | None) -> float:
    """exp(-d / 1000 m); 0.0 when the distance is unknown."""
    if distance_m is None or not math.isfinite(distance_m):
        return 0.0
    return math.exp(-max(0.0, distance_m) / DISTANCE_SCALE_M)


def _haversine_m(lat1: float, lon1: float, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    p1, p2 = math.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(lon2) - math.radians(lon1)
    a = np.sin(dphi / 2) ** 2 + math.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * 6_371_008.8 * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


# --------------------------------------------------------------------------- inputs


class CandidateLike(Protocol):
    """What the ranker reads from a Layer 1 candidate (:class:`naviyam.recommend.funnels.base.Candidate`)."""

    shop_id: int
    #: funnel name -> that funnel's normalised score in [0, 1]
    funnels: Mapping[str, float]


def candidate_funnels(c: Any) -> dict[str, float]:
    """Funnel name -> normalised score of a candidate (a mapping, or names plus ``funnel_scores``)."""
    f = getattr(c, "funnels", None) or {}
    if isinstance(f, Mapping):
        return {str(k): float(v or 0.0) for k, v in f.items()}
    scores = getattr(c, "funnel_scores", None) or {}
    return {str(name): float(scores.get(name, 0.0) or 0.0) for name in f}


@dataclass
class UserInfo:
    id: int
    birthday: dt.date | None
    district: str | None
    dong: str | None
    is_meal_card_holder: bool = False


@dataclass
class RankingQuery:
    """One request as the ranker sees it: who, what they asked, when and where."""

    user_id: int | None
    filters: dict[str, Any]
    semantic_query: str
    when: dt.datetime
    #: (lat, lon) of the request, or None; see :func:`resolve_position`.
    position: tuple[float, float] | None = None
    #: "context" (given by the client), "home" (the user's home area) or None.
    position_source: str | None = None


@dataclass
class FeatureRows:
    """Features of n (query, candidate) pairs; what the CSV stores and the model reads."""

    user_id: np.ndarray  # int64, -1 for an unknown user
    shop_id: np.ndarray  # int64
    brand_id: np.ndarray  # int64, -1 without a brand
    category: list[str]
    semantic_query: list[str]
    wide: np.ndarray  # float32 (n, 50)
    numerical: np.ndarray  # float32 (n, 10)
    #: Request distance in metres for the reasons (nan when unknown); not a model input.
    distance_m: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __len__(self) -> int:
        return len(self.shop_id)

    def to_frame(self) -> pd.DataFrame:
        cols: dict[str, Any] = {
            "user_id": self.user_id, "shop_id": self.shop_id, "brand_id": self.brand_id,
            "category": self.category, "semantic_query": self.semantic_query,
        }
        for i in range(WIDE_DIM):
            cols[WIDE_COLUMNS[i]] = self.wide[:, i]
        for i in range(NUM_DIM):
            cols[NUM_COLUMNS[i]] = self.numerical[:, i]
        return pd.DataFrame(cols)

    @classmethod
    def from_frame(cls, df: pd.DataFrame) -> FeatureRows:
        return cls(
            user_id=df["user_id"].to_numpy(np.int64),
            shop_id=df["shop_id"].to_numpy(np.int64),
            brand_id=df["brand_id"].fillna(-1).to_numpy(np.int64) if "brand_id" in df else
            np.full(len(df), -1, dtype=np.int64),
            category=df["category"].astype(str).tolist(),
            semantic_query=df["semantic_query"].fillna("").astype(str).tolist(),
            wide=df[WIDE_COLUMNS].to_numpy(np.float32),
            numerical=df[NUM_COLUMNS].to_numpy(np.float32),
            distance_m=np.full(len(df), np.nan),
        )


# --------------------------------------------------------------------------- interaction state


class InteractionState:
    """Counts of orders, favourites and reviews as of some moment, updated event by event.

    Build it empty and :meth:`apply_order` / :meth:`apply_favorite` /
    :meth:`apply_review` in time order (the training-set builder does this so
    that every example only sees its past), or :meth:`load` everything up to
    now for serving.
    """

    def __init__(self, users: Mapping[int, UserInfo], shop_categories: Mapping[int, str],
                 shop_districts: Mapping[int, str]):
        self.users = dict(users)
        self._shop_cat = dict(shop_categories)
        self._shop_district = dict(shop_districts)
        self.user_shop_orders: Counter[tuple[int, int]] = Counter()
        self.favourites: set[tuple[int, int]] = set()
        self.user_orders: Counter[int] = Counter()
        self.user_amount_sum: Counter[int] = Counter()
        self.user_favs: Counter[int] = Counter()
        self.user_reviews: Counter[int] = Counter()
        self.user_district_orders: dict[int, Counter[str]] = defaultdict(Counter)
        self.shop_orders: Counter[int] = Counter()
        self.shop_reviews: Counter[int] = Counter()
        self.shop_rating_sum: Counter[int] = Counter()
        self.age_cat: dict[str, Counter[str]] = defaultdict(Counter)
        self.time_cat: dict[str, Counter[str]] = defaultdict(Counter)
        self.user_cat: dict[int, Counter[str]] = defaultdict(Counter)
        #: the shops each user chose (orders, favourites, reviews >= 4), as of the last event applied
        self.user_history: dict[int, set[int]] = defaultdict(set)
        self._max_cache: dict[tuple[str, str], int] = {}
        #: order times, in the order applied (events are applied in time order): all, and per shop
        self.order_times: list[dt.datetime] = []
        self.shop_order_times: dict[int, list[dt.datetime]] = defaultdict(list)

    # ------------------------------------------------------------------ updates
    # ``population=False`` counts an event for its own user only, not in the shops' and groups' figures
    # every other request sees: what serving does with the events no training may read (see :meth:`load`).
    def apply_order(self, user_id: int, shop_id: int, amount: float, when: dt.datetime, *,
                    population: bool = True) -> None:
        self.user_shop_orders[(user_id, shop_id)] += 1
        self.user_history[user_id].add(shop_id)
        self.user_orders[user_id] += 1
        self.user_amount_sum[user_id] += float(amount or 0)
        if population:
            self.shop_orders[shop_id] += 1
            if when is not None:
                self.order_times.append(when)
                self.shop_order_times[shop_id].append(when)
        district = self._shop_district.get(shop_id)
        if district:
            self.user_district_orders[user_id][district] += 1
        cat = self._shop_cat.get(shop_id)
        if cat:
            self.user_cat[user_id][cat] += 1
            if population:
                u = self.users.get(user_id)
                g = age_group(age_at(u.birthday, when) if u else None)
                self.age_cat[g][cat] += 1
                self.time_cat[time_bucket(when)][cat] += 1
                self._max_cache.pop(("age", g), None)
                self._max_cache.pop(("time", time_bucket(when)), None)

    def apply_favorite(self, user_id: int, shop_id: int, when: dt.datetime | None = None) -> None:
        self.user_history[user_id].add(shop_id)
        if (user_id, shop_id) not in self.favourites:
            self.favourites.add((user_id, shop_id))
            self.user_favs[user_id] += 1

    def apply_review(self, user_id: int, shop_id: int, rating: float, when: dt.datetime | None = None, *,
                     population: bool = True) -> None:
        self.user_reviews[user_id] += 1
        if rating >= GOOD_REVIEW_RATING:
            self.user_history[user_id].add(shop_id)
        if population:
            self.shop_reviews[shop_id] += 1
            self.shop_rating_sum[shop_id] += float(rating)

    def add_shops(self, catalog: ShopCatalog) -> None:
        """Know the category and district of shops added to the catalog since the state was built."""
        for s, c, d in zip(catalog.ids, catalog.categories, catalog.districts, strict=True):
            self._shop_cat.setdefault(int(s), c)
            self._shop_district.setdefault(int(s), d)

    # ------------------------------------------------------------------ reads
    def recent_orders(self, shop_ids: Sequence[int], when: dt.datetime, days: float) -> tuple[np.ndarray, int]:
        """Orders of each shop, and of all shops, in the ``days`` before ``when``."""
        since = when - dt.timedelta(days=days)
        counts = np.zeros(len(shop_ids))
        for i, s in enumerate(shop_ids):
            times = self.shop_order_times.get(int(s))
            if times:
                counts[i] = bisect.bisect_left(times, when) - bisect.bisect_left(times, since)
        total = bisect.bisect_left(self.order_times, when) - bisect.bisect_left(self.order_times, since)
        return counts, total

    def days_since_last_order(self, shop_ids: Sequence[int], when: dt.datetime) -> np.ndarray:
        """Days from each shop's last order before ``when`` (inf without one)."""
        out = np.full(len(shop_ids), np.inf)
        for i, s in enumerate(shop_ids):
            times = self.shop_order_times.get(int(s))
            if times:
                j = bisect.bisect_left(times, when)
                if j:
                    out[i] = max(0.0, (when - times[j - 1]).total_seconds() / 86400)
        return out

    def shop_rating(self, shop_id: int) -> float | None:
        n = self.shop_reviews.get(shop_id, 0)
        return self.shop_rating_sum[shop_id] / n if n else None

    def user_mean_amount(self, user_id: int | None) -> float | None:
        if user_id is None or not self.user_orders.get(user_id):
            return None
        return self.user_amount_sum[user_id] / self.user_orders[user_id]

    def cross(self, table: str, key: str, category: str) -> float:
        """(n[key, category] + 1) / (max_c n[key, c] + 1) for table 'age' or 'time'."""
        counts = (self.age_cat if table == "age" else self.time_cat).get(key)
        if not counts:
            return 1.0
        top = self._max_cache.get((table, key))
        if top is None:
            top = max(counts.values())
            self._max_cache[(table, key)] = top
        return (counts.get(category, 0) + 1.0) / (top + 1.0)

    # ------------------------------------------------------------------ loading
    @staticmethod
    def load_users(engine: Engine) -> dict[int, UserInfo]:
        with engine.connect() as conn:
            rows = conn.execute(
                select(User.id, User.birthday, User.district, User.dong, User.is_meal_card_holder)
            ).all()
        return {int(r[0]): UserInfo(int(r[0]), r[1], r[2], r[3], bool(r[4])) for r in rows}

    @classmethod
    def empty(cls, users: Mapping[int, UserInfo], catalog: ShopCatalog) -> InteractionState:
        cats = {int(s): c for s, c in zip(catalog.ids, catalog.categories, strict=True)}
        dists = {int(s): d for s, d in zip(catalog.ids, catalog.districts, strict=True)}
        return cls(users, cats, dists)

    @classmethod
    def load(cls, engine: Engine, catalog: ShopCatalog, until: dt.datetime | None = None) -> InteractionState:
        """Every event (before ``until`` when given) applied in time order: the serving state.

        The events of users no training may read (children without a guardian's consent, erased users)
        count for those users' own history only, not in the shops' and groups' figures: what every other
        request sees is then exactly what the training sets were built with.
        """
        state = cls.empty(cls.load_users(engine), catalog)
        excluded = training_exclusions(engine)
        for ev in load_events(engine, until=until):
            state.apply(ev, population=ev.user_id not in excluded)
        return state

    def apply(self, ev: Event, *, population: bool = True) -> None:
        if ev.kind == "order":
            self.apply_order(ev.user_id, ev.shop_id, ev.amount, ev.when, population=population)
        elif ev.kind == "favorite":
            self.apply_favorite(ev.user_id, ev.shop_id, ev.when)
        elif ev.kind == "review":
            self.apply_review(ev.user_id, ev.shop_id, ev.rating, ev.when, population=population)


@dataclass(frozen=True)
class Event:
    kind: str  # order | favorite | review
    when: dt.datetime
    id: int
    user_id: int
    shop_id: int
    amount: float = 0.0
    rating: float = 0.0
    menu_id: int | None = None
    payment_method: str | None = None


_KIND_ORDER = {"order": 0, "favorite": 1, "review": 2}


def load_events(engine: Engine, until: dt.datetime | None = None, *, trainable_only: bool = False) -> list[Event]:
    """Orders, favourites and reviews as one list sorted by (time, kind, id).

    ``trainable_only`` leaves out the events of users no training may use
    (:func:`naviyam.core.privacy.training_exclusions`): what training sets read; serving reads everything.
    """
    excluded = training_exclusions(engine) if trainable_only else frozenset()
    events: list[Event] = []
    with engine.connect() as conn:
        q = select(ProductOrder.id, ProductOrder.user_id, ProductOrder.shop_id, ProductOrder.amount,
                   ProductOrder.ordered_at, ProductOrder.menu_id, ProductOrder.payment_method)
        if until is not None:
            q = q.where(ProductOrder.ordered_at < until)
        for i, u, s, a, t, m, p in conn.execute(q):
            events.append(Event("order", t, int(i), int(u), int(s), amount=float(a or 0), menu_id=m,
                                payment_method=p))
        q = select(UserFavorite.id, UserFavorite.user_id, UserFavorite.shop_id, UserFavorite.created_at)
        if until is not None:
            q = q.where(UserFavorite.created_at < until)
        for i, u, s, t in conn.execute(q):
            events.append(Event("favorite", t, int(i), int(u), int(s)))
        q = select(Review.id, Review.user_id, Review.shop_id, Review.rating, Review.created_at)
        if until is not None:
            q = q.where(Review.created_at < until)
        for i, u, s, r, t in conn.execute(q):
            events.append(Event("review", t, int(i), int(u), int(s), rating=float(r)))
    if excluded:
        events = [e for e in events if e.user_id not in excluded]
    events.sort(key=lambda e: (e.when, _KIND_ORDER[e.kind], e.id))
    return events


# --------------------------------------------------------------------------- builder


class FeatureBuilder:
    """Computes :class:`FeatureRows` for a query and its candidates over one catalog.

    Static per-shop figures (cheapest menu, dietary fit, opening hours) are
    precomputed once; per-request work is a few numpy operations over the
    candidate rows.
    """

    def __init__(self, catalog: ShopCatalog):
        self.catalog = catalog
        n = len(catalog)
        self.diet_fit = {p: np.zeros(n, dtype=np.float64) for p in DIETARY_PREFERENCES}
        for i, menus in enumerate(catalog.menus):
            cat = catalog.categories[i]
            for p in DIETARY_PREFERENCES:
                if menus:
                    self.diet_fit[p][i] = float(np.mean([_dish_fits(p, m.dish, cat) for m in menus]))
                else:
                    self.diet_fit[p][i] = float(_dish_fits(p, None, cat))
        o = catalog.open_min.astype(np.int32)
        c = catalog.close_min.astype(np.int32)
        minutes = np.where(o == c, 24 * 60, (c - o) % (24 * 60))
        self.operating_hours = minutes / 60.0
        self.brand = np.array([b if b is not None else -1 for b in catalog.brand_ids], dtype=np.int64)
        self.avg_price = np.nan_to_num(catalog.avg_price, nan=0.0)

    def rows(self, shop_ids: Sequence[int]) -> np.ndarray:
        row_of = self.catalog.row_of
        missing = [int(s) for s in shop_ids if int(s) not in row_of]
        if missing:
            raise KeyError(f"shops not in the catalog: {missing[:5]}")
        return np.array([row_of[int(s)] for s in shop_ids], dtype=np.int64)

    def build(self, query: RankingQuery, candidates: Sequence[CandidateLike],
              state: InteractionState, similarity: SimilaritySource | None = None) -> FeatureRows:
        """Features of every candidate for this query, as of ``query.when`` in ``state``.

        ``similarity`` (the item-kNN funnel) gives slot 27; without it the slot is 0.
        """
        cat = self.catalog
        shop_ids = np.array([int(c.shop_id) for c in candidates], dtype=np.int64)
        rows = self.rows(shop_ids)
        n = len(rows)
        wide = np.zeros((n, WIDE_DIM), dtype=np.float64)
        num = np.zeros((n, NUM_DIM), dtype=np.float64)
        uid = query.user_id
        user = state.users.get(uid) if uid is not None else None
        age = age_at(user.birthday, query.when) if user else None
        group = age_group(age)
        tod = query.filters.get("time_of_day")
        tb = tod if tod in TIME_BUCKETS else time_bucket(query.when)
        categories = [cat.categories[r] for r in rows]
        districts = [cat.districts[r] for r in rows]

        # 0, 2: crosses with the category
        wide[:, W["age_group_x_category"]] = [state.cross("age", group, c) for c in categories]
        wide[:, W["time_x_category"]] = [state.cross("time", tb, c) for c in categories]
        # 1: location x district
        home = user.district if user else None
        n_orders = state.user_orders.get(uid, 0) if uid is not None else 0
        per_district = state.user_district_orders.get(uid) if uid is not None else None
        wide[:, W["location_x_district"]] = [
            ((per_district.get(d, 0) if per_district else 0) + float(d == home)) / (n_orders + 1.0)
            for d in districts
        ]
        # 3: user x shop history
        if uid is not None:
            wide[:, W["user_x_shop_history"]] = [
                history_feature(state.user_shop_orders.get((uid, int(s)), 0), (uid, int(s)) in state.favourites)
                for s in shop_ids
            ]
        # 4: budget
        budget = query.filters.get("budget_filter")
        if budget is None:
            budget = state.user_mean_amount(uid)
        wide[:, W["budget_compatibility"]] = [budget_compatibility(float(cat.min_price[r]), budget) for r in rows]
        # 5: distance
        if query.position is not None:
            dist = _haversine_m(query.position[0], query.position[1], cat.lat[rows], cat.lon[rows])
            wide[:, W["distance"]] = np.exp(-dist / DISTANCE_SCALE_M)
        else:
            dist = np.full(n, np.nan)
        # 6: dietary
        prefs = [p for p in (query.filters.get("dietary_preferences") or []) if p in self.diet_fit]
        if prefs:
            wide[:, W["dietary_match"]] = np.mean([self.diet_fit[p][rows] for p in prefs], axis=0)
        else:
            wide[:, W["dietary_match"]] = 0.5
        # 7, 8: good shop, rating (as of the request)
        wide[:, W["good_shop"]] = np.where(cat.is_good_shop[rows], GOOD_SHOP_VALUE, 0.0)
        ratings = [state.shop_rating(int(s)) for s in shop_ids]
        wide[:, W["rating"]] = [rating_feature(r) for r in ratings]
        # 9-16: funnels
        funnel_maps = [candidate_funnels(c) for c in candidates]
        for j, f in enumerate(FUNNELS):
            flags = np.array([f in m for m in funnel_maps], dtype=np.float64)
            scores = np.array([m.get(f, 0.0) for m in funnel_maps], dtype=np.float64)
            wide[:, W["funnel_collaborative"] + j] = flags
            wide[:, W["score_collaborative"] + j] = np.clip(np.nan_to_num(scores), 0.0, 1.0) * flags
        self._dynamic(wide, query, candidates, funnel_maps, shop_ids, rows, categories, state, similarity)

        # numerical
        if uid is not None:
            num[:, 0] = (age or 0.0)
            num[:, 1] = state.user_favs.get(uid, 0)
            num[:, 2] = state.user_orders.get(uid, 0)
            num[:, 3] = state.user_reviews.get(uid, 0)
        num[:, 4] = self.avg_price[rows]
        num[:, 5] = cat.menu_count[rows]
        num[:, 6] = [r or 0.0 for r in ratings]
        num[:, 7] = [state.shop_reviews.get(int(s), 0) for s in shop_ids]
        num[:, 8] = [state.shop_orders.get(int(s), 0) for s in shop_ids]
        num[:, 9] = self.operating_hours[rows]
        num = np.clip(num / NUM_SCALES, 0.0, 1.0)

        return FeatureRows(
            user_id=np.full(n, uid if uid is not None else -1, dtype=np.int64),
            shop_id=shop_ids,
            brand_id=self.brand[rows],
            category=categories,
            semantic_query=[query.semantic_query or ""] * n,
            wide=wide.astype(np.float32),
            numerical=num.astype(np.float32),
            distance_m=dist,
        )


    def _dynamic(self, wide, query, candidates, funnel_maps, shop_ids, rows, categories, state,
                 similarity) -> None:
        """Slots 17-29: the item-kNN funnel, funnel ranks, recent popularity, recency, similarity, taste."""
        for f in EXTRA_FUNNELS:
            flags = np.array([f in m for m in funnel_maps], dtype=np.float64)
            wide[:, W[f"funnel_{f}"]] = flags
            wide[:, W[f"score_{f}"]] = np.clip([m.get(f, 0.0) for m in funnel_maps], 0.0, 1.0) * flags
        for f in RANKED_FUNNELS:
            wide[:, W[f"rank_{f}"]] = [_rank_feature((getattr(c, "ranks", None) or {}).get(f)) for c in candidates]
        wide[:, W["layer1_score"]] = [min(1.0, max(0.0, float(getattr(c, "score", 0.0) or 0.0)))
                                      if m else 0.0 for c, m in zip(candidates, funnel_maps, strict=True)]
        n_shops = max(1, len(self.catalog))
        for days, slot in ((7, "shop_orders_7d"), (30, "shop_orders_30d")):
            counts, total = state.recent_orders(shop_ids, query.when, days)
            wide[:, W[slot]] = _squash(counts * n_shops / total) if total else 0.0
        wide[:, W["shop_recency"]] = np.exp(-state.days_since_last_order(shop_ids, query.when) / 7.0)
        all_orders = sum(state.shop_orders.values())
        if all_orders:
            wide[:, W["shop_popularity"]] = _squash(
                np.array([state.shop_orders.get(int(s), 0) for s in shop_ids]) * n_shops / all_orders)
        uid = query.user_id
        if uid is not None:
            history = state.user_history.get(uid)
            sims = similarity.history_scores_by_row(history) if similarity is not None and history else None
            if sims is not None and len(sims) == n_shops and sims.max() > 0:
                wide[:, W["itemknn_similarity"]] = sims[rows] / sims.max()
            mine = state.user_cat.get(uid)
            total = sum(mine.values()) if mine else 0
            if total:
                wide[:, W["user_x_category"]] = [mine.get(c, 0) / total for c in categories]


def _rank_feature(rank: int | None) -> float:
    """1 / log2(rank + 2) for a 0-based rank; 0.0 when the funnel did not propose the shop."""
    return 0.0 if rank is None else 1.0 / math.log2(rank + 2)


def _squash(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / (1.0 + x)


class SimilaritySource(Protocol):
    """What the builder reads from the item-kNN funnel: similarity to a history of shops per catalog row."""

    def history_scores_by_row(self, shop_ids) -> np.ndarray | None: ...


def make_query(user_id: int | None, nlu_output: Mapping[str, Any] | None, when: dt.datetime,
               position: tuple[float, float] | None, position_source: str | None) -> RankingQuery:
    """A :class:`RankingQuery` from the NLU contract object (``filters``, ``semantic_query``)."""
    nlu = dict(nlu_output or {})
    filters = dict(nlu.get("filters") or {})
    sq = str(nlu.get("semantic_query") or nlu.get("text") or "").strip()
    return RankingQuery(user_id=user_id, filters=filters, semantic_query=sq, when=when,
                        position=position, position_source=position_source)


def iter_wide_names() -> Iterable[tuple[int, str]]:
    """(slot, name) of every wide slot, padding included."""
    for i in range(WIDE_DIM):
        yield i, (WIDE_NAMES[i] if i < len(WIDE_NAMES) else f"padding_{i}")
