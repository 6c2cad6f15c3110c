"""A tiny hand-made world and a test client on it (SQLite and PostgreSQL)."""

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from naviyam.api.app import create_app
from naviyam.config import Settings
from naviyam.db.models import ProductOrder, Review, Shop, ShopMenu, User
from naviyam.db.session import session_scope


@pytest.fixture
def world(engine):
    with session_scope(engine) as s:
        s.add_all([
            Shop(id=1, name="행복분식", category="분식", district="관악구", dong="신림동", lat=37.484, lon=126.929,
                 open_time=dt.time(10), close_time=dt.time(21), closed_days="월", is_good_shop=True,
                 accepts_meal_card=True),
            Shop(id=2, name="한밤치킨", category="치킨", district="관악구", dong="봉천동", lat=37.482, lon=126.941,
                 open_time=dt.time(16), close_time=dt.time(2), is_good_shop=False, accepts_meal_card=False),
            Shop(id=3, name="노량진국밥", category="한식", district="동작구", dong="노량진1동", lat=37.513,
                 lon=126.942, open_time=dt.time(7), close_time=dt.time(22), is_good_shop=False,
                 accepts_meal_card=True),
            User(id=1, birthday=dt.date(2015, 3, 1), district="관악구", is_meal_card_holder=True),
        ])
        s.flush()
        s.add_all([
            ShopMenu(id=1, shop_id=1, name="떡볶이", price=4000, dish="떡볶이", is_signature=True),
            ShopMenu(id=2, shop_id=1, name="김밥", price=3000, dish="김밥"),
            ShopMenu(id=3, shop_id=2, name="후라이드치킨", price=19000, dish="후라이드치킨", is_signature=True),
        ])
        s.flush()
        s.add_all([
            ProductOrder(id=1, user_id=1, shop_id=1, menu_id=1, quantity=2, amount=8000, payment_method="meal_card",
                         ordered_at=dt.datetime(2026, 10, 1, 12)),
            Review(id=1, user_id=1, shop_id=1, rating=5, text="맛있어요", created_at=dt.datetime(2026, 10, 1, 13)),
            Review(id=2, user_id=1, shop_id=1, rating=4, text="친절해요", created_at=dt.datetime(2026, 10, 2, 13)),
        ])
    return engine


@pytest.fixture(scope="session")
def rules_nlu():
    from naviyam.nlu import rules_parser

    return rules_parser()


@pytest.fixture
def client(world, rules_nlu, tmp_path):
    from naviyam.service.runtime import Runtime

    settings = Settings(environment="test", admin_api_key="test-admin-key", var_dir=tmp_path)
    runtime = Runtime.load(world, settings, parser=rules_nlu)
    app = create_app(settings, engine=world, runtime=runtime)
    with TestClient(app) as c:
        yield c


