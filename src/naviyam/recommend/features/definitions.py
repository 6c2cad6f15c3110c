"""The ranker's features: layout (wide and numeric slots), their formulas, and the inputs a request gives."""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from naviyam.core.privacy import age_on
from naviyam.hours import MEAL_TIMES, meal_time

log = logging.getLogger(__name__)

#: Bump when the meaning of any feature changes: a checkpoint with another version is refused.
FEATURE_VERSION = 4

WIDE_DIM = 50
NUM_DIM = 10
#: The seed's four funnels, in the order of their wide slots (recommend.funnels.FUNNELS has every funnel by name).
SEED_FUNNELS = ("collaborative", "content", "contextual", "popularity")
#: Funnels added after the seed's four: their flag, score and rank live in the slots after 16.
EXTRA_FUNNELS = ("itemknn",)
RANKED_FUNNELS = (*SEED_FUNNELS, *EXTRA_FUNNELS)
WIDE_NAMES: tuple[str, ...] = (
    "age_group_x_category", "location_x_district", "time_x_category", "user_x_shop_history",
    "budget_compatibility", "distance", "dietary_match", "good_shop", "rating",
    *(f"funnel_{f}" for f in SEED_FUNNELS), *(f"score_{f}" for f in SEED_FUNNELS),
    *(f"funnel_{f}" for f in EXTRA_FUNNELS), *(f"score_{f}" for f in EXTRA_FUNNELS),
    *(f"rank_{f}" for f in RANKED_FUNNELS),
    "shop_orders_7d", "shop_orders_30d", "shop_recency", "itemknn_similarity", "shop_popularity",
    "user_x_category", "layer1_score", "user_x_shop_feedback", "user_x_shop_dismissed",
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
#: What one piece of the user's own chat feedback on a shop adds to their history with it, counted like
#: orders (a click is a choice like an order; an order after a click adds another; a favourite counts as
#: a favourite does). Dismissals are counted apart (slot ``user_x_shop_dismissed``).
FEEDBACK_SIGNAL_WEIGHTS = {"clicked": 1.0, "ordered": 1.0, "favorited": FAVOURITE_WEIGHT}
#: Dismissals of a shop at which ``user_x_shop_dismissed`` reaches 1.
DISMISS_SATURATION = 2.0
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


def history_feature(orders: int, is_favourite: bool, feedback: float = 0.0) -> float:
    """min(1, (orders + 2 * favourite + feedback) / 5); ``feedback``: the weighted chat feedback on the shop."""
    return min(1.0, (orders + FAVOURITE_WEIGHT * float(is_favourite) + feedback) / HISTORY_SATURATION)


def distance_feature(distance_m: float | None) -> float:
    """exp(-d / 1000 m); 0.0 when the distance is unknown."""
    if distance_m is None or not math.isfinite(distance_m):
        return 0.0
    return math.exp(-max(0.0, distance_m) / DISTANCE_SCALE_M)


# --------------------------------------------------------------------------- inputs


class CandidateLike(Protocol):
    """What the ranker reads from a Layer 1 candidate (:class:`naviyam.recommend.funnels.base.Candidate`)."""

    shop_id: int
    #: funnel name -> that funnel's normalised score in [0, 1]
    funnels: Mapping[str, float]


def candidate_funnels(c: Any) -> dict[str, float]:
    """Funnel name -> normalised score of a candidate (a mapping, or names plus ``funnel_scores``)."""
    f = getattr(c, "funnels", None) or {}
    if type(f) is dict or isinstance(f, Mapping):  # a dict skips the ABC check (~100 candidates per request)
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
