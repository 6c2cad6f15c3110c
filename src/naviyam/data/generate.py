"""A deterministic sample Seoul: shops, menus, users and their history.

``generate_world(engine, seed=...)`` fills an empty database; the same seed,
sizes and ``end_date`` give identical rows (only ``numpy.random`` streams
derived from the seed are used, never the wall clock).

The generative model
--------------------
*Places.* Districts are drawn with :data:`DISTRICT_WEIGHTS` (관악구 and 동작구
hold about a quarter of shops and users), a 동 uniformly within the
district, and a point jittered around the 동 centre; the point's 동 and 구
are then its *nearest* 동 centre, so ``dong``/``district`` always agree with
``lat``/``lon`` (see :func:`naviyam.core.geo.locate`).

*Shops.* A category from :data:`CATEGORY_SHARES` (every category at least
once), a brand for some (chains share one menu and price list), 4–15 menus
from :data:`MENU_CATALOG` priced inside :data:`MENU_PRICE_RANGES` (sides in
:data:`SIDE_PRICE_RANGE`), rounded to 500원, 1–3 signatures, opening hours
typical of the category (late-night shops close after midnight), sometimes a
weekly closing day. Exactly :data:`MEAL_CARD_SHARE` of shops accept the meal
card (weighted towards 분식/한식/도시락/중식) and :data:`GOOD_SHOP_SHARE` are
착한가게 (weighted towards meal-card shops). Each shop has a hidden quality
``q ~ N(0, 0.5)``.

*Users.* A segment (child 8–13, teen 14–19, parent 30–55, adult 20–70) fixes
the age, the chance of holding a meal card (children mostly, adults rarely),
the budget, the price sensitivity, the travel length and the rhythm of the
day. Hidden tastes are ``theta ~ Dirichlet(TASTE_CONCENTRATION *
segment_profile)`` over the categories; each user also has a personal mix of
meal slots (breakfast, lunch, snack, dinner, late night). :data:`CONSENT_SHARE`
of the users under 15 at the end have a guardian's consent on the day they
joined (``guardian_consent``, drawn from a stream of its own so the rest of
the world does not depend on it); the others are served minimised.

*Orders.* An active user places ``Poisson(Gamma)`` orders (mean 18–26 per 180
days by segment; about 10 % of users never order). Each order gets a day
(weekends and Fridays busier, slow growth over the window), a slot from the
user's mix (weekday/weekend profiles) and a minute inside it. Among the shops
within a few km of home that are *open* at that minute, the user picks
``argmax`` of a random-utility model::

    U(u, s) = log(theta_u[c_s] + 0.01)                 taste
            + TIME_AFFINITY[slot, c_s]                 e.g. 치킨 late, 카페 afternoon
            - dist(u, s) / travel_km_u                 distance decay
            - price_sensitivity_u * max(0, ln(price_s / budget_u))
            + meal-card holder: +1.6 if s accepts the card, -1.0 if not
            + 0.25 * good_shop_s + q_s + eps(u, s)     eps ~ N(0, 0.9), persistent
            + Gumbel noise

A menu is drawn by popularity (signatures x3, cheap ones for tight
budgets), a quantity (families order more portions), ``amount = price *
quantity``; card holders pay ``meal_card`` at shops that take it.

*Favourites* follow repeat orders (the more often, the likelier), plus a few
browsed favourites (also for users who never ordered). *Reviews* come from a
per-user propensity; the rating rises with taste match, shop quality and the
personal ``eps``; the Korean text is assembled from phrases that match the
rating, the dish and the payment.

Everything a recommender should learn is therefore in the data: who likes
which category, when, how far and at what price; which shops are good.
:func:`build_world` also returns the hidden parameters so tests (and
evaluation) can check that the signal is there.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from sqlalchemy import Engine, Table, insert, select

from naviyam.core.taxonomy import category_names, district_names, read_resource

from naviyam.core.text import WEEKDAYS_KO, has_batchim
from naviyam.core import geo
from naviyam.db.models import (
    OPERATOR_TABLES,
    Brand,
    MealCardLimit,
    ProductOrder,
    Review,
    Shop,
    ShopMenu,
    User,
    UserFavorite,
)
from naviyam.hours import is_open, parse_closed_days
from naviyam.db.data_versions import LEXICON, OPERATOR_ASPECTS, bump

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]

DEFAULT_SEED = 42
DEFAULT_SHOPS = 1500
DEFAULT_USERS = 6000
DEFAULT_DAYS = 180
#: History ends (exclusive) at midnight of this day unless ``end_date`` is given.
DEFAULT_END_DATE = dt.date(2026, 11, 1)

MEAL_CARD_SHARE = 0.30
GOOD_SHOP_SHARE = 0.15
#: Children (under 15 at the end of the history) whose guardian consented when they joined.
CONSENT_SHARE = 0.9

#: Share of shops and users per district; the rest is spread evenly.
FOCUS_DISTRICTS = {"관악구": 0.13, "동작구": 0.12}


#: Shop-name parts and chains; the NLU reads the same file for shop-name words.
_SHOP_NAMES = read_resource("world", "shop_names.json")
CATEGORIES: tuple[str, ...] = category_names()
DISTRICTS: tuple[str, ...] = district_names()


def _district_weights() -> np.ndarray:
    rest = (1.0 - sum(FOCUS_DISTRICTS.values())) / (len(DISTRICTS) - len(FOCUS_DISTRICTS))
    return np.array([FOCUS_DISTRICTS.get(d, rest) for d in DISTRICTS])


DISTRICT_WEIGHTS = dict(zip(DISTRICTS, _district_weights().tolist(), strict=False))

# --------------------------------------------------------------------------- shops: categories, menus, prices

CATEGORY_SHARES = {
    "한식": 0.15, "분식": 0.14, "중식": 0.09, "일식": 0.06, "양식": 0.03, "치킨": 0.10, "피자": 0.05,
    "패스트푸드": 0.05, "카페": 0.10, "디저트": 0.05, "베이커리": 0.04, "아시안": 0.03, "고기": 0.07,
    "도시락": 0.02, "샐러드": 0.02,
}

#: Price range (KRW, inclusive) of every main menu of a shop of the category.
MENU_PRICE_RANGES: dict[str, tuple[int, int]] = {
    "한식": (7000, 16000),
    "분식": (3000, 8000),
    "중식": (6000, 25000),
    "일식": (7000, 30000),
    "양식": (9000, 35000),
    "치킨": (17000, 25000),
    "피자": (12000, 30000),
    "패스트푸드": (2000, 12000),
    "카페": (3000, 7000),
    "디저트": (2000, 15000),
    "베이커리": (2000, 9000),
    "아시안": (8000, 16000),
    "고기": (12000, 40000),
    "도시락": (4000, 12000),
    "샐러드": (7000, 15000),
}
#: Price range of side menus (공기밥, 음료, ...), whatever the category.
SIDE_PRICE_RANGE: tuple[int, int] = (1000, 5000)

#: Main menus per category: (menu name, taxonomy dish or None, base price, popularity).
MENU_CATALOG: dict[str, list[tuple[str, str | None, int, float]]] = {
    "한식": [
        ("백반", "백반", 8000, 3), ("김치찌개", "김치찌개", 9000, 5), ("된장찌개", "된장찌개", 9000, 4),
        ("순두부찌개", "순두부찌개", 9500, 3), ("부대찌개", "부대찌개", 10500, 3), ("제육볶음", "제육볶음", 10000, 4),
        ("뚝배기불고기", "불고기", 11000, 3), ("비빔밥", "비빔밥", 9000, 3), ("돌솥비빔밥", "비빔밥", 10000, 2),
        ("순대국밥", "국밥", 9500, 3), ("돼지국밥", "국밥", 10000, 2), ("물냉면", "냉면", 11000, 2),
        ("비빔냉면", "냉면", 11000, 1), ("칼국수", "칼국수", 9000, 3), ("삼계탕", "삼계탕", 16000, 2),
        ("갈비탕", "갈비탕", 14000, 2), ("감자탕", "감자탕", 11000, 2), ("우렁쌈밥", "쌈밥", 12000, 1),
        ("전복죽", "죽", 14000, 1), ("야채죽", "죽", 10000, 1), ("소고기야채죽", "죽", 11000, 1),
        ("단호박죽", "죽", 10000, 1), ("육개장", None, 10000, 2),
        ("김치볶음밥", None, 8500, 1),
    ],
    "분식": [
        ("떡볶이", "떡볶이", 4500, 5), ("치즈떡볶이", "떡볶이", 5500, 2), ("김밥", "김밥", 3500, 5),
        ("참치김밥", "김밥", 4500, 3), ("치즈김밥", "김밥", 4500, 2), ("라면", "라면", 4000, 3),
        ("치즈라면", "라면", 4500, 2), ("순대", "순대", 4500, 3), ("모둠튀김", "튀김", 4000, 3),
        ("어묵", "어묵", 3000, 2), ("라볶이", "라볶이", 6000, 3), ("쫄면", "쫄면", 6500, 2),
        ("주먹밥", "주먹밥", 3000, 2), ("컵밥", "컵밥", 4500, 2), ("김치볶음밥", None, 6500, 2),
        ("떡튀순 세트", None, 8000, 2),
    ],
    "중식": [
        ("짜장면", "짜장면", 7000, 5), ("간짜장", "짜장면", 8000, 2), ("짬뽕", "짬뽕", 8500, 5),
        ("차돌짬뽕", "짬뽕", 11000, 1), ("탕수육(소)", "탕수육", 17000, 4), ("탕수육(대)", "탕수육", 24000, 2),
        ("볶음밥", "볶음밥", 8000, 3), ("마라탕", "마라탕", 11000, 3), ("마라샹궈", "마라샹궈", 19000, 2),
        ("깐풍기", "깐풍기", 21000, 1), ("양장피", "양장피", 24000, 1), ("잡채밥", None, 9000, 1),
        ("군만두", None, 6000, 2), ("짬짜면", None, 9000, 1),
    ],
    "일식": [
        ("모둠초밥", "초밥", 15000, 3), ("연어초밥", "초밥", 14000, 2), ("등심돈까스", "돈까스", 9500, 5),
        ("치즈돈까스", "돈까스", 11000, 3), ("카레돈까스", "돈까스", 10500, 1), ("우동", "우동", 8000, 3),
        ("돈코츠라멘", "라멘", 10000, 3), ("사케동", "덮밥", 13000, 2), ("가츠동", "덮밥", 9500, 2),
        ("규동", "규동", 9000, 2), ("냉소바", "소바", 9000, 2), ("모둠회", "회", 30000, 1),
    ],
    "양식": [
        ("토마토파스타", "파스타", 14000, 3), ("크림파스타", "파스타", 15000, 3), ("알리오올리오", "파스타", 13000, 2),
        ("미트볼스파게티", "스파게티", 14000, 2), ("안심스테이크", "스테이크", 32000, 1),
        ("찹스테이크", "스테이크", 22000, 1), ("버섯리조또", "리조또", 15000, 2), ("오므라이스", "오므라이스", 11000, 3),
        ("함박스테이크", "함박스테이크", 13000, 3), ("시저샐러드", None, 11000, 1), ("감바스", None, 16000, 1),
    ],
    "치킨": [
        ("후라이드치킨", "후라이드치킨", 19000, 5), ("양념치킨", "양념치킨", 20000, 5), ("간장치킨", "간장치킨", 21000, 3),
        ("순살치킨", "순살치킨", 21000, 3), ("반반치킨", None, 20000, 3), ("파닭", None, 21000, 1),
        ("닭강정", "닭강정", 18000, 2), ("마늘치킨", None, 21000, 1),
    ],
    "피자": [
        ("페퍼로니피자", "페퍼로니피자", 18000, 4), ("치즈피자", "치즈피자", 15000, 3), ("불고기피자", "불고기피자", 21000, 3),
        ("콤비네이션피자", "콤비네이션피자", 22000, 3), ("포테이토피자", None, 23000, 2), ("고구마피자", None, 23000, 2),
        ("쉬림프피자", None, 26000, 1), ("반반피자", None, 24000, 1),
    ],
    "패스트푸드": [
        ("불고기버거", "햄버거", 5000, 4), ("치즈버거", "햄버거", 5500, 3), ("새우버거", "햄버거", 5500, 3),
        ("치킨버거", "햄버거", 6000, 3), ("더블버거", "햄버거", 8000, 2), ("버거세트", None, 8500, 3),
        ("감자튀김", "감자튀김", 2500, 3), ("핫도그", "핫도그", 3500, 2), ("치즈스틱", "치즈스틱", 2500, 2),
        ("치킨너겟", None, 3500, 2),
    ],
    "카페": [
        ("딸기스무디", "스무디", 6000, 2), ("망고스무디", "스무디", 6000, 2), ("레몬에이드", "에이드", 5500, 2),
        ("자몽에이드", "에이드", 5500, 2), ("흑당버블티", "버블티", 5500, 3), ("밀크티", "밀크티", 5000, 2),
        ("핫초코", "핫초코", 4500, 3), ("아메리카노", None, 3000, 4), ("카페라떼", None, 4000, 3),
        ("딸기라떼", None, 5500, 2), ("아이스티", None, 3500, 2),
    ],
    "디저트": [
        ("팥빙수", "빙수", 11000, 2), ("망고빙수", "빙수", 13500, 2), ("아이스크림", "아이스크림", 4000, 3),
        ("조각케이크", "케이크", 6500, 2), ("생크림와플", "와플", 4500, 3), ("마카롱", "마카롱", 2500, 2),
        ("딸기탕후루", "탕후루", 3000, 3), ("샤인머스캣탕후루", "탕후루", 4500, 2), ("붕어빵", "붕어빵", 2000, 2),
        ("꿀호떡", "호떡", 2000, 2), ("츄러스", None, 3000, 1),
    ],
    "베이커리": [
        ("소금빵", "빵", 3000, 4), ("단팥빵", "빵", 2500, 2), ("크림빵", "빵", 2500, 2),
        ("햄치즈샌드위치", "샌드위치", 6500, 3), ("에그샌드위치", "샌드위치", 5500, 2), ("찹쌀도넛", "도넛", 2000, 2),
        ("크로와상", "크로와상", 3500, 3), ("햄치즈토스트", "토스트", 4500, 3), ("우유식빵", None, 4500, 2),
        ("소시지빵", None, 3000, 2),
    ],
    "아시안": [
        ("소고기쌀국수", "쌀국수", 10000, 5), ("양지쌀국수", "쌀국수", 11000, 2), ("팟타이", "팟타이", 12000, 3),
        ("치킨카레", "카레", 9500, 3), ("돈까스카레", "카레", 10500, 2), ("분짜", "분짜", 12000, 2),
        ("반미", "반미", 8000, 2), ("나시고랭", "나시고랭", 11000, 2), ("똠양꿍", None, 14000, 1),
        ("월남쌈", None, 15000, 1),
    ],
    "고기": [
        ("삼겹살(1인분)", "삼겹살", 16000, 5), ("목살(1인분)", None, 16000, 3), ("돼지갈비(1인분)", "돼지갈비", 16000, 3),
        ("소갈비(1인분)", "갈비", 32000, 1), ("한우등심(1인분)", "소고기", 39000, 1), ("차돌박이(1인분)", "소고기", 22000, 1),
        ("닭갈비(1인분)", "닭갈비", 14000, 2), ("소곱창(1인분)", "곱창", 19000, 2), ("보쌈(소)", "보쌈", 30000, 2),
        ("족발(소)", "족발", 33000, 2), ("항정살(1인분)", None, 18000, 1),
    ],
    "도시락": [
        ("치킨마요도시락", None, 4500, 4), ("참치마요도시락", None, 4500, 2), ("돈까스도시락", None, 6500, 3),
        ("제육도시락", None, 6000, 3), ("불고기도시락", None, 7000, 2), ("김치볶음밥도시락", None, 5000, 2),
        ("고기고기도시락", None, 7500, 2), ("새우튀김도시락", None, 6500, 1), ("한상도시락", None, 9500, 1),
    ],
    "샐러드": [
        ("리코타샐러드", "샐러드볼", 9500, 2), ("그린샐러드", "샐러드볼", 8000, 2), ("연어샐러드", "샐러드볼", 12000, 1),
        ("연어포케", "포케볼", 13000, 3), ("참치포케", "포케볼", 11000, 2), ("닭가슴살샐러드", "닭가슴살샐러드", 9000, 4),
        ("훈제오리샐러드", None, 10500, 1), ("샐러드랩", None, 8000, 2),
    ],
}

#: Side menus (dish None) offered by each category, with their price.
SIDE_MENUS: dict[str, list[tuple[str, int]]] = {
    "한식": [("공기밥", 1000), ("음료", 2000)],
    "분식": [("공기밥", 1000), ("음료", 2000), ("치즈추가", 1000)],
    "중식": [("공기밥", 1000), ("음료", 2000)],
    "일식": [("음료", 2000), ("공기밥", 1000)],
    "양식": [("음료", 2500), ("마늘빵", 3000)],
    "치킨": [("콜라", 2000), ("치즈볼", 5000), ("사이다", 2000)],
    "피자": [("콜라", 2000), ("치즈추가", 2000)],
    "패스트푸드": [("콜라", 2000), ("사이다", 2000)],
    "카페": [("쿠키", 2500), ("샷추가", 1000)],
    "디저트": [("생수", 1000), ("음료", 2000)],
    "베이커리": [("우유", 1500), ("음료", 2000)],
    "아시안": [("음료", 2000), ("짜조", 4000)],
    "고기": [("공기밥", 1000), ("음료", 2000), ("된장술밥", 4000)],
    "도시락": [("음료", 1500), ("컵라면", 1500)],
    "샐러드": [("음료", 2000), ("삶은달걀", 1000)],
}
SIDE_MENU_NAMES = frozenset(name for sides in SIDE_MENUS.values() for name, _ in sides)

#: Chance that a shop of the category is a chain branch, and the chains (resources/world/shop_names.json).
BRANDS: dict[str, tuple[float, tuple[str, ...]]] = {
    cat: (float(b["share"]), tuple(b["names"])) for cat, b in _SHOP_NAMES["brands"].items()}

#: What a chain sells: taxonomy dishes (or menu names) its menu is drawn from.
BRAND_FOCUS: dict[str, frozenset[str]] = {
    "본죽": frozenset({"죽"}),
    "큰맘할매순대국": frozenset({"국밥", "순대국밥", "육개장", "제육볶음"}),
    "신전떡볶이": frozenset({"떡볶이", "튀김", "어묵", "순대", "김밥", "주먹밥"}),
    "엽기떡볶이": frozenset({"떡볶이", "튀김", "주먹밥", "어묵"}),
    "죠스떡볶이": frozenset({"떡볶이", "튀김", "어묵", "순대", "김밥"}),
    "고봉민김밥": frozenset({"김밥", "라면", "떡볶이", "쫄면", "김치볶음밥"}),
    "홍콩반점0410": frozenset({"짜장면", "짬뽕", "탕수육", "볶음밥", "군만두"}),
    "미소야": frozenset({"돈까스", "우동", "덮밥", "규동", "소바"}),
    "설빙": frozenset({"빙수", "케이크", "와플", "츄러스"}),
    "배스킨라빈스": frozenset({"아이스크림", "케이크", "마카롱"}),
    "명륜진사갈비": frozenset({"돼지갈비", "삼겹살", "목살(1인분)", "항정살(1인분)"}),
    "포메인": frozenset({"쌀국수", "분짜", "반미", "월남쌈", "팟타이"}),
}

#: Opening-hour patterns per category: (weight, open times, close times); a close
#: time earlier than the open time means after midnight.
HOURS: dict[str, list[tuple[float, tuple[str, ...], tuple[str, ...]]]] = {
    "한식": [(0.9, ("10:00", "10:30", "11:00", "11:30"), ("21:00", "21:30", "22:00")), (0.1, ("06:00",), ("05:00",))],
    "분식": [(0.88, ("09:30", "10:00", "10:30", "11:00"), ("20:00", "20:30", "21:00", "21:30")),
             (0.12, ("06:00",), ("05:00",))],
    "중식": [(1.0, ("10:30", "11:00"), ("21:00", "21:30", "22:00"))],
    "일식": [(1.0, ("11:00", "11:30"), ("21:00", "21:30", "22:00"))],
    "양식": [(1.0, ("11:00", "11:30"), ("21:30", "22:00"))],
    "치킨": [(0.7, ("15:00", "16:00", "16:30"), ("00:00", "01:00", "02:00")), (0.3, ("12:00",), ("23:00", "00:00"))],
    "피자": [(1.0, ("11:00", "11:30"), ("22:00", "22:30", "23:00"))],
    "패스트푸드": [(0.85, ("09:00", "10:00", "10:30"), ("22:00", "23:00")), (0.15, ("06:00",), ("05:00",))],
    "카페": [(1.0, ("07:00", "07:30", "08:00", "09:00"), ("21:00", "22:00", "22:30", "23:00"))],
    "디저트": [(1.0, ("11:00", "11:30", "12:00"), ("21:00", "22:00"))],
    "베이커리": [(1.0, ("07:00", "07:30", "08:00"), ("21:00", "21:30", "22:00"))],
    "아시안": [(1.0, ("11:00", "11:30"), ("21:00", "21:30"))],
    "고기": [(0.7, ("16:00", "16:30", "17:00"), ("23:00", "00:00", "01:00")), (0.3, ("11:30",), ("22:00", "23:00"))],
    "도시락": [(1.0, ("08:00", "08:30", "09:00"), ("20:00", "20:30", "21:00"))],
    "샐러드": [(1.0, ("08:00", "09:00", "10:00"), ("20:00", "20:30", "21:00"))],
}
#: The "open nearly 24 hours" pattern, and the chains that keep it.
ALL_NIGHT = (("06:00",), ("05:00",))
ALL_NIGHT_BRANDS = frozenset({"김밥천국", "맥도날드", "버거킹"})
#: Weekly closing day (a shop closes on at most one pattern) and its weight.
CLOSED_DAY_PATTERNS = (("일",), ("월",), ("화",), ("수",), ("토",), ("토", "일"))
CLOSED_DAY_WEIGHTS = (0.36, 0.32, 0.1, 0.08, 0.06, 0.08)
CLOSED_DAY_RATE = 0.35

#: Relative chance of accepting the meal card, per category (scaled to MEAL_CARD_SHARE).
MEAL_CARD_AFFINITY = {
    "한식": 1.8, "분식": 2.2, "중식": 1.6, "일식": 0.7, "양식": 0.25, "치킨": 0.6, "피자": 0.6, "패스트푸드": 0.8,
    "카페": 0.35, "디저트": 0.4, "베이커리": 1.0, "아시안": 0.5, "고기": 0.2, "도시락": 2.4, "샐러드": 0.5,
}

# --------------------------------------------------------------------------- names, addresses

NAME_PREFIXES: tuple[str, ...] = tuple(_SHOP_NAMES["name_prefixes"])
NAME_SUFFIXES: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _SHOP_NAMES["name_suffixes"].items()}
#: Category-flavoured first words that read better than the generic ones.
STYLE_PREFIXES: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _SHOP_NAMES["style_prefixes"].items()}
#: Complete names typical of a category, used as they are.
STYLE_NAMES: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _SHOP_NAMES["style_names"].items()}
#: Famous places people put before a dish in a shop's name (명동칼국수, 춘천닭갈비).
FAMOUS_DISH_PLACES: dict[str, tuple[str, ...]] = {
    k: tuple(v) for k, v in _SHOP_NAMES["famous_dish_places"].items()}
NAMEABLE_DISHES = frozenset(_SHOP_NAMES["nameable_dishes"])

#: Real road names per district for addresses.
ROADS: dict[str, tuple[str, ...]] = {
    "종로구": ("종로", "율곡로", "대학로", "자하문로", "창경궁로", "삼일대로", "성균관로"),
    "중구": ("을지로", "퇴계로", "명동길", "다산로", "동호로", "남대문로", "충무로", "장충단로"),
    "용산구": ("한강대로", "이태원로", "원효로", "후암로", "한남대로", "청파로", "녹사평대로", "서빙고로"),
    "성동구": ("왕십리로", "고산자로", "성수이로", "뚝섬로", "아차산로", "마조로", "금호로", "독서당로"),
    "광진구": ("능동로", "아차산로", "자양로", "천호대로", "광나루로", "동일로", "구의강변로"),
    "동대문구": ("왕산로", "천호대로", "답십리로", "회기로", "이문로", "전농로", "장한로", "망우로"),
    "중랑구": ("망우로", "동일로", "면목로", "용마산로", "봉화산로", "상봉로", "신내로"),
    "성북구": ("보문로", "동소문로", "정릉로", "아리랑로", "종암로", "화랑로", "장월로", "오패산로"),
    "강북구": ("도봉로", "삼양로", "한천로", "솔매로", "인수봉로", "오현로", "수유로"),
    "도봉구": ("도봉로", "마들로", "노해로", "방학로", "시루봉로", "해등로", "우이천로"),
    "노원구": ("동일로", "노해로", "한글비석로", "상계로", "공릉로", "화랑로", "월계로"),
    "은평구": ("통일로", "연서로", "은평로", "진흥로", "서오릉로", "가좌로", "응암로", "불광로"),
    "서대문구": ("연희로", "통일로", "신촌로", "연세로", "명지대길", "거북골로", "수색로"),
    "마포구": ("월드컵로", "양화로", "독막로", "마포대로", "와우산로", "성미산로", "동교로", "망원로"),
    "양천구": ("목동로", "오목로", "신월로", "목동동로", "남부순환로", "신정로", "중앙로"),
    "강서구": ("공항대로", "화곡로", "강서로", "양천로", "등촌로", "마곡중앙로", "금낭화로", "방화대로"),
    "구로구": ("구로중앙로", "경인로", "디지털로", "가마산로", "새말로", "오리로", "고척로", "개봉로"),
    "금천구": ("시흥대로", "벚꽃로", "독산로", "가산로", "범안로", "금하로", "디지털로"),
    "영등포구": ("영중로", "당산로", "여의대로", "국제금융로", "신길로", "도림로", "대림로", "양평로"),
    "동작구": ("상도로", "사당로", "동작대로", "장승배기로", "노량진로", "흑석로", "여의대방로", "보라매로"),
    "관악구": ("관악로", "남부순환로", "신림로", "봉천로", "난곡로", "호암로", "신원로", "낙성대로", "조원로", "은천로"),
    "서초구": ("서초대로", "강남대로", "반포대로", "방배로", "효령로", "사평대로", "양재대로", "바우뫼로"),
    "강남구": ("테헤란로", "강남대로", "논현로", "도산대로", "선릉로", "삼성로", "봉은사로", "언주로"),
    "송파구": ("올림픽로", "송파대로", "백제고분로", "오금로", "가락로", "중대로", "위례성대로", "석촌호수로"),
    "강동구": ("천호대로", "양재대로", "성내로", "올림픽로", "구천면로", "고덕로", "상암로", "명일로"),
}

# --------------------------------------------------------------------------- users and behaviour

SEGMENTS = ("child", "teen", "parent", "adult")
SEGMENT_SHARES = (0.30, 0.30, 0.25, 0.15)
SEGMENT_AGES = {"child": (8, 13), "teen": (14, 19), "parent": (30, 55), "adult": (20, 70)}
#: Taste profile per segment (relative weights in CATEGORIES order).
TASTE_PROFILES: dict[str, dict[str, float]] = {
    "child": {"한식": 1, "분식": 4, "중식": 2, "일식": 1.5, "양식": 1, "치킨": 3, "피자": 2.5, "패스트푸드": 3,
              "카페": 0.8, "디저트": 2.5, "베이커리": 1.5, "아시안": 0.3, "고기": 0.8, "도시락": 1.2, "샐러드": 0.2},
    "teen": {"한식": 1, "분식": 3.5, "중식": 2.5, "일식": 1.5, "양식": 1, "치킨": 3, "피자": 1.5, "패스트푸드": 3,
             "카페": 2, "디저트": 2, "베이커리": 1, "아시안": 0.6, "고기": 1, "도시락": 1.5, "샐러드": 0.3},
    "parent": {"한식": 4, "분식": 1.5, "중식": 2, "일식": 1.5, "양식": 1, "치킨": 2, "피자": 1, "패스트푸드": 0.6,
               "카페": 2, "디저트": 0.8, "베이커리": 1.2, "아시안": 1, "고기": 2.5, "도시락": 0.6, "샐러드": 1},
    "adult": {"한식": 3.5, "분식": 1.2, "중식": 1.5, "일식": 2, "양식": 1.2, "치킨": 2, "피자": 0.8, "패스트푸드": 1,
              "카페": 2.5, "디저트": 0.8, "베이커리": 1, "아시안": 1.5, "고기": 2.5, "도시락": 0.8, "샐러드": 1.5},
}
#: Dirichlet concentration of personal tastes around the segment profile (lower = more personal).
TASTE_CONCENTRATION = 6.0
SEGMENT_PARAMS: dict[str, dict[str, float]] = {
    # card: meal-card holding chance; budget: KRW per order; price: price sensitivity;
    # travel: km of distance decay; orders: mean orders per 180 active days; review: review propensity factor
    "child": {"card": 0.80, "budget": 9000, "price": 2.0, "travel": 0.8, "orders": 18, "review": 0.7},
    "teen": {"card": 0.60, "budget": 11000, "price": 1.5, "travel": 1.1, "orders": 26, "review": 1.0},
    "parent": {"card": 0.05, "budget": 20000, "price": 0.7, "travel": 1.5, "orders": 24, "review": 1.2},
    "adult": {"card": 0.02, "budget": 16000, "price": 0.8, "travel": 1.6, "orders": 20, "review": 1.1},
}
#: Teens aged 18 and 19 have aged out of the meal-card programme mostly.
ADULT_TEEN_CARD = 0.15
COLD_USER_RATE = 0.10
#: Shops a user weighs per order: the best by static utility among those within reach.
MAX_CANDIDATES = 150

SLOTS = ("breakfast", "lunch", "snack", "dinner", "late_night")
#: Hour kernels of each slot (hour -> weight); late-night hours 0-1 fall on the next calendar day.
SLOT_HOURS: dict[str, dict[int, float]] = {
    "breakfast": {7: 0.3, 8: 0.45, 9: 0.25},
    "lunch": {11: 0.25, 12: 0.5, 13: 0.25},
    "snack": {14: 0.2, 15: 0.35, 16: 0.3, 17: 0.15},
    "dinner": {17: 0.15, 18: 0.35, 19: 0.35, 20: 0.15},
    "late_night": {21: 0.3, 22: 0.3, 23: 0.2, 0: 0.12, 1: 0.08},
}
#: Slot mix per segment: weekday, weekend (children eat lunch at school on weekdays).
SLOT_PROFILES: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "child": ((0.05, 0.08, 0.42, 0.42, 0.03), (0.07, 0.33, 0.22, 0.35, 0.03)),
    "teen": ((0.04, 0.08, 0.33, 0.40, 0.15), (0.04, 0.32, 0.18, 0.33, 0.13)),
    "parent": ((0.06, 0.30, 0.08, 0.46, 0.10), (0.07, 0.33, 0.10, 0.40, 0.10)),
    "adult": ((0.07, 0.35, 0.07, 0.33, 0.18), (0.06, 0.32, 0.08, 0.34, 0.20)),
}
#: Log-utility bonus of a category in a slot (0 where absent).
TIME_AFFINITY: dict[str, dict[str, float]] = {
    "breakfast": {"베이커리": 1.2, "카페": 0.8, "샐러드": 0.6, "도시락": 0.6, "한식": 0.2, "분식": 0.2, "치킨": -2.0,
                  "고기": -2.5, "피자": -1.5, "중식": -1.0, "양식": -1.0, "디저트": -0.5, "아시안": -0.8},
    "lunch": {"한식": 0.4, "중식": 0.4, "일식": 0.3, "분식": 0.3, "도시락": 0.5, "샐러드": 0.3, "아시안": 0.3,
              "치킨": -0.6, "고기": -0.8, "디저트": -0.5, "카페": -0.3},
    "snack": {"분식": 0.6, "디저트": 0.9, "카페": 0.8, "베이커리": 0.7, "패스트푸드": 0.5, "한식": -0.8, "고기": -1.5,
              "중식": -0.6, "일식": -0.6, "양식": -0.6, "도시락": -0.5},
    "dinner": {"치킨": 0.5, "피자": 0.4, "고기": 0.6, "한식": 0.3, "중식": 0.3, "카페": -0.8, "디저트": -0.5,
               "베이커리": -0.8, "샐러드": -0.2},
    "late_night": {"치킨": 1.0, "고기": 0.8, "패스트푸드": 0.5, "분식": 0.3, "피자": 0.3, "카페": -1.5,
                   "베이커리": -2.0, "샐러드": -1.5, "도시락": -1.0, "디저트": -0.5, "한식": -0.3},
}
#: Relative order volume per weekday, Monday first.
WEEKDAY_VOLUME = (0.9, 0.9, 0.95, 0.95, 1.15, 1.35, 1.25)
#: Order volume grows by this fraction from the first to the last day.
GROWTH = 0.25

# --------------------------------------------------------------------------- reviews

REVIEW_PHRASES: dict[str, tuple[str, ...]] = {
    "food5": ("{m}{이가} 정말 맛있어요", "{m}{이가} 맛있고 양도 많아요", "{m} 맛집이에요", "{m}{은는} 여기가 최고예요",
              "{m}{이가} 진짜 맛있어요!", "{m} 먹으러 또 올 거예요"),
    "food4": ("{m}{이가} 맛있어요", "{m} 맛있게 잘 먹었어요", "{m}{이가} 생각보다 맛있었어요", "{m} 괜찮아요"),
    "food3": ("{m}{은는} 무난했어요", "{m}{이가} 조금 짰어요", "보통이에요", "무난하게 먹었어요", "{m}{이가} 조금 식어서 왔어요"),
    "food2": ("{m}{이가} 별로였어요", "{m}{이가} 너무 짜요", "기대보다 별로였어요", "{m}{이가} 다 식어서 왔어요"),
    "food1": ("{m}{이가} 너무 맛없었어요", "다시는 안 시킬 것 같아요", "주문한 거랑 다른 메뉴가 왔어요"),
    "service_pos": ("사장님이 친절해요", "사장님이 정말 친절하세요", "포장이 깔끔해요", "배달이 빨라요", "가게가 깨끗해요",
                    "양이 많아서 배불러요", "가격도 착해요", "가성비 최고예요"),
    "service_neg": ("배달이 너무 늦었어요", "양이 좀 적어요", "위생이 좀 아쉬워요", "응대가 불친절했어요"),
    "card": ("급식카드 결제가 돼서 좋아요", "급식카드로 편하게 먹었어요", "꿈나무카드 돼서 자주 와요",
             "급식카드 된다고 눈치 안 주셔서 고마워요"),
    "good": ("착한가게라 마음이 따뜻해졌어요", "사장님이 아이들한테 잘해 주세요"),
    "close_pos": ("또 올게요!", "재주문 의사 있어요", "추천합니다", "친구들한테도 추천했어요", "단골 될 것 같아요"),
    "kid": ("엄마랑 같이 먹었어요", "학원 끝나고 먹었는데 맛있었어요", "친구랑 먹었어요 ㅎㅎ", "동생도 좋아해요"),
}


class WorldNotEmptyError(Exception):
    """The database already holds operator data; generation refuses to mix worlds."""


# --------------------------------------------------------------------------- opening hours


def _minutes(t: dt.time) -> int:
    return t.hour * 60 + t.minute


def closed_weekdays(closed_days: str | None) -> set[int]:
    """Weekday numbers (Monday 0) in a comma-separated Korean closed_days value ("토,일")."""
    return set(parse_closed_days(closed_days))


#: The one definition of "open at a time" (after-midnight hours belong to the previous day).
is_open_at = is_open


def _open_mask(open_m: np.ndarray, close_m: np.ndarray, closed_bits: np.ndarray,
               weekday: np.ndarray, minute: np.ndarray) -> np.ndarray:
    """Vectorised :func:`is_open_at`: shops (last axis) x times (first axis)."""
    w = weekday[:, None]
    m = minute[:, None]
    closed_today = (closed_bits[None, :] >> w) & 1
    closed_yesterday = (closed_bits[None, :] >> ((w - 1) % 7)) & 1
    wrap = close_m <= open_m
    same_day = (m >= open_m) & (m < close_m) & (closed_today == 0)
    overnight = ((m >= open_m) & (closed_today == 0)) | ((m < close_m) & (closed_yesterday == 0))
    return np.where(wrap[None, :], overnight, same_day)


# --------------------------------------------------------------------------- small helpers


def _has_batchim(word: str) -> bool:
    return has_batchim(word, last_hangul=True)


def _josa(word: str, pair: str) -> str:
    """Korean particle after ``word``: pair "이가" -> 이/가, "은는" -> 은/는."""
    return pair[0] if _has_batchim(word) else pair[1]


def _round500(x: np.ndarray | float) -> np.ndarray:
    return (np.rint(np.asarray(x, dtype=float) / 500.0) * 500).astype(np.int64)


def _pick(rng: np.random.Generator, seq: Sequence, p: Sequence[float] | None = None):
    if p is not None:
        p = np.asarray(p, dtype=float)
        p = p / p.sum()
    return seq[int(rng.choice(len(seq), p=p))]


def _parse_hhmm(s: str) -> int:
    h, m = s.split(":")
    return int(h) * 60 + int(m)


def _dong_stem(dong: str) -> str:
    """"사당1동" -> "사당", "신림동" -> "신림", "종로1·2·3·4가동" -> "종로"."""
    stem = re.sub(r"(\d+(·\d+)*가)?(\d+(·\d+)*|본)?동$", "", dong)
    return stem or dong


def _place_points(rng: np.random.Generator, n: int, jitter_km: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points around dong centres: district by DISTRICT_WEIGHTS, 동 uniform, relabelled to the nearest 동.

    Returns (lat, lon, dong index into geo.dong_table()). The first min(n, 25)
    points cover every district once, so small worlds still span Seoul.
    """
    dongs = geo.dong_table()
    seoul = geo.load_seoul()
    by_district = {d: [i for i, x in enumerate(dongs) if x.district == d] for d in DISTRICTS}
    first = np.arange(min(n, len(DISTRICTS)))
    rest = rng.choice(len(DISTRICTS), size=n - len(first), p=_district_weights())
    district_idx = np.concatenate([rng.permutation(first), rest]) if n else np.zeros(0, dtype=np.int64)
    src = np.array([by_district[DISTRICTS[k]][int(rng.integers(len(by_district[DISTRICTS[k]])))]
                    for k in district_idx], dtype=np.int64)
    base_lat = np.array([dongs[i].lat for i in src])
    base_lon = np.array([dongs[i].lon for i in src])
    lat, lon = base_lat.copy(), base_lon.copy()
    todo = np.arange(n)
    km_lat = 1 / 110.95
    km_lon = 1 / (111.32 * math.cos(math.radians(37.55)))
    nearest = np.empty(n, dtype=np.int64)
    for _ in range(8):
        if todo.size == 0:
            break
        lat[todo] = np.round(base_lat[todo] + rng.normal(0, jitter_km, todo.size) * km_lat, 6)
        lon[todo] = np.round(base_lon[todo] + rng.normal(0, jitter_km, todo.size) * km_lon, 6)
        nearest[todo] = geo.nearest_dong_indices(lat[todo], lon[todo])
        nd = np.array([dongs[i] for i in nearest[todo]], dtype=object)
        dist = geo.haversine_m(lat[todo], lon[todo], np.array([d.lat for d in nd]), np.array([d.lon for d in nd]))
        radius_ok = np.array([seoul[d.district].contains(a, b) for d, a, b in zip(nd, lat[todo], lon[todo], strict=False)])
        ok = (dist <= 600.0) & radius_ok
        todo = todo[~ok]
    # whatever is left sits on its 동 centre (always inside, always its own nearest 동)
    lat[todo], lon[todo], nearest[todo] = base_lat[todo], base_lon[todo], src[todo]
    return lat, lon, nearest


