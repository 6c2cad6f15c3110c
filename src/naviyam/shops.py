"""Read-side queries for shops: one shop with its menus and derived figures, and lists.

The same SQL serves SQLite and PostgreSQL. Derived figures:
average menu price, menu count, rating, review count, order count.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from naviyam.core.clock import local_now
from naviyam.db.models import ProductOrder, Review, Shop, ShopMenu
from naviyam.hours import format_hours, is_open


@dataclass
class MenuItem:
    id: int
    name: str
    price: int
    dish: str | None
    is_signature: bool


@dataclass
class ShopFigures:
    avg_menu_price: float | None
    min_menu_price: int | None
    max_menu_price: int | None
    menu_count: int
    rating: float | None
    review_count: int
    order_count: int


@dataclass
class ShopRecord:
    id: int
    name: str
    category: str
    brand_id: int | None
    district: str
    dong: str | None
    address: str | None
    lat: float
    lon: float
    open_time: str
    close_time: str
    closed_days: str | None
    hours: str
    open_now: bool
    is_good_shop: bool
    accepts_meal_card: bool
    phone: str | None
    description: str | None
    figures: ShopFigures
    menus: list[MenuItem] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def _figures_query() -> Select:
    menus = (
        select(
            ShopMenu.shop_id.label("shop_id"),
            func.avg(ShopMenu.price).label("avg_price"),
            func.min(ShopMenu.price).label("min_price"),
            func.max(ShopMenu.price).label("max_price"),
            func.count(ShopMenu.id).label("menu_count"),
        )
        .group_by(ShopMenu.shop_id)
        .subquery()
    )
    reviews = (
        select(Review.shop_id.label("shop_id"), func.avg(Review.rating).label("rating"),
               func.count(Review.id).label("review_count"))
        .group_by(Review.shop_id)
        .subquery()
    )
    orders = (
        select(ProductOrder.shop_id.label("shop_id"), func.count(ProductOrder.id).label("order_count"))
        .group_by(ProductOrder.shop_id)
        .subquery()
    )
    return (
        select(Shop, menus.c.avg_price, menus.c.min_price, menus.c.max_price, menus.c.menu_count,
               reviews.c.rating, reviews.c.review_count, orders.c.order_count)
        .outerjoin(menus, menus.c.shop_id == Shop.id)
        .outerjoin(reviews, reviews.c.shop_id == Shop.id)
        .outerjoin(orders, orders.c.shop_id == Shop.id)
    )


def _record(row, now: dt.datetime, menus: list[ShopMenu] | None = None) -> ShopRecord:
    shop: Shop = row[0]
    avg_price, min_price, max_price, menu_count, rating, review_count, order_count = row[1:]
    return ShopRecord(
        id=shop.id, name=shop.name, category=shop.category, brand_id=shop.brand_id,
        district=shop.district, dong=shop.dong, address=shop.address, lat=shop.lat, lon=shop.lon,
        open_time=f"{shop.open_time:%H:%M}", close_time=f"{shop.close_time:%H:%M}",
        closed_days=shop.closed_days or None,
        hours=format_hours(shop.open_time, shop.close_time, shop.closed_days),
        open_now=is_open(shop.open_time, shop.close_time, shop.closed_days, now),
        is_good_shop=bool(shop.is_good_shop), accepts_meal_card=bool(shop.accepts_meal_card),
        phone=shop.phone, description=shop.description,
        figures=ShopFigures(
            avg_menu_price=round(float(avg_price), 1) if avg_price is not None else None,
            min_menu_price=min_price, max_menu_price=max_price, menu_count=menu_count or 0,
            rating=round(float(rating), 2) if rating is not None else None,
            review_count=review_count or 0, order_count=order_count or 0,
        ),
        menus=[MenuItem(m.id, m.name, m.price, m.dish, bool(m.is_signature)) for m in (menus or [])],
    )


def get_shop(session: Session, shop_id: int, now: dt.datetime | None = None) -> ShopRecord | None:
    """One shop with all its menus and derived figures, or None."""
    row = session.execute(_figures_query().where(Shop.id == shop_id)).first()
    if row is None:
        return None
    menus = list(session.scalars(select(ShopMenu).where(ShopMenu.shop_id == shop_id).order_by(ShopMenu.id)))
    return _record(row, now or local_now(), menus)


def list_shops(
    session: Session,
    *,
    district: str | None = None,
    category: str | None = None,
    limit: int = 50,
    offset: int = 0,
    now: dt.datetime | None = None,
) -> tuple[list[ShopRecord], int]:
    """Shops filtered by district and/or category, ordered by id, with the total count."""
    q = _figures_query()
    count_q = select(func.count(Shop.id))
    for col, value in ((Shop.district, district), (Shop.category, category)):
        if value:
            q = q.where(col == value)
            count_q = count_q.where(col == value)
    total = session.scalar(count_q) or 0
    rows = session.execute(q.order_by(Shop.id).limit(limit).offset(offset)).all()
    now = now or local_now()
    return [_record(r, now) for r in rows], total


def count_shops(session: Session) -> int:
    return session.scalar(select(func.count(Shop.id))) or 0
