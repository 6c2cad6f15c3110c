"""The sheets of the operator's workbook: columns, types, ranges and keys (one spec per sheet)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table

from naviyam.core.clock import local_today
from naviyam.data import validation as v
from naviyam.db.models import Brand, MealCardLimit, ProductOrder, Review, Shop, ShopMenu, User, UserFavorite

#: Excel's hard limit of rows per sheet (header included).
EXCEL_MAX_ROWS = 1_048_576
#: Rows per INSERT batch.
CHUNK_SIZE = 5000


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a sheet.

    ``kind`` is the cell type: int, float, str (stripped), text (kept as
    written), bool, time, date or datetime. ``required`` columns must be
    present and every cell filled; optional columns may be absent or empty
    (then ``default``). ``domain`` checks or normalises a parsed value.
    """

    name: str
    kind: str
    required: bool = False
    default: Any = None
    domain: Callable[[Any], v.Parsed] | None = None


@dataclass(frozen=True)
class ForeignKey:
    column: str
    parent: str  # parent sheet name; the parent's key is always "id"


@dataclass(frozen=True)
class SheetSpec:
    name: str
    table: Table
    what: str  # what one row is, in Korean, for messages ("가게")
    columns: tuple[ColumnSpec, ...]
    foreign_keys: tuple[ForeignKey, ...] = ()
    #: the column rows are matched by (upsert, --replace, duplicates): "id", or "district" for meal_card_limit
    key: str = "id"

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def max_length(self, column: str) -> int | None:
        return getattr(self.table.c[column].type, "length", None)


#: The meal card's amount per meal and per day a 구 may set (원).
MEAL_CARD_PER_MEAL_RANGE = (1_000, 100_000)
MEAL_CARD_PER_DAY_RANGE = (1_000, 1_000_000)


def _lat(value: float) -> v.Parsed:
    lo, hi = v.LAT_RANGE
    if lo <= value <= hi:
        return value, None
    hint = ". 위도와 경도가 바뀌지 않았는지 확인해 주세요" if v.LON_RANGE[0] <= value <= v.LON_RANGE[1] else ""
    return None, f"위도({v.shown(value)})가 한국 범위({lo:g}~{hi:g})를 벗어났습니다{hint}"


def _lon(value: float) -> v.Parsed:
    lo, hi = v.LON_RANGE
    if lo <= value <= hi:
        return value, None
    hint = ". 위도와 경도가 바뀌지 않았는지 확인해 주세요" if v.LAT_RANGE[0] <= value <= v.LAT_RANGE[1] else ""
    return None, f"경도({v.shown(value)})가 한국 범위({lo:g}~{hi:g})를 벗어났습니다{hint}"


def _price(value: int) -> v.Parsed:
    return (value, None) if value >= 0 else (None, f"음수 가격({value})은 허용되지 않습니다")


def _amount(value: int) -> v.Parsed:
    return (value, None) if value >= 0 else (None, f"음수 금액({value})은 허용되지 않습니다")


def _quantity(value: int) -> v.Parsed:
    return (value, None) if value >= 1 else (None, f"수량({value})은 1 이상이어야 합니다")


def _rating(value: int) -> v.Parsed:
    return (value, None) if 1 <= value <= 5 else (None, f"평점({value})은 1~5 사이의 정수여야 합니다")


def _past_day(what: str, subject: str) -> Callable[[dt.date], v.Parsed]:
    """A check for a day that has come already: ``what`` names it, ``subject`` is its particle (이/가)."""
    def check(value: dt.date) -> v.Parsed:
        if value.year < 1900:
            return None, f"{what}({value.isoformat()}){subject} 너무 옛날입니다. 날짜를 확인해 주세요"
        if value > local_today():
            return None, f"{what}({value.isoformat()}){subject} 미래 날짜입니다"
        return value, None

    return check


_birthday = _past_day("생일", "이")
#: A guardian's consent day (PIPA Art. 22-2); an empty cell: no consent.
_consent_day = _past_day("보호자 동의 날짜", "가")


def _timestamp(value: dt.datetime) -> v.Parsed:
    if 1900 <= value.year <= 2100:
        return value, None
    return None, f"날짜·시각({value.isoformat(sep=' ')})이 1900~2100년 범위를 벗어났습니다"


def _per_meal(value: int) -> v.Parsed:
    lo, hi = MEAL_CARD_PER_MEAL_RANGE
    if lo <= value <= hi:
        return value, None
    return None, f"급식카드 한 끼 금액({value:,}원)은 {lo:,}~{hi:,}원 사이여야 합니다"


def _per_day(value: int) -> v.Parsed:
    lo, hi = MEAL_CARD_PER_DAY_RANGE
    if lo <= value <= hi:
        return value, None
    return None, f"급식카드 하루 한도({value:,}원)는 {lo:,}~{hi:,}원 사이여야 합니다"


def _id(name: str = "id", required: bool = True) -> ColumnSpec:
    return ColumnSpec(name, "int", required)