# --------------------------------------------------------------------------- the world in memory


@dataclass
class World:
    """Rows per table (dicts in insertion order) and the hidden parameters that produced them."""

    tables: dict[str, list[dict]]
    categories: tuple[str, ...]
    #: users x categories: each user's hidden taste distribution (row i = user id i + 1).
    user_taste: np.ndarray
    user_segment: np.ndarray
    user_home: np.ndarray  # users x 2 (lat, lon)
    shop_quality: np.ndarray  # shops (row i = shop id i + 1)

    def counts(self) -> dict[str, int]:
        return {name: len(rows) for name, rows in self.tables.items()}


def _report(progress: Progress | None, stage: str, done: int, total: int, every: int = 250) -> None:
    if progress is not None and (done == total or done % every == 0):
        progress(stage, done, total)


def build_world(*, seed: int = DEFAULT_SEED, shops: int = DEFAULT_SHOPS, users: int = DEFAULT_USERS,
                days: int = DEFAULT_DAYS, end_date: dt.date | None = None,
                progress: Progress | None = None) -> World:
    """Generate the whole world in memory (no database); see the module docstring."""
    if shops < 1 or users < 0 or days < 1:
        raise ValueError("need shops >= 1, users >= 0 and days >= 1")
    end_date = end_date or DEFAULT_END_DATE
    start = dt.datetime.combine(end_date - dt.timedelta(days=days), dt.time())
    streams = np.random.SeedSequence(seed).spawn(7)
    rng_shop, rng_menu, rng_user, rng_order, rng_text, rng_fav, rng_consent = (
        np.random.default_rng(s) for s in streams)

    shop_rows, brand_rows, shop_arr = _make_shops(rng_shop, shops, start, progress)
    menu_rows, menu_arr = _make_menus(rng_menu, shop_rows, shop_arr, progress)
    user_rows, user_arr = _make_users(rng_user, users, start, end_date, days, progress)
    _guardian_consents(rng_consent, user_rows, user_arr["age"])
    orders, favs, reviews = _simulate(rng_order, rng_fav, rng_text, start, days, shop_arr, menu_rows, menu_arr,
                                      user_arr, progress)
    tables = {
        "brand": brand_rows, "shop": shop_rows, "shop_menu": menu_rows, "user": user_rows,
        "product_order": orders, "userfavorite": favs, "review": reviews,
    }
    return World(tables, CATEGORIES, user_arr["taste"], user_arr["segment"],
                 np.column_stack([user_arr["lat"], user_arr["lon"]]) if users else np.zeros((0, 2)),
                 shop_arr["quality"])


