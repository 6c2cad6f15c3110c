"""A small deterministic world with known tastes, written to a real database (test helpers).

- 96 shops over 6 categories and 4 동 in 관악구 and 동작구 (category = id % 6);
  shop 999 is a new 일식 shop with no history.
- users 1..72: user u only ever orders category ``CATS[u % 6]``, from shops near home;
  치킨 is ordered in the evening, 카페 in the afternoon, the rest at lunch.
- user 500 ordered once, from 중식 shop 2 (item-item fallback);
  user 600 exists but has no history (cold start).

``tests/recommend/conftest.py`` serves it as the fixtures ``world`` and
``generator``; :func:`make_known_world` builds it anywhere.
"""

from __future__ import annotations

import datetime as dt
import random

from naviyam.core.registry import ModelRegistry
from naviyam.db.models import ProductOrder, Review, Shop, ShopMenu, User, UserFavorite
from naviyam.db.session import make_engine, migrate, session_scope
from naviyam.recommend.layer1 import Layer1Config
from naviyam.recommend.layer1_build import build_layer1
from naviyam.retrieval.embedding import HashingEmbedder

CATS = ["분식", "치킨", "중식", "한식", "피자", "카페"]
DISHES = {"분식": ["떡볶이", "김밥", "라면"], "치킨": ["후라이드치킨", "양념치킨"], "중식": ["짜장면", "짬뽕", "탕수육"],
          "한식": ["김치찌개", "된장찌개", "비빔밥"], "피자": ["치즈피자", "불고기피자"], "카페": ["스무디", "에이드"]}
PLACES = [("관악구", "행운동", 37.48068, 126.95693), ("관악구", "신림동", 37.4875, 126.9274),
          ("동작구", "사당1동", 37.4766, 126.9771), ("동작구", "노량진1동", 37.5103, 126.9457)]
N_SHOPS = 96
N_USERS = 72
START = dt.datetime(2026, 9, 1)
DAYS = 40
NEW_SHOP = 999


def shop_category(shop_id: int) -> str:
    return CATS[shop_id % 6]


def user_category(user_id: int) -> str:
    return CATS[user_id % 6]


def shop_place(shop_id: int):
    return PLACES[(shop_id // 6) % len(PLACES)]


def fill_known_world(engine, seed: int = 7) -> None:
    rnd = random.Random(seed)
    with session_scope(engine) as s:
        menu_id = 1
        for sid in range(1, N_SHOPS + 1):
            cat = shop_category(sid)
            dist, dong, lat, lon = shop_place(sid)
            late = cat in ("치킨", "피자")
            s.add(Shop(id=sid, name=f"{dong[:2]}{cat}{sid}", category=cat, district=dist, dong=dong,
                       lat=lat + rnd.uniform(-0.006, 0.006), lon=lon + rnd.uniform(-0.006, 0.006),
                       open_time=dt.time(16) if late else dt.time(9), close_time=dt.time(2) if late else dt.time(21),
                       closed_days="월" if sid % 10 == 0 else None, is_good_shop=sid % 4 == 0,
                       accepts_meal_card=sid % 3 != 0, created_at=START - dt.timedelta(days=400)))
            for j, dish in enumerate(DISHES[cat]):
                s.add(ShopMenu(id=menu_id, shop_id=sid, name=dish, price=3000 + 1500 * ((sid + j) % 7), dish=dish,
                               is_signature=j == 0))
                menu_id += 1
        for uid in [*range(1, N_USERS + 1), 500, 600]:
            dist, dong, _, _ = PLACES[uid % len(PLACES)]
            s.add(User(id=uid, birthday=dt.date(2012, 5, 1), district=dist, dong=dong, is_meal_card_holder=True,
                       created_at=START))
        s.flush()
        order_id = fav_id = review_id = 1
        for uid in range(1, N_USERS + 1):
            cat = user_category(uid)
            mine = [sid for sid in range(1, N_SHOPS + 1) if shop_category(sid) == cat]
            near = [sid for sid in mine if shop_place(sid)[0] == PLACES[uid % len(PLACES)][0]] or mine
            for _ in range(12):
                sid = rnd.choice(near if rnd.random() < 0.8 else mine)
                hour = 19 if cat == "치킨" else 15 if cat == "카페" else 12
                at = START + dt.timedelta(days=rnd.randrange(DAYS), hours=hour, minutes=rnd.randrange(60))
                s.add(ProductOrder(id=order_id, user_id=uid, shop_id=sid, quantity=1, amount=7000,
                                   payment_method="meal_card", ordered_at=at))
                order_id += 1
            s.add(UserFavorite(id=fav_id, user_id=uid, shop_id=near[0], created_at=START + dt.timedelta(days=3)))
            fav_id += 1
            s.add(Review(id=review_id, user_id=uid, shop_id=near[0], rating=5, text="맛있어요",
                         created_at=START + dt.timedelta(days=5)))
            review_id += 1
        s.add(ProductOrder(id=order_id, user_id=500, shop_id=2, quantity=1, amount=7000, payment_method="meal_card",
                           ordered_at=START + dt.timedelta(days=10, hours=12)))


def add_new_shop(engine) -> None:
    """A 일식 shop with no orders, favourites or reviews (created after the index was built)."""
    dist, dong, lat, lon = PLACES[0]
    with session_scope(engine) as s:
        s.add(Shop(id=NEW_SHOP, name="새로운돈까스", category="일식", district=dist, dong=dong, lat=lat, lon=lon,
                   open_time=dt.time(11), close_time=dt.time(21), is_good_shop=True, accepts_meal_card=True,
                   description="바삭한 수제 돈까스와 우동", created_at=START + dt.timedelta(days=DAYS)))
        s.add(ShopMenu(id=99_901, shop_id=NEW_SHOP, name="수제돈까스", price=8000, dish="돈까스", is_signature=True))
        s.add(ShopMenu(id=99_902, shop_id=NEW_SHOP, name="우동", price=6000, dish="우동", is_signature=False))


def make_known_world(folder) -> tuple:
    """(engine, registry, embedder): the known world in ``folder`` with a built and registered Layer 1 index."""
    engine = make_engine(f"sqlite:///{folder / 'naviyam.db'}")
    migrate(engine)
    fill_known_world(engine)
    registry = ModelRegistry(engine, folder / "models")
    embedder = HashingEmbedder()
    build_layer1(engine, registry, config=Layer1Config(embedder=embedder.name), embedder=embedder)
    return engine, registry, embedder