SHEETS: dict[str, SheetSpec] = {
    s.name: s
    for s in (
        SheetSpec(
            "shop",
            Shop.__table__,
            "가게",
            (
                _id(),
                ColumnSpec("name", "str", True),
                ColumnSpec("category", "str", True, domain=v.parse_category),
                _id("brand_id", required=False),
                ColumnSpec("district", "str", True, domain=v.parse_district),
                ColumnSpec("dong", "str"),
                ColumnSpec("address", "str"),
                ColumnSpec("lat", "float", True, domain=_lat),
                ColumnSpec("lon", "float", True, domain=_lon),
                ColumnSpec("open_time", "time", True),
                ColumnSpec("close_time", "time", True),
                ColumnSpec("closed_days", "str", domain=v.parse_closed_days),
                ColumnSpec("is_good_shop", "bool", True),
                ColumnSpec("accepts_meal_card", "bool", True),
                ColumnSpec("phone", "str"),
                ColumnSpec("description", "text"),
                ColumnSpec("created_at", "datetime", domain=_timestamp),
            ),
            (ForeignKey("brand_id", "brand"),),
        ),
        SheetSpec(
            "shop_menu",
            ShopMenu.__table__,
            "메뉴",
            (
                _id(),
                _id("shop_id"),
                ColumnSpec("name", "str", True),
                ColumnSpec("price", "int", True, domain=_price),
                ColumnSpec("dish", "str", domain=v.parse_dish),
                ColumnSpec("is_signature", "bool", default=False),
            ),
            (ForeignKey("shop_id", "shop"),),
        ),
        SheetSpec("brand", Brand.__table__, "브랜드", (_id(), ColumnSpec("name", "str", True))),
        SheetSpec(
            "user",
            User.__table__,
            "사용자",
            (
                _id(),
                ColumnSpec("birthday", "date", True, domain=_birthday),
                ColumnSpec("gender", "str"),
                ColumnSpec("district", "str", True, domain=v.parse_district),
                ColumnSpec("dong", "str"),
                ColumnSpec("is_meal_card_holder", "bool", default=False),
                ColumnSpec("created_at", "datetime", domain=_timestamp),
                ColumnSpec("guardian_consent", "date", domain=_consent_day),
            ),
        ),
        SheetSpec(
            "product_order",
            ProductOrder.__table__,
            "주문",
            (
                _id(),
                _id("user_id"),
                _id("shop_id"),
                _id("menu_id", required=False),
                ColumnSpec("quantity", "int", default=1, domain=_quantity),
                ColumnSpec("amount", "int", True, domain=_amount),
                ColumnSpec("payment_method", "str", True, domain=v.parse_payment_method),
                ColumnSpec("ordered_at", "datetime", True, domain=_timestamp),
            ),
            (ForeignKey("user_id", "user"), ForeignKey("shop_id", "shop"), ForeignKey("menu_id", "shop_menu")),
        ),
        SheetSpec(
            "userfavorite",
            UserFavorite.__table__,
            "즐겨찾기",
            (_id(), _id("user_id"), _id("shop_id"), ColumnSpec("created_at", "datetime", True, domain=_timestamp)),
            (ForeignKey("user_id", "user"), ForeignKey("shop_id", "shop")),
        ),
        SheetSpec(
            "review",
            Review.__table__,
            "리뷰",
            (
                _id(),
                _id("user_id"),
                _id("shop_id"),
                ColumnSpec("rating", "int", True, domain=_rating),
                ColumnSpec("text", "text"),
                ColumnSpec("created_at", "datetime", True, domain=_timestamp),
            ),
            (ForeignKey("user_id", "user"), ForeignKey("shop_id", "shop")),
        ),
        SheetSpec(
            "meal_card_limit",
            MealCardLimit.__table__,
            "급식카드 금액",
            (
                ColumnSpec("district", "str", True, domain=v.parse_district),
                ColumnSpec("per_meal", "int", True, domain=_per_meal),
                ColumnSpec("per_day", "int", domain=_per_day),
            ),
            key="district",
        ),
    )
}

#: Sheets in the order the README lists them: export order and error order.
SHEET_ORDER: tuple[str, ...] = tuple(SHEETS)
#: Parents before children: insert order.
INSERT_ORDER = ("brand", "shop", "shop_menu", "user", "product_order", "userfavorite", "review", "meal_card_limit")

_PARSERS: dict[str, Callable[[Any], v.Parsed]] = {
    "int": v.parse_int,
    "float": v.parse_float,
    "str": v.parse_str,
    "text": lambda x: v.parse_str(x, strip=False),
    "bool": v.parse_bool,
    "time": v.parse_time,
    "date": v.parse_date,
    "datetime": v.parse_datetime,
}
#: Kinds whose values repeat a lot: parse each distinct value once.
_CACHED_KINDS = frozenset({"bool", "time", "date", "str"})