# --------------------------------------------------------------------------- shops


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


def _make_shops(rng: np.random.Generator, n: int, start: dt.datetime, progress: Progress | None):
    dongs = geo.dong_table()
    cats = np.array(CATEGORIES)
    shares = np.array([CATEGORY_SHARES[c] for c in CATEGORIES])
    first = np.arange(min(n, len(CATEGORIES)))
    cat_idx = np.concatenate([rng.permutation(first), rng.choice(len(CATEGORIES), n - len(first), p=shares / shares.sum())])
    lat, lon, dong_idx = _place_points(rng, n, jitter_km=0.3)

    # meal card and good shop: exact shares, weighted by category (Gumbel top-k sampling without replacement)
    is_chain = np.zeros(n, dtype=bool)
    brand_name: list[str | None] = [None] * n
    for i in range(n):
        c = CATEGORIES[cat_idx[i]]
        if c in BRANDS and rng.random() < BRANDS[c][0]:
            is_chain[i] = True
            brand_name[i] = _pick(rng, BRANDS[c][1])
    card_w = np.array([MEAL_CARD_AFFINITY[CATEGORIES[k]] for k in cat_idx]) * np.where(is_chain, 0.7, 1.0)
    card = _weighted_subset(rng, card_w, round(MEAL_CARD_SHARE * n))
    good_w = np.where(card, 5.0, 1.0) * np.where(is_chain, 0.25, 1.0)
    good = _weighted_subset(rng, good_w, round(GOOD_SHOP_SHARE * n))
    quality = rng.normal(0.0, 0.5, n) + np.where(good, 0.15, 0.0)

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

    used_brands = sorted({b for b in brand_name if b}, key=lambda b: _brand_order().index(b))
    brand_id = {b: i + 1 for i, b in enumerate(used_brands)}
    brand_rows = [{"id": brand_id[b], "name": b} for b in used_brands]

    rows: list[dict] = []
    created_days = rng.integers(30, 2000, n)
    for i in range(n):
        dong = dongs[dong_idx[i]]
        road = _pick(rng, ROADS[dong.district])
        num = int(rng.integers(1, 260))
        side_street = road.endswith("로") and rng.random() < 0.45
        address = (f"서울특별시 {dong.district} {road}{int(rng.integers(2, 40))}길 {num}" if side_street
                   else f"서울특별시 {dong.district} {road} {num}")
        ex = int(rng.integers(200, 1000)) if rng.random() < 0.5 else int(rng.integers(2000, 10000))
        rows.append({
            "id": i + 1,
            "name": "",  # named after menus are known (signature dishes)
            "category": str(cats[cat_idx[i]]),
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
            "phone": f"02-{ex}-{int(rng.integers(0, 10000)):04d}",
            "description": None,
            "created_at": start - dt.timedelta(days=int(created_days[i]), seconds=int(rng.integers(0, 86400))),
        })
        _report(progress, "shops", i + 1, n)
    arr = {
        "lat": lat, "lon": lon, "cat": cat_idx, "open_m": open_m, "close_m": close_m, "closed_bits": closed_bits,
        "card": card, "good": good, "quality": quality, "brand": brand_name,
    }
    return rows, brand_rows, arr


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


# --------------------------------------------------------------------------- menus


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


def _make_menus(rng: np.random.Generator, shop_rows: list[dict], shop_arr: dict, progress: Progress | None):
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


# --------------------------------------------------------------------------- users


def _birthday(end: dt.date, age: int, day_offset: int) -> dt.date:
    """A birthday giving exactly ``age`` at ``end`` (day_offset in [0, 365))."""
    latest = _years_before(end, age)
    earliest = _years_before(end, age + 1) + dt.timedelta(days=1)
    span = (latest - earliest).days + 1
    return earliest + dt.timedelta(days=day_offset % span)


def _years_before(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year - years)
    except ValueError:  # 29 February
        return d.replace(year=d.year - years, day=28)


def _make_users(rng: np.random.Generator, n: int, start: dt.datetime, end_date: dt.date, days: int,
                progress: Progress | None):
    dongs = geo.dong_table()
    seg = rng.choice(len(SEGMENTS), size=n, p=SEGMENT_SHARES)
    ages = np.array([int(rng.integers(SEGMENT_AGES[SEGMENTS[s]][0], SEGMENT_AGES[SEGMENTS[s]][1] + 1)) for s in seg],
                    dtype=np.int64)
    card_p = np.array([SEGMENT_PARAMS[SEGMENTS[s]]["card"] for s in seg])
    card_p = np.where((seg == SEGMENTS.index("teen")) & (ages >= 18), ADULT_TEEN_CARD, card_p)
    card = rng.random(n) < card_p
    lat, lon, dong_idx = _place_points(rng, n, jitter_km=0.35)
    profiles = np.array([[TASTE_PROFILES[s][c] for c in CATEGORIES] for s in SEGMENTS])
    profiles = profiles / profiles.sum(axis=1, keepdims=True)
    taste = (np.vstack([rng.dirichlet(TASTE_CONCENTRATION * profiles[s]) for s in seg]) if n
             else np.zeros((0, len(CATEGORIES))))
    # a user created before the window has its whole history; others joined during it
    joined_before = rng.random(n) < 0.7
    created_day = np.where(joined_before, -rng.integers(1, 900, n), rng.integers(0, days, n))
    created_sec = rng.integers(0, 86400, n)
    birthday_off = rng.integers(0, 366, n)
    gender = np.where(rng.random(n) < 0.5, "M", "F")
    params = {k: np.array([SEGMENT_PARAMS[SEGMENTS[s]][k] for s in seg]) for k in ("budget", "price", "travel",
                                                                                   "orders", "review")}
    budget = params["budget"] * np.exp(rng.normal(0, 0.2, n))
    price_sens = params["price"] + np.where(card, 0.5, 0.0)
    travel = params["travel"] * np.exp(rng.normal(0, 0.3, n))
    slot_gain = rng.gamma(3.0, 1 / 3.0, size=(n, len(SLOTS)))
    review_rate = np.clip(rng.beta(1.5, 6.0, n) * params["review"], 0, 0.9)
    active = rng.random(n) >= COLD_USER_RATE
    activity = rng.gamma(1.3, 1 / 1.3, n)
    rows = []
    for i in range(n):
        d = dongs[dong_idx[i]]
        rows.append({
            "id": i + 1,
            "birthday": _birthday(end_date, int(ages[i]), int(birthday_off[i])),
            "gender": str(gender[i]),
            "district": d.district,
            "dong": d.name,
            "is_meal_card_holder": bool(card[i]),
            "created_at": start + dt.timedelta(days=int(created_day[i]), seconds=int(created_sec[i])),
        })
        _report(progress, "users", i + 1, n)
    arr = {
        "segment": np.array([SEGMENTS[s] for s in seg]), "seg": seg, "age": ages, "card": card, "lat": lat,
        "lon": lon, "taste": taste, "created_day": created_day, "budget": budget, "price": price_sens,
        "travel": travel, "slot_gain": slot_gain, "review_rate": review_rate, "active": active,
        "activity": activity, "orders_mean": params["orders"],
    }
    return rows, arr


def _guardian_consents(rng: np.random.Generator, user_rows: list[dict], ages: np.ndarray) -> None:
    """``guardian_consent`` for each user row: the day they joined for most children, empty for the rest."""
    given = rng.random(len(user_rows)) < CONSENT_SHARE
    for row, age, yes in zip(user_rows, ages, given, strict=True):
        row["guardian_consent"] = row["created_at"].date() if age < 15 and yes else None


# --------------------------------------------------------------------------- behaviour


def _simulate(rng: np.random.Generator, rng_fav: np.random.Generator, rng_text: np.random.Generator,
              start: dt.datetime, days: int, shop_arr: dict, menu_rows: list[dict], menu_arr: dict, user_arr: dict,
              progress: Progress | None):
    n_users = len(user_arr["seg"])
    n_cat = len(CATEGORIES)
    s_lat, s_lon, s_cat = shop_arr["lat"], shop_arr["lon"], shop_arr["cat"]
    s_card, s_good, s_q = shop_arr["card"], shop_arr["good"], shop_arr["quality"]
    s_typical = menu_arr["typical"]
    open_m, close_m, closed_bits = shop_arr["open_m"], shop_arr["close_m"], shop_arr["closed_bits"]
    time_aff = np.array([[TIME_AFFINITY[s].get(c, 0.0) for c in CATEGORIES] for s in SLOTS])
    slot_hours = [(np.array(list(SLOT_HOURS[s])), np.array(list(SLOT_HOURS[s].values()))) for s in SLOTS]
    slot_prof = np.array([[SLOT_PROFILES[s][k] for k in (0, 1)] for s in SEGMENTS])  # seg x (wd/we) x slot

    start_wd = start.weekday()
    day_wd = (start_wd + np.arange(days)) % 7
    day_w = np.array(WEEKDAY_VOLUME)[day_wd] * (1.0 + GROWTH * np.arange(days) / max(days - 1, 1))
    day_cum = np.cumsum(day_w)

    out_user, out_shop, out_sec, out_eps, out_match = [], [], [], [], []
    extra_favs: list[tuple[int, int, int]] = []  # (user, shop, second)
    # local flat-earth kilometres: within Seoul the error against haversine is far below 0.1 %
    ky, kx = 110.95, 111.32 * math.cos(math.radians(37.55))
    for u in range(n_users):
        seg = user_arr["seg"][u]
        d_km = np.hypot((s_lat - user_arr["lat"][u]) * ky, (s_lon - user_arr["lon"][u]) * kx)
        travel = user_arr["travel"][u]
        cand = np.flatnonzero(d_km <= max(4.0 * travel, 2.5))
        if cand.size < 25:
            cand = np.argsort(d_km, kind="stable")[:25]
        taste_log = np.log(user_arr["taste"][u] + 0.01)
        eps = rng.normal(0.0, 0.9, cand.size)
        static = (taste_log[s_cat[cand]] - d_km[cand] / travel
                  - user_arr["price"][u] * np.maximum(0.0, np.log(s_typical[cand] / user_arr["budget"][u]))
                  + 0.25 * s_good[cand] + s_q[cand] + eps)
        if user_arr["card"][u]:
            static += np.where(s_card[cand], 1.6, -1.0) + 0.35 * s_good[cand]
        if cand.size > MAX_CANDIDATES:  # the rest would win with negligible probability
            keep_idx = np.sort(np.argsort(-static, kind="stable")[:MAX_CANDIDATES])
            cand, eps, static = cand[keep_idx], eps[keep_idx], static[keep_idx]
        first_day = max(0, int(user_arr["created_day"][u]) + 1)
        span = days - first_day
        n_orders = 0
        if user_arr["active"][u] and span > 0:
            mean = user_arr["orders_mean"][u] * user_arr["activity"][u] * span / 180.0
            n_orders = int(rng.poisson(mean))
        chosen = np.zeros(0, dtype=np.int64)
        if n_orders:
            lo = day_cum[first_day - 1] if first_day > 0 else 0.0
            day = np.searchsorted(day_cum, rng.uniform(lo, day_cum[-1], n_orders), side="right")
            day = np.minimum(day, days - 1)
            weekend = (day_wd[day] >= 5).astype(np.int64)
            mix = slot_prof[seg][weekend] * user_arr["slot_gain"][u][None, :]
            mix /= mix.sum(axis=1, keepdims=True)
            slot = (rng.random(n_orders)[:, None] > np.cumsum(mix, axis=1)).sum(axis=1)
            slot = np.minimum(slot, len(SLOTS) - 1)
            hour = np.empty(n_orders, dtype=np.int64)
            for k in np.unique(slot):
                idx = np.flatnonzero(slot == k)
                hrs, w = slot_hours[k]
                hour[idx] = hrs[rng.choice(len(hrs), size=idx.size, p=w / w.sum())]
            minute = rng.integers(0, 60, n_orders)
            second = rng.integers(0, 60, n_orders)
            day = day + (hour < 5)  # after midnight: next calendar day
            keep = day < days
            weekday = (start_wd + day) % 7
            mod = hour * 60 + minute
            open_ = _open_mask(open_m[cand], close_m[cand], closed_bits[cand], weekday, mod)
            util = static[None, :] + time_aff[slot][:, s_cat[cand]] + rng.gumbel(size=(n_orders, cand.size))
            util = np.where(open_, util, -np.inf)
            pick = np.argmax(util, axis=1)
            keep &= open_.any(axis=1)
            chosen = cand[pick[keep]]
            out_user.append(np.full(chosen.size, u, dtype=np.int64))
            out_shop.append(chosen)
            out_sec.append(day[keep] * 86400 + mod[keep] * 60 + second[keep])
            out_eps.append(eps[pick[keep]])
            out_match.append(np.log(user_arr["taste"][u][s_cat[chosen]] * n_cat + 1e-9))
        # a browsed favourite: an attractive shop never ordered from (also for users who never order)
        if span > 0 and rng_fav.random() < (0.15 if chosen.size else 0.3):
            ordered = set(chosen.tolist())
            best = next((int(cand[j]) for j in np.argsort(-static, kind="stable") if int(cand[j]) not in ordered), None)
            if best is not None:
                extra_favs.append((u, best, int(rng_fav.integers(first_day * 86400, days * 86400))))
        _report(progress, "orders", u + 1, n_users, every=200)

    def joined(parts: list[np.ndarray], dtype) -> np.ndarray:
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)

    o_user, o_shop, o_sec = joined(out_user, np.int64), joined(out_shop, np.int64), joined(out_sec, np.int64)
    o_eps, o_match = joined(out_eps, float), joined(out_match, float)
    order = np.lexsort((o_user, o_sec))  # chronological ids
    o_user, o_shop, o_sec, o_eps, o_match = (a[order] for a in (o_user, o_shop, o_sec, o_eps, o_match))

    menu_id, price, qty = _choose_menus(rng, o_shop, o_user, shop_arr, menu_arr, user_arr)
    pay = _payments(rng, o_user, o_shop, s_card, user_arr)
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


# --------------------------------------------------------------------------- writing

_TABLES: tuple[tuple[str, type], ...] = (
    ("brand", Brand), ("shop", Shop), ("shop_menu", ShopMenu), ("user", User), ("product_order", ProductOrder),
    ("userfavorite", UserFavorite), ("review", Review),
)
INSERT_CHUNK = 5000

#: The sample world's meal card amounts (원 per meal, per day) by 구: most 구 top the city's base up to 9,000원;
#: a few differ so that the per-district rule shows. Districts not listed get the settings default.
SAMPLE_MEAL_CARD_LIMITS: dict[str, tuple[int, int]] = {
    "송파구": (9_500, 28_500), "관악구": (9_000, 27_000), "동작구": (8_000, 24_000), "영등포구": (9_000, 27_000),
    "구로구": (8_500, 25_500), "금천구": (9_000, 27_000), "서초구": (9_000, 27_000), "강남구": (9_000, 27_000),
    "마포구": (9_000, 27_000), "중구": (7_000, 21_000), "종로구": (9_000, 27_000), "용산구": (9_000, 27_000),
}


def _copy_rows(conn, table: Table, rows: list[dict]) -> None:
    """PostgreSQL fast path: COPY FROM STDIN in the connection's open transaction."""
    if not rows:
        return
    cols = list(rows[0])
    prep = conn.dialect.identifier_preparer
    sql = f"COPY {prep.quote(table.name)} ({', '.join(prep.quote(c) for c in cols)}) FROM STDIN"
    with conn.connection.dbapi_connection.cursor() as cur, cur.copy(sql) as copy:
        for row in rows:
            copy.write_row([row[c] for c in cols])


def _non_empty_tables(conn) -> list[str]:
    found = []
    for model in OPERATOR_TABLES:
        table: Table = model.__table__
        if conn.execute(select(table.c.id).limit(1)).first() is not None:
            found.append(table.name)
    return found


def generate_world(engine: Engine, *, seed: int = DEFAULT_SEED, shops: int = DEFAULT_SHOPS,
                   users: int = DEFAULT_USERS, days: int = DEFAULT_DAYS, end_date: dt.date | None = None,
                   progress: Progress | None = None) -> dict[str, int]:
    """Fill an empty database with a sample world; returns the rows written per table.

    Refuses (:class:`WorldNotEmptyError`) when any operator table already has
    rows. Everything is written in one transaction with chunked bulk inserts,
    so a failure leaves the database as it was.
    """
    t0 = time.perf_counter()
    with engine.connect() as conn:
        found = _non_empty_tables(conn)
    if found:
        raise WorldNotEmptyError(
            f"the database already has data in {', '.join(found)}; generate into an empty database "
            "(or drop and re-create it first)"
        )
    world = build_world(seed=seed, shops=shops, users=users, days=days, end_date=end_date, progress=progress)
    t1 = time.perf_counter()
    total = sum(len(rows) for rows in world.tables.values())
    done = 0
    with engine.begin() as conn:
        found = _non_empty_tables(conn)  # checked again inside the writing transaction
        if found:
            raise WorldNotEmptyError(f"the database already has data in {', '.join(found)}")
        copy = conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg"
        for name, model in _TABLES:
            rows = world.tables[name]
            for i in range(0, len(rows), INSERT_CHUNK):
                chunk = rows[i:i + INSERT_CHUNK]
                if copy:
                    _copy_rows(conn, model.__table__, chunk)
                else:
                    conn.execute(insert(model.__table__), chunk)
                done += len(chunk)
                _report(progress, "writing", done, total, every=1)
        known = set(conn.execute(select(MealCardLimit.district)).scalars())
        limits = [{"district": d, "per_meal": m, "per_day": day} for d, (m, day) in SAMPLE_MEAL_CARD_LIMITS.items()
                  if d not in known]
        if limits:
            conn.execute(insert(MealCardLimit.__table__), limits)

        bump(conn, (*OPERATOR_ASPECTS, LEXICON), "sample_world")
    counts = world.counts()
    log.info("sample world (seed %s) generated in %.1fs and written in %.1fs: %s", seed, t1 - t0,
             time.perf_counter() - t1, counts)
    return counts


__all__ = [
    "CATEGORIES", "DEFAULT_END_DATE", "GOOD_SHOP_SHARE", "MEAL_CARD_SHARE", "MENU_CATALOG", "MENU_PRICE_RANGES",
    "SIDE_MENU_NAMES", "SIDE_PRICE_RANGE", "World", "WorldNotEmptyError", "build_world", "closed_weekdays",
    "generate_world", "is_open_at",
]
