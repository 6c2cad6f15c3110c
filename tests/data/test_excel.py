"""Excel/CSV import and export of the operator's tables (naviyam.data.excel).

Every database test runs on SQLite and PostgreSQL (the ``engine`` fixture).
Malformed files are imported into a database that already holds a small
world, so "nothing was written" is checked against real data.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, select, text
from sqlalchemy.exc import OperationalError

from naviyam.data import excel
from naviyam.data import validation as v
from naviyam.data.excel import SHEETS, ImportValidationError, RowError, export_workbook, import_workbook
from naviyam.data.excel import write as excel_write
from naviyam.db.models import OPERATOR_TABLES, MealCardLimit

Frames = dict[str, pd.DataFrame]


# --------------------------------------------------------------------------- a small hand-made world


def world(base: int = 0) -> Frames:
    """A valid little world; every id is offset by ``base`` so two worlds can coexist."""
    b = base
    brand = pd.DataFrame({"id": [b + 1, b + 2], "name": ["엽기분식", "꿈나무치킨"]})
    shop = pd.DataFrame(
        {
            "id": [b + 1, b + 2, b + 3, b + 4],
            "name": ["행복분식", "꿈나무치킨 강남점", "바다중식", "초록샐러드"],
            "category": ["분식", "치킨", "중식", "샐러드"],
            "brand_id": pd.array([b + 1, b + 2, None, None], dtype="Int64"),
            "district": ["마포구", "강남구", "노원구", "송파구"],
            "dong": ["서교동", "역삼동", None, "잠실동"],
            "address": ["서울 마포구 서교동 1-1", None, "서울 노원구 상계로 5", None],
            "lat": [37.5563, 37.5001, 37.6542, 37.5133],
            "lon": [126.9236, 127.0364, 127.0568, 127.1001],
            "open_time": ["10:00", "16:00", "11:00", "09:30"],
            "close_time": ["21:00", "02:00", "22:30", "20:00"],
            "closed_days": ["일", "월,화", None, "토,일"],
            "is_good_shop": [True, False, True, False],
            "accepts_meal_card": [True, True, False, True],
            "phone": ["02-123-4567", None, "02-987-6543", None],
            "description": ["떡볶이가 맛있는 착한가게", None, "짜장면 곱빼기 무료", None],
            "created_at": ["2023-01-05 09:00:00", "2023-02-10 12:30:00", None, "2023-03-01 08:00:00"],
        }
    )
    shop_menu = pd.DataFrame(
        {
            "id": [b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7, b + 8],
            "shop_id": [b + 1, b + 1, b + 2, b + 2, b + 3, b + 3, b + 4, b + 4],
            "name": ["국물떡볶이", "야채김밥", "후라이드치킨", "양념치킨", "짜장면", "짬뽕", "닭가슴살샐러드", "오늘의 수프"],
            "price": [4000, 3000, 18000, 19000, 7000, 8000, 9500, 5000],
            "dish": ["떡볶이", "김밥", "후라이드치킨", "양념치킨", "짜장면", "짬뽕", "닭가슴살샐러드", None],
            "is_signature": [True, False, True, False, True, False, True, False],
        }
    )
    user = pd.DataFrame(
        {
            "id": [b + 1, b + 2, b + 3],
            "birthday": ["2012-03-05", "2010-11-30", "2014-07-01"],
            "gender": ["F", "M", None],
            "district": ["마포구", "강남구", "노원구"],
            "dong": ["서교동", None, "상계동"],
            "is_meal_card_holder": [True, False, True],
            "created_at": ["2024-01-02 10:00:00", None, "2024-02-03 11:11:11"],
        }
    )
    product_order = pd.DataFrame(
        {
            "id": [b + 1, b + 2, b + 3, b + 4, b + 5],
            "user_id": [b + 1, b + 1, b + 2, b + 3, b + 3],
            "shop_id": [b + 1, b + 3, b + 2, b + 4, b + 1],
            "menu_id": pd.array([b + 1, b + 5, b + 3, None, b + 2], dtype="Int64"),
            "quantity": [1, 2, 1, 1, 3],
            "amount": [4000, 14000, 18000, 9500, 9000],
            "payment_method": ["meal_card", "card", "cash", "coupon", "meal_card"],
            "ordered_at": [
                "2024-03-01 12:10:00",
                "2024-03-02 18:30:00",
                "2024-03-03 19:00:00",
                "2024-03-04 12:00:00",
                "2024-03-05 13:15:00",
            ],
        }
    )
    userfavorite = pd.DataFrame(
        {
            "id": [b + 1, b + 2, b + 3],
            "user_id": [b + 1, b + 2, b + 3],
            "shop_id": [b + 1, b + 2, b + 4],
            "created_at": ["2024-03-01 12:30:00", "2024-03-03 20:00:00", "2024-03-04 13:00:00"],
        }
    )
    review = pd.DataFrame(
        {
            "id": [b + 1, b + 2, b + 3],
            "user_id": [b + 1, b + 2, b + 3],
            "shop_id": [b + 1, b + 2, b + 4],
            "rating": [5, 4, 2],
            "text": ["떡볶이가 안 매워서 좋아요!\n또 올게요", None, "조금 싱거웠어요"],
            "created_at": ["2024-03-01 13:00:00", "2024-03-03 21:00:00", "2024-03-04 14:00:00"],
        }
    )
    return {
        "shop": shop,
        "shop_menu": shop_menu,
        "brand": brand,
        "user": user,
        "product_order": product_order,
        "userfavorite": userfavorite,
        "review": review,
    }


def write_xlsx(frames: Frames, path: Path, titles: dict[str, str] | None = None) -> Path:
    titles = titles or {}
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, frame in frames.items():
            frame.to_excel(writer, sheet_name=titles.get(name, name), index=False)
    return path


def write_csv_dir(frames: Frames, folder: Path, *, bom: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        frame.to_csv(folder / f"{name}.csv", index=False, encoding="utf-8-sig" if bom else "utf-8")
    return folder


def snapshot(engine: Engine) -> dict[str, list[tuple]]:
    """Every operator table, every row, ordered by id."""
    with engine.connect() as conn:
        return {
            m.__tablename__: [tuple(r) for r in conn.execute(select(m.__table__).order_by(m.__table__.c.id))]
            for m in OPERATOR_TABLES
        }


def clear(engine: Engine) -> None:
    with engine.begin() as conn:
        for m in reversed(OPERATOR_TABLES):
            conn.execute(delete(m.__table__))


@pytest.fixture
def populated(engine: Engine, tmp_path: Path) -> Engine:
    """A database already holding world(0)."""
    import_workbook(engine, write_xlsx(world(), tmp_path / "base.xlsx"))
    return engine


# --------------------------------------------------------------------------- valid imports


def test_import_counts_and_values(engine: Engine, tmp_path: Path) -> None:
    counts = import_workbook(engine, write_xlsx(world(), tmp_path / "w.xlsx"))
    assert counts == {
        "shop": 4, "shop_menu": 8, "brand": 2, "user": 3, "product_order": 5, "userfavorite": 3, "review": 3,
    }
    assert counts.warnings == []
    snap = snapshot(engine)
    shop1 = snap["shop"][0]
    assert shop1[:5] == (1, "행복분식", "분식", 1, "마포구")
    assert shop1[9:14] == (dt.time(10, 0), dt.time(21, 0), "일", True, True)
    assert shop1[16] == dt.datetime(2023, 1, 5, 9, 0)
    assert snap["shop"][2][3] is None  # empty brand_id
    assert snap["user"][0][1] == dt.date(2012, 3, 5)
    assert snap["product_order"][3][3] is None  # order without menu
    assert snap["review"][0][4] == "떡볶이가 안 매워서 좋아요!\n또 올게요"


@pytest.mark.parametrize("bom", [True, False])
def test_import_csv_folder(engine: Engine, tmp_path: Path, bom: bool) -> None:
    counts = import_workbook(engine, write_csv_dir(world(), tmp_path / "csv", bom=bom))
    assert sum(counts.values()) == 28
    assert snapshot(engine)["shop"][0][1] == "행복분식"


def test_sheet_and_column_names_are_forgiving_and_extras_warned(engine: Engine, tmp_path: Path, caplog) -> None:
    frames = world()
    frames["shop"] = frames["shop"].rename(columns={"id": " ID ", "name": "Name"})
    frames["shop"]["memo"] = "비고"
    frames["notes"] = pd.DataFrame({"a": [1]})
    path = write_xlsx(frames, tmp_path / "w.xlsx", titles={"shop": "  Shop ", "review": "REVIEW"})
    with caplog.at_level(logging.WARNING, logger="naviyam.data.excel"):
        counts = import_workbook(engine, path)
    assert counts["shop"] == 4 and counts["review"] == 3
    assert RowError("shop", 1, "memo", "알 수 없는 열이라서 무시했습니다") in counts.warnings
    assert any(w.sheet == "notes" and w.row is None for w in counts.warnings)
    assert "memo" in caplog.text


def test_optional_columns_may_be_absent(engine: Engine, tmp_path: Path) -> None:
    frames = world()
    frames["shop"] = frames["shop"].drop(
        columns=["brand_id", "dong", "address", "closed_days", "phone", "description", "created_at"]
    )
    frames["shop_menu"] = frames["shop_menu"].drop(columns=["dish", "is_signature"])
    frames["product_order"] = frames["product_order"].drop(columns=["menu_id", "quantity"])
    del frames["brand"]
    counts = import_workbook(engine, write_xlsx(frames, tmp_path / "w.xlsx"))
    assert "brand" not in counts
    snap = snapshot(engine)
    assert snap["shop_menu"][0][4:] == (None, False)
    assert snap["product_order"][0][3:5] == (None, 1)


def test_accepted_spellings(engine: Engine, tmp_path: Path) -> None:
    """Excel time cells, 24:00, HH:MM:SS, boolean words, weekday spellings, 서울 prefixes, money with commas."""
    frames = world()
    shop = frames["shop"].astype(object)
    shop["open_time"] = [dt.time(10, 0), "9:05", "11:00:30", "10:00"]
    shop["close_time"] = ["24:00", "02:00", "22:30", dt.time(20, 0)]
    shop["closed_days"] = ["일요일", "mon/Tue", "연중무휴", "토일"]
    shop["is_good_shop"] = ["예", "X", "y", 0]
    shop["accepts_meal_card"] = ["O", "아니오", 1, "TRUE"]
    shop["district"] = ["서울특별시 마포구", "강남", "노원구", "서울 송파구"]
    frames["shop"] = shop
    menu = frames["shop_menu"].astype(object)
    menu["price"] = ["4,000", "3000원", 18000.0, "19000", 7000, 8000, 9500, 5000]
    frames["shop_menu"] = menu
    order = frames["product_order"].astype(object)
    order["payment_method"] = ["급식카드", "Card", "현금", "쿠폰", " meal_card "]
    order["ordered_at"] = [
        dt.datetime(2024, 3, 1, 12, 10), "2024/03/02 18:30", "2024-03-03T19:00:00", "2024.03.04",
        "2024-03-05 13:15:00.250000",
    ]
    frames["product_order"] = order
    import_workbook(engine, write_xlsx(frames, tmp_path / "w.xlsx"))
    snap = snapshot(engine)
    assert [r[9] for r in snap["shop"]] == [dt.time(10), dt.time(9, 5), dt.time(11, 0, 30), dt.time(10)]
    assert [r[10] for r in snap["shop"]] == [dt.time(0), dt.time(2), dt.time(22, 30), dt.time(20)]
    assert [r[11] for r in snap["shop"]] == ["일", "월,화", None, "토,일"]
    assert [r[12] for r in snap["shop"]] == [True, False, True, False]
    assert [r[13] for r in snap["shop"]] == [True, False, True, True]
    assert [r[4] for r in snap["shop"]] == ["마포구", "강남구", "노원구", "송파구"]
    assert [r[3] for r in snap["shop_menu"]][:3] == [4000, 3000, 18000]
    assert [r[6] for r in snap["product_order"]] == ["meal_card", "card", "cash", "coupon", "meal_card"]
    assert [r[7] for r in snap["product_order"]] == [
        dt.datetime(2024, 3, 1, 12, 10), dt.datetime(2024, 3, 2, 18, 30), dt.datetime(2024, 3, 3, 19),
        dt.datetime(2024, 3, 4), dt.datetime(2024, 3, 5, 13, 15, 0, 250000),
    ]


def test_partial_workbook_resolves_keys_in_database(populated: Engine, tmp_path: Path) -> None:
    """A file with only new reviews and orders for users and shops already in the database."""
    frames = world(100)
    review = frames["review"].assign(user_id=[1, 2, 3], shop_id=[1, 2, 4])
    order = frames["product_order"].assign(user_id=[1, 1, 2, 3, 3], shop_id=[1, 3, 2, 4, 1], menu_id=[1, 5, 3, None, 2])
    counts = import_workbook(populated, write_xlsx({"review": review, "product_order": order}, tmp_path / "w.xlsx"))
    assert counts == {"product_order": 5, "review": 3}
    assert len(snapshot(populated)["review"]) == 6


def test_second_world_on_top(populated: Engine, tmp_path: Path) -> None:
    import_workbook(populated, write_xlsx(world(100), tmp_path / "w.xlsx"))
    assert len(snapshot(populated)["shop"]) == 8


# --------------------------------------------------------------------------- round trips


def tricky_world() -> Frames:
    """world() plus values that get lost easily: formulas, error codes, seconds, midnight, numbers as text."""
    frames = world()
    shop = frames["shop"].astype(object)
    shop.loc[0, "name"] = "=HYPERLINK(\"x\")"
    shop.loc[1, "name"] = "1004"
    shop.loc[2, "name"] = "#N/A"
    shop.loc[1, "close_time"] = "24:00"
    shop.loc[2, "open_time"] = "11:00:30"
    shop.loc[0, "phone"] = "010-0000-1234"
    shop.loc[3, "description"] = "  앞뒤 공백과\t탭 그리고 \"따옴표\", 쉼표  "
    shop.loc[3, "lat"] = 37.51330000000001
    frames["shop"] = shop
    review = frames["review"].astype(object)
    review.loc[0, "text"] = "웹에서 쓴 리뷰\r\n두 줄\x07 그리고 _x0041_ 글자 그대로"
    frames["review"] = review
    order = frames["product_order"].astype(object)
    order.loc[0, "ordered_at"] = "2024-03-01 12:10:00.123456"
    frames["product_order"] = order
    user = frames["user"].astype(object)
    user.loc[0, "gender"] = "0"
    frames["user"] = user
    return frames


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_export_then_import_reproduces_everything(engine: Engine, tmp_path: Path, fmt: str) -> None:
    # CSV in: pandas would write "=..." to a workbook as a formula.
    import_workbook(engine, write_csv_dir(tricky_world(), tmp_path / "in"))
    before = snapshot(engine)
    assert before["shop"][0][1] == '=HYPERLINK("x")' and before["shop"][2][1] == "#N/A"
    assert before["review"][0][4] == "웹에서 쓴 리뷰\r\n두 줄\x07 그리고 _x0041_ 글자 그대로"
    target = tmp_path / ("out.xlsx" if fmt == "xlsx" else "out")
    counts = export_workbook(engine, target)
    assert counts == {k: len(before.get(SHEETS[k].table.name, ())) for k in excel.SHEET_ORDER}
    clear(engine)
    assert import_workbook(engine, target) == counts
    assert snapshot(engine) == before


def test_export_columns_and_formats(engine: Engine, tmp_path: Path) -> None:
    import_workbook(engine, write_xlsx(world(), tmp_path / "in.xlsx"))
    export_workbook(engine, tmp_path / "out.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "out.xlsx", read_only=True)
    assert wb.sheetnames == ["shop", "shop_menu", "brand", "user", "product_order", "userfavorite", "review",
                             "meal_card_limit"]
    rows = list(wb["shop"].iter_rows(values_only=True))
    assert list(rows[0]) == SHEETS["shop"].column_names
    assert rows[1][9:14] == ("10:00", "21:00", "일", True, True)
    assert rows[1][16] == "2023-01-05 09:00:00"
    export_workbook(engine, tmp_path / "csv")
    text = (tmp_path / "csv" / "user.csv").read_bytes()
    assert text.startswith(b"\xef\xbb\xbf")
    lines = text.decode("utf-8-sig").splitlines()
    assert lines[0] == "id,birthday,gender,district,dong,is_meal_card_holder,created_at,guardian_consent"
    assert lines[1] == "1,2012-03-05,F,마포구,서교동,TRUE,2024-01-02 10:00:00,"
    with pytest.raises(ValueError):
        export_workbook(engine, tmp_path / "out.xls")


def test_generated_world_round_trip(engine: Engine, tmp_path: Path) -> None:
    from naviyam.data.generate import generate_world

    generate_world(engine, seed=7, shops=60, users=100, days=14)
    before = snapshot(engine)
    assert before["shop"] and before["product_order"]
    export_workbook(engine, tmp_path / "gen.xlsx")
    clear(engine)
    import_workbook(engine, tmp_path / "gen.xlsx")
    assert snapshot(engine) == before


# --------------------------------------------------------------------------- malformed files

Case = Callable[[Frames, Path], Path]


def _mutate(fn: Callable[[Frames], None]) -> Case:
    def case(frames: Frames, tmp: Path) -> Path:
        fn(frames)
        return write_xlsx(frames, tmp / "bad.xlsx")

    return case


def _set(sheet: str, index: int, column: str, value) -> Case:
    def fn(frames: Frames) -> None:
        frame = frames[sheet].astype(object)
        frame.loc[index, column] = value
        frames[sheet] = frame

    return _mutate(fn)


def _append(sheet: str, **values) -> Case:
    def fn(frames: Frames) -> None:
        frames[sheet] = pd.concat([frames[sheet], pd.DataFrame([values])], ignore_index=True)

    return _mutate(fn)


def _drop_column(sheet: str, column: str) -> Case:
    def fn(frames: Frames) -> None:
        frames[sheet] = frames[sheet].drop(columns=[column])

    return _mutate(fn)


def _garbage(frames: Frames, tmp: Path) -> Path:
    path = tmp / "bad.xlsx"
    path.write_bytes(b"id,name\n1,this is not a workbook\n")
    return path


def _truncated_zip(frames: Frames, tmp: Path) -> Path:
    good = write_xlsx(frames, tmp / "good.xlsx").read_bytes()
    path = tmp / "bad.xlsx"
    path.write_bytes(good[: len(good) // 2])
    return path


def _zip_without_workbook(frames: Frames, tmp: Path) -> Path:
    path = tmp / "bad.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("hello.txt", "not a workbook")
    return path


def _empty_workbook(frames: Frames, tmp: Path) -> Path:
    path = tmp / "bad.xlsx"
    openpyxl.Workbook().save(path)
    return path


def _no_header(frames: Frames, tmp: Path) -> Path:
    path = tmp / "bad.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "brand"
    ws.append([])
    ws.append([901, "헤더 없는 브랜드"])
    wb.save(path)
    return path


def _csv_not_utf8(frames: Frames, tmp: Path) -> Path:
    folder = tmp / "csv"
    folder.mkdir()
    (folder / "brand.csv").write_bytes("id,name\n901,엽기떡볶이\n".encode("cp949"))
    return folder


def _m(sheet: str, index: int) -> tuple[str, int]:
    return sheet, index + 2  # DataFrame index -> Excel row (header is row 1)


# (case, expected (sheet, row, column), words the message must contain)
MALFORMED: dict[str, tuple[Case, tuple[str, int | None, str | None], str]] = {
    "missing_required_column": (_drop_column("shop", "lat"), ("shop", 1, "lat"), "필수 열"),
    # children's shop_id would all be unknown: not reported again, the shop sheet is the problem
    "missing_id_column_no_cascade": (_drop_column("shop", "id"), ("shop", 1, "id"), "필수 열"),
    "wrong_type_price": (_set("shop_menu", 2, "price", "비쌈"), (*_m("shop_menu", 2), "price"), "'비쌈'"),
    "wrong_type_lat": (_set("shop", 1, "lat", "서울"), (*_m("shop", 1), "lat"), "숫자"),
    "unknown_foreign_key": (_set("shop_menu", 3, "shop_id", 9999), (*_m("shop_menu", 3), "shop_id"), "9999"),
    "unknown_user": (_set("review", 0, "user_id", 777), (*_m("review", 0), "user_id"), "사용자 id(777)"),
    "unknown_brand": (_set("shop", 0, "brand_id", 55), (*_m("shop", 0), "brand_id"), "브랜드"),
    "unknown_menu": (_set("product_order", 1, "menu_id", 99999), (*_m("product_order", 1), "menu_id"), "99999"),
    "duplicate_id": (
        _append("user", id=101, birthday="2011-01-01", district="중구"), ("user", 5, "id"), "2행",
    ),
    "impossible_time_25": (_set("shop", 0, "open_time", "25:00"), (*_m("shop", 0), "open_time"), "'25:00'"),
    "impossible_time_12_70": (_set("shop", 2, "close_time", "12:70"), (*_m("shop", 2), "close_time"), "'12:70'"),
    "negative_price": (
        _set("shop_menu", 1, "price", -500), (*_m("shop_menu", 1), "price"), "음수 가격(-500)은 허용되지 않습니다",
    ),
    "negative_amount": (_set("product_order", 2, "amount", -1), (*_m("product_order", 2), "amount"), "음수 금액"),
    "zero_quantity": (_set("product_order", 2, "quantity", 0), (*_m("product_order", 2), "quantity"), "수량"),
    "bad_rating": (_set("review", 1, "rating", 7), (*_m("review", 1), "rating"), "1~5"),
    "fractional_rating": (_set("review", 1, "rating", 4.5), (*_m("review", 1), "rating"), "정수"),
    "bad_payment_method": (
        _set("product_order", 4, "payment_method", "bitcoin"), (*_m("product_order", 4), "payment_method"), "meal_card",
    ),
    "bad_boolean": (_set("shop", 3, "is_good_shop", "maybe"), (*_m("shop", 3), "is_good_shop"), "예/아니오"),
    "unknown_category": (_set("shop", 1, "category", "퓨전"), (*_m("shop", 1), "category"), "한식, 분식"),
    "category_alias_hint": (_set("shop", 2, "category", "중국집"), (*_m("shop", 2), "category"), "'중식'"),
    "unknown_district": (_set("user", 1, "district", "수원시"), (*_m("user", 1), "district"), "25개 구"),
    "unknown_dish": (_set("shop_menu", 0, "dish", "우주떡볶이"), (*_m("shop_menu", 0), "dish"), "요리"),
    "lat_outside_korea": (_set("shop", 0, "lat", 12.5), (*_m("shop", 0), "lat"), "33~39"),
    "lat_lon_swapped": (_set("shop", 0, "lon", 37.55), (*_m("shop", 0), "lon"), "바뀌지"),
    "bad_closed_days": (_set("shop", 0, "closed_days", "월,공휴일"), (*_m("shop", 0), "closed_days"), "공휴일"),
    "bad_birthday": (_set("user", 0, "birthday", "2012-13-40"), (*_m("user", 0), "birthday"), "2012-13-40"),
    "future_birthday": (_set("user", 0, "birthday", "2999-01-01"), (*_m("user", 0), "birthday"), "미래"),
    "bad_consent_date": (
        _set("user", 1, "guardian_consent", "2026-02-30"), (*_m("user", 1), "guardian_consent"), "2026-02-30",
    ),
    "future_consent_date": (
        _set("user", 2, "guardian_consent", "2999-01-01"), (*_m("user", 2), "guardian_consent"), "보호자 동의",
    ),
    "bad_datetime": (_set("review", 0, "created_at", "어제 저녁"), (*_m("review", 0), "created_at"), "YYYY-MM-DD"),
    "empty_required_cell": (_set("shop_menu", 0, "name", None), (*_m("shop_menu", 0), "name"), "비어"),
    "too_long_text": (_set("brand", 0, "name", "가" * 201), (*_m("brand", 0), "name"), "200자"),
    "order_menu_of_another_shop": (
        _set("product_order", 0, "menu_id", 103), (*_m("product_order", 0), "menu_id"), "가게 102의 메뉴",
    ),
    "order_menu_of_another_shop_in_db": (
        _set("product_order", 0, "menu_id", 3), (*_m("product_order", 0), "menu_id"), "가게 2의 메뉴",
    ),
    "non_xlsx_garbage": (_garbage, ("-", None, None), "엑셀(.xlsx) 파일이 아닙니다"),
    "corrupted_zip": (_truncated_zip, ("-", None, None), "손상"),
    "zip_without_workbook": (_zip_without_workbook, ("-", None, None), "열 수 없습니다"),
    "empty_workbook": (_empty_workbook, ("-", None, None), "시트 이름"),
    "sheet_without_header": (_no_header, ("brand", 1, None), "머리글"),
    "csv_not_utf8": (_csv_not_utf8, ("-", None, None), "UTF-8"),
}


def _assert_refused_unchanged(engine: Engine, tmp: Path, case: str) -> None:
    make, expected, words = MALFORMED[case]
    path = make(world(100), tmp)
    before = snapshot(engine)
    with pytest.raises(ImportValidationError) as info:
        import_workbook(engine, path)
    errors = info.value.errors
    assert [(e.sheet, e.row, e.column) for e in errors] == [expected], [str(e) for e in errors]
    assert words in errors[0].message
    assert str(errors[0]).startswith("파일: " if expected[0] == "-" else f"{expected[0]} 시트")
    assert snapshot(engine) == before


@pytest.fixture
def populated_sqlite(sqlite_engine: Engine, tmp_path: Path) -> Engine:
    import_workbook(sqlite_engine, write_xlsx(world(), tmp_path / "base.xlsx"))
    return sqlite_engine


@pytest.mark.parametrize("case", list(MALFORMED), ids=list(MALFORMED))
def test_malformed_file_is_refused_and_nothing_written(populated_sqlite: Engine, tmp_path: Path, case: str) -> None:
    """One test per case (SQLite: cheap to set up); the next test runs them all on both backends."""
    _assert_refused_unchanged(populated_sqlite, tmp_path, case)


def test_malformed_files_on_both_backends(populated: Engine, tmp_path: Path) -> None:
    """Every malformed case against one populated database per backend (PostgreSQL included)."""
    failures = []
    for case in MALFORMED:
        folder = tmp_path / case
        folder.mkdir()
        try:
            _assert_refused_unchanged(populated, folder, case)
        except AssertionError as exc:
            failures.append(f"{case}: {exc}")
    assert not failures, "\n".join(failures)


def test_error_text_format() -> None:
    e = RowError("shop", 5, "price", "음수 가격(-500)은 허용되지 않습니다")
    assert str(e) == "shop 시트 5행 price 열: 음수 가격(-500)은 허용되지 않습니다"
    assert str(RowError("-", None, None, "엑셀 파일이 아닙니다")) == "파일: 엑셀 파일이 아닙니다"
    assert str(RowError("shop", 1, None, "x")) == "shop 시트 1행: x"


def test_every_error_of_every_sheet_is_collected(populated: Engine, tmp_path: Path) -> None:
    frames = world(100)
    for sheet, index, column, value in [
        ("review", 2, "rating", 0),
        ("shop", 0, "open_time", "12:70"),
        ("shop", 3, "district", "부산"),
        ("product_order", 1, "payment_method", "외상"),
        ("user", 2, "is_meal_card_holder", "글쎄"),
        ("shop_menu", 3, "shop_id", 9999),
    ]:
        frame = frames[sheet].astype(object)
        frame.loc[index, column] = value
        frames[sheet] = frame
    frames["brand"] = pd.concat([frames["brand"], pd.DataFrame([{"id": 102, "name": "겹치는 id"}])], ignore_index=True)
    before = snapshot(populated)
    with pytest.raises(ImportValidationError) as info:
        import_workbook(populated, write_xlsx(frames, tmp_path / "bad.xlsx"))
    # cell errors, a reference error and an id twice in one sheet, all in one report, in sheet order
    assert [(e.sheet, e.row, e.column) for e in info.value.errors] == [
        ("shop", 2, "open_time"),
        ("shop", 5, "district"),
        ("shop_menu", 5, "shop_id"),
        ("brand", 4, "id"),
        ("user", 4, "is_meal_card_holder"),
        ("product_order", 3, "payment_method"),
        ("review", 4, "rating"),
    ]
    assert "문제 7건" in str(info.value)
    assert snapshot(populated) == before


def test_importing_the_same_file_twice_changes_nothing(populated: Engine, tmp_path: Path) -> None:
    before = snapshot(populated)
    result = import_workbook(populated, write_xlsx(world(), tmp_path / "again.xlsx"))
    assert snapshot(populated) == before
    assert {k: (c.added, c.changed, c.deleted) for k, c in result.changes.items()} == {k: (0, 0, 0) for k in result}
    assert {k: c.unchanged for k, c in result.changes.items()} == dict(result)


def test_upsert_adds_new_ids_updates_changed_rows_and_leaves_the_rest(populated: Engine, tmp_path: Path) -> None:
    frames = world()
    frames["shop_menu"].loc[0, "price"] = 4500  # a price goes up
    frames["shop"].loc[1, "open_time"] = "17:00"  # an opening hour moves
    frames["shop"] = pd.concat([frames["shop"], world(50)["shop"].iloc[[2]]], ignore_index=True)  # a new shop
    result = import_workbook(populated, write_xlsx(frames, tmp_path / "week2.xlsx"))
    c = result.changes
    assert (c["shop"].added, c["shop"].changed, c["shop"].unchanged) == (1, 1, 3)
    assert (c["shop_menu"].added, c["shop_menu"].changed, c["shop_menu"].unchanged) == (0, 1, 7)
    assert all(x.deleted == 0 and x.cascaded == 0 for x in c.values())
    with populated.connect() as conn:
        assert conn.execute(text("SELECT price FROM shop_menu WHERE id = 1")).scalar() == 4500
        assert str(conn.execute(text("SELECT open_time FROM shop WHERE id = 2")).scalar())[:5] == "17:00"
        assert conn.execute(text("SELECT name FROM shop WHERE id = 53")).scalar() == "바다중식"


def test_a_partial_file_updates_only_the_columns_it_has(populated: Engine, tmp_path: Path) -> None:
    menus = world()["shop_menu"][["id", "shop_id", "name", "price"]].copy()
    menus.loc[2, "price"] = 17000
    result = import_workbook(populated, write_xlsx({"shop_menu": menus}, tmp_path / "prices.xlsx"))
    assert result.changes["shop_menu"].changed == 1
    with populated.connect() as conn:
        row = conn.execute(text("SELECT price, dish, is_signature FROM shop_menu WHERE id = 3")).one()
    assert tuple(row) == (17000, "후라이드치킨", True)  # columns absent from the file keep their values


def test_replace_deletes_missing_rows_with_their_dependants(populated: Engine, tmp_path: Path) -> None:
    frames = world()
    frames["shop"] = frames["shop"][frames["shop"]["id"] != 1].reset_index(drop=True)  # shop 1 closes for good
    frames["brand"] = frames["brand"][frames["brand"]["id"] != 1].reset_index(drop=True)
    for name in ("shop_menu", "product_order", "userfavorite", "review"):
        del frames[name]  # sheets not in the file are not emptied, only reached through what they belong to
    frames["shop"] = frames["shop"].assign(brand_id=pd.array([2, None, None], dtype="Int64"))
    before = snapshot(populated)
    result = import_workbook(populated, write_xlsx(frames, tmp_path / "w.xlsx"), replace=True)
    after = snapshot(populated)
    assert result.changes["shop"].deleted == 1 and result.changes["brand"].deleted == 1
    assert result.changes["shop_menu"].cascaded == 2  # shop 1's two menus
    gone_orders = [r for r in before["product_order"] if r[2] == 1]
    assert result.changes["product_order"].cascaded == len(gone_orders) > 0
    assert [r[0] for r in after["shop"]] == [2, 3, 4]
    assert all(r[1] != 1 for r in after["shop_menu"]) and all(r[2] != 1 for r in after["product_order"])
    assert all(r[2] != 1 for r in after["review"]) and all(r[2] != 1 for r in after["userfavorite"])
    assert len(after["product_order"]) == len(before["product_order"]) - len(gone_orders)


def test_replace_refuses_references_to_rows_it_would_delete(populated: Engine, tmp_path: Path) -> None:
    frames = world()
    frames["shop"] = frames["shop"][frames["shop"]["id"] != 4].reset_index(drop=True)  # menus 7, 8 still point at 4
    before = snapshot(populated)
    with pytest.raises(ImportValidationError) as info:
        import_workbook(populated, write_xlsx(frames, tmp_path / "w.xlsx"), replace=True)
    assert {(e.sheet, e.column) for e in info.value.errors} >= {("shop_menu", "shop_id")}
    assert "--replace" in info.value.errors[0].message or any("--replace" in e.message for e in info.value.errors)
    assert snapshot(populated) == before


def test_validate_checks_everything_and_writes_nothing(populated: Engine, tmp_path: Path) -> None:
    frames = world()
    frames["shop_menu"].loc[0, "price"] = 4500
    frames["shop"] = frames["shop"][frames["shop"]["id"] != 3].reset_index(drop=True)
    frames["shop_menu"] = frames["shop_menu"][frames["shop_menu"]["shop_id"] != 3].reset_index(drop=True)
    for name in ("product_order", "userfavorite", "review"):
        del frames[name]
    before = snapshot(populated)
    result = import_workbook(populated, write_xlsx(frames, tmp_path / "w.xlsx"), replace=True, dry_run=True)
    assert result.dry_run and result.changes["shop_menu"].changed == 1 and result.changes["shop"].deleted == 1
    assert snapshot(populated) == before


def test_missing_parent_sheet_with_empty_database(engine: Engine, tmp_path: Path) -> None:
    frames = world()
    with pytest.raises(ImportValidationError) as info:
        import_workbook(engine, write_xlsx({"shop_menu": frames["shop_menu"]}, tmp_path / "w.xlsx"))
    assert [(e.sheet, e.row, e.column) for e in info.value.errors] == [("shop_menu", None, "shop_id")]
    assert "shop 시트" in info.value.errors[0].message
    assert snapshot(engine) == {m.__tablename__: [] for m in OPERATOR_TABLES}


def test_database_error_midway_rolls_back(populated: Engine, tmp_path: Path, monkeypatch) -> None:
    real_insert = excel_write._insert_rows

    def failing_insert(conn, table, names, rows):
        if table.name == "user":
            raise OperationalError("INSERT INTO user ...", {}, Exception("disk full"))
        return real_insert(conn, table, names, rows)

    monkeypatch.setattr(excel_write, "_insert_rows", failing_insert)
    before = snapshot(populated)
    with pytest.raises(ImportValidationError) as info:
        import_workbook(populated, write_xlsx(world(100), tmp_path / "w.xlsx"))
    assert [(e.sheet, e.row) for e in info.value.errors] == [("user", None)]
    assert "disk full" in info.value.errors[0].message
    assert snapshot(populated) == before  # brand, shop and shop_menu were inserted, then rolled back


def test_database_refusal_midway_rolls_back(populated: Engine, tmp_path: Path, monkeypatch) -> None:
    """With the reference check switched off, the database itself refuses a row after earlier sheets went in."""
    monkeypatch.setattr(excel_write, "_check_references", lambda conn, parsed, broken, errors, replace=False: None)
    frames = world(100)
    frames["review"] = frames["review"].assign(user_id=[101, 102, 999])
    before = snapshot(populated)
    with pytest.raises(ImportValidationError) as info:
        import_workbook(populated, write_xlsx(frames, tmp_path / "w.xlsx"))
    assert [(e.sheet, e.row) for e in info.value.errors] == [("review", None)]
    assert "데이터베이스" in info.value.errors[0].message
    assert snapshot(populated) == before


def test_missing_path(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(ImportValidationError) as info:
        import_workbook(engine, tmp_path / "nope.xlsx")
    assert info.value.errors[0].sheet == "-"


def test_large_import_is_chunked(engine: Engine, tmp_path: Path) -> None:
    """Several insert chunks; a duplicate on the last row still refuses the whole file."""
    frames = world()
    n = 1200
    frames["product_order"] = pd.DataFrame(
        {
            "id": range(1, n + 1),
            "user_id": [1 + i % 3 for i in range(n)],
            "shop_id": [1] * n,
            "menu_id": [1 + i % 2 for i in range(n)],
            "quantity": [1] * n,
            "amount": [4000] * n,
            "payment_method": ["meal_card"] * n,
            "ordered_at": [f"2024-03-01 12:{i % 60:02d}:00" for i in range(n)],
        }
    )
    folder = write_csv_dir(frames, tmp_path / "csv")
    assert import_workbook(engine, folder, chunk_size=500)["product_order"] == n
    clear(engine)
    frames["product_order"].loc[n - 1, "id"] = 1
    with pytest.raises(ImportValidationError) as info:
        import_workbook(engine, write_csv_dir(frames, tmp_path / "csv2"), chunk_size=500)
    assert [(e.sheet, e.row, e.column) for e in info.value.errors] == [("product_order", n + 1, "id")]
    assert snapshot(engine) == {m.__tablename__: [] for m in OPERATOR_TABLES}


# --------------------------------------------------------------------------- random corruption

_CELL_VALUES = st.one_of(
    st.none(),
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=12),
    st.sampled_from(["", " ", "-1", "0", "24:00", "99:99", "TRUE", "예", "#N/A", "=1+1", "1e309", "NaN", "월,일", "3.5"]),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(2200, 1, 1)),
    st.times(),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(data=st.data())
def test_random_corruption_never_escapes(engine: Engine, tmp_path_factory, data) -> None:
    frames = {k: f.astype(object) for k, f in world().items()}
    for _ in range(data.draw(st.integers(1, 3), label="cells")):
        sheet = data.draw(st.sampled_from(sorted(frames)), label="sheet")
        frame = frames[sheet]
        row = data.draw(st.integers(0, len(frame) - 1), label="row")
        column = data.draw(st.sampled_from(list(frame.columns)), label="column")
        frame.loc[row, column] = data.draw(_CELL_VALUES, label="value")
    folder = tmp_path_factory.mktemp("h")
    if data.draw(st.booleans(), label="csv"):
        path = write_csv_dir(frames, folder / "csv")
    else:
        path = write_xlsx(frames, folder / "w.xlsx")
    try:
        import_workbook(engine, path)
    except ImportValidationError as exc:
        event("refused")
        assert exc.errors and all(isinstance(e, RowError) for e in exc.errors)
        assert snapshot(engine) == {m.__tablename__: [] for m in OPERATOR_TABLES}
    else:
        event("imported")
        clear(engine)


# --------------------------------------------------------------------------- cell parsers (no database)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("월", "월"), ("월,화", "월,화"), ("월요일", "월"), ("토/일", "토,일"), ("mon", "월"),
        ("Sat, sunday", "토,일"), ("일,월", "월,일"), ("화·목", "화,목"), ("월~수", "월,화,수"),
        ("주말", "토,일"), ("매주 월요일 휴무", "월"), ("없음", None), ("연중무휴", None),
    ],
)
def test_closed_days_spellings(raw: str, expected: str | None) -> None:
    assert v.parse_closed_days(raw) == (expected, None)


@pytest.mark.parametrize("raw", ["공휴일", "월,xyz", "금~월"])
def test_closed_days_unknown(raw: str) -> None:
    value, message = v.parse_closed_days(raw)
    assert value is None and message


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("09:30", dt.time(9, 30)), ("9:30", dt.time(9, 30)), ("23:59:59", dt.time(23, 59, 59)),
        ("24:00", dt.time(0)), ("24:00:00", dt.time(0)), (dt.time(7, 15), dt.time(7, 15)),
        (dt.datetime(1899, 12, 30, 7, 15), dt.time(7, 15)), (dt.timedelta(hours=24), dt.time(0)),
    ],
)
def test_time_accepted(raw, expected) -> None:
    assert v.parse_time(raw) == (expected, None)


@pytest.mark.parametrize("raw", ["25:00", "12:70", "24:30", "12:00:60", "noon", "", 9, 0.5, dt.datetime(2024, 1, 1, 9)])
def test_time_refused(raw) -> None:
    value, message = v.parse_time(raw)
    assert value is None and message


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(True, True), ("FALSE", False), ("1", True), (0, False), ("Y", True), ("n", False),
     ("예", True), ("아니오", False), ("O", True), ("x", False), (1.0, True)],
)
def test_bool_accepted(raw, expected) -> None:
    assert v.parse_bool(raw) == (expected, None)


@pytest.mark.parametrize("raw", ["maybe", 2, "", "참"])
def test_bool_refused(raw) -> None:
    assert v.parse_bool(raw)[1]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(5, 5), ("12", 12), (" 1,200 ", 1200), ("3000원", 3000), (7.0, 7), ("8.0", 8)],
)
def test_int_accepted(raw, expected) -> None:
    assert v.parse_int(raw) == (expected, None)


@pytest.mark.parametrize("raw", [True, 1.5, "abc", "1e400", float("nan"), 2**40, dt.date(2024, 1, 1)])
def test_int_refused(raw) -> None:
    assert v.parse_int(raw)[1]


def test_district_and_payment_normalised() -> None:
    assert v.parse_district("서울특별시 강남구") == ("강남구", None)
    assert v.parse_district("중") == ("중구", None)
    assert v.parse_district("부산 해운대구")[1]
    assert v.parse_payment_method("현금") == ("cash", None)
    assert v.parse_payment_method("paypal")[1]


def test_datetime_parsing() -> None:
    assert v.parse_datetime("2024-03-05T12:30:00+00:00") == (dt.datetime(2024, 3, 5, 21, 30), None)
    assert v.parse_datetime(dt.date(2024, 3, 5)) == (dt.datetime(2024, 3, 5), None)
    assert v.parse_datetime("2024-02-30 10:00")[1]
    assert v.parse_date("2024.3.5.") == (dt.date(2024, 3, 5), None)
    assert v.parse_date(20240305) == (dt.date(2024, 3, 5), None)
    assert v.parse_date(dt.datetime(2024, 3, 5, 10))[1]


def test_sheet_specs_match_models() -> None:
    """Every spec column is a column of its table, and every table column has a spec column."""
    for spec in SHEETS.values():
        assert spec.column_names == [c.name for c in spec.table.columns]


def test_import_in_memory_xlsx_bytes_written_by_openpyxl_with_excel_types(engine: Engine, tmp_path: Path) -> None:
    """Real Excel cell types (numbers, dates, times, booleans) as an operator's Excel would save them."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "user"
    ws.append(["id", "birthday", "district", "is_meal_card_holder", "created_at"])
    ws.append([1, dt.date(2012, 3, 5), "마포구", True, dt.datetime(2024, 1, 2, 10, 0)])
    ws.append([2.0, dt.datetime(2011, 1, 1), "강남구", False, None])
    buf = io.BytesIO()
    wb.save(buf)
    path = tmp_path / "user.xlsx"
    path.write_bytes(buf.getvalue())
    assert import_workbook(engine, path) == {"user": 2}
    assert snapshot(engine)["user"][1][:2] == (2, dt.date(2011, 1, 1))


# --------------------------------------------------------------------------- the meal card's amounts (keyed by district)


def _limits(rows: list[tuple[str, object, object]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["district", "per_meal", "per_day"]).astype(object)


def limits(engine: Engine) -> list[tuple]:
    """The meal_card_limit table, ordered by district."""
    table = MealCardLimit.__table__
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(table).order_by(table.c.district))]


def test_meal_card_limit_sheet_is_imported_by_district(populated: Engine, tmp_path: Path) -> None:
    frames = {"meal_card_limit": _limits([("송파구", 9500, 28500), ("마포구", 9000, None)])}
    result = import_workbook(populated, write_xlsx(frames, tmp_path / "limits.xlsx"))
    assert result == {"meal_card_limit": 2} and result.changes["meal_card_limit"].added == 2
    assert limits(populated) == [("마포구", 9000, None), ("송파구", 9500, 28500)]


def test_meal_card_limit_upsert_changes_a_per_meal_amount_and_keeps_the_rest(populated: Engine, tmp_path: Path) -> None:
    import_workbook(populated, write_csv_dir({"meal_card_limit": _limits([("송파구", 9500, 28500), ("마포구", 9000, None)])},
                                             tmp_path / "week1"))
    # the next year: 마포구 tops its amount up, 송파구 is unchanged, 노원구 is new
    result = import_workbook(populated, write_csv_dir(
        {"meal_card_limit": _limits([("송파구", 9500, 28500), ("마포구", 9500, 28500), ("노원구", 8000, None)])},
        tmp_path / "week2"))
    c = result.changes["meal_card_limit"]
    assert (c.added, c.changed, c.unchanged, c.deleted) == (1, 1, 1, 0)
    assert limits(populated) == [("노원구", 8000, None), ("마포구", 9500, 28500),
                                                      ("송파구", 9500, 28500)]
    # --replace: a 구 the file no longer has is deleted (its children fall back to the setting's default)
    result = import_workbook(populated, write_xlsx({"meal_card_limit": _limits([("송파구", 9500, 28500)])},
                                                   tmp_path / "only.xlsx"), replace=True)
    assert result.changes["meal_card_limit"].deleted == 2
    assert limits(populated) == [("송파구", 9500, 28500)]


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_meal_card_limit_round_trips_through_export(engine: Engine, tmp_path: Path, fmt: str) -> None:
    import_workbook(engine, write_xlsx({**world(), "meal_card_limit": _limits([("송파구", 9500, 28500),
                                                                               ("강남구", 9000, None)])},
                                       tmp_path / "in.xlsx"))
    before = snapshot(engine), limits(engine)
    target = tmp_path / ("out.xlsx" if fmt == "xlsx" else "out")
    counts = export_workbook(engine, target)
    assert counts["meal_card_limit"] == 2
    if fmt == "csv":
        lines = (target / "meal_card_limit.csv").read_text(encoding="utf-8-sig").splitlines()
        assert lines == ["district,per_meal,per_day", "강남구,9000,", "송파구,9500,28500"]
    clear(engine)
    with engine.begin() as conn:
        conn.execute(delete(MealCardLimit.__table__))
    assert import_workbook(engine, target) == counts
    assert (snapshot(engine), limits(engine)) == before


def test_bad_meal_card_limit_values_name_sheet_row_and_column(populated: Engine, tmp_path: Path) -> None:
    frames = {"meal_card_limit": _limits([("송파구", 9500, 28500), ("마포구", "구천원", None), ("강남구", 0, None),
                                          ("부산", 9000, None), ("송파구", 9000, None)])}
    before = snapshot(populated), limits(populated)
    with pytest.raises(ImportValidationError) as info:
        import_workbook(populated, write_xlsx(frames, tmp_path / "bad.xlsx"))
    errors = [(e.sheet, e.row, e.column) for e in info.value.errors]
    assert errors == [("meal_card_limit", 3, "per_meal"), ("meal_card_limit", 4, "per_meal"),
                      ("meal_card_limit", 5, "district"), ("meal_card_limit", 6, "district")]
    messages = [str(e) for e in info.value.errors]
    assert messages[0].startswith("meal_card_limit 시트 3행 per_meal 열")
    assert "1,000~100,000원" in messages[1]
    assert "중복된 district(송파구)" in messages[3]
    assert (snapshot(populated), limits(populated)) == before


def test_guardian_consent_is_an_optional_date_of_the_user_sheet(engine: Engine, tmp_path: Path) -> None:
    """PIPA Art. 22-2: the operator's user sheet carries the day a guardian consented (empty: none)."""
    import_workbook(engine, write_xlsx(world(), tmp_path / "none.xlsx"))  # the column may be absent
    assert {r[0]: r[-1] for r in snapshot(engine)["user"]} == {1: None, 2: None, 3: None}
    frames = world()
    frames["user"]["guardian_consent"] = ["2024-01-02", None, "20240301"]
    import_workbook(engine, write_xlsx(frames, tmp_path / "consent.xlsx"))
    assert {r[0]: r[-1] for r in snapshot(engine)["user"]} == {1: dt.date(2024, 1, 2), 2: None,
                                                               3: dt.date(2024, 3, 1)}
    export_workbook(engine, tmp_path / "out.xlsx")
    sheet = list(openpyxl.load_workbook(tmp_path / "out.xlsx", read_only=True)["user"].iter_rows(values_only=True))
    assert sheet[0][-1] == "guardian_consent" and sheet[1][-1] == "2024-01-02" and sheet[2][-1] is None
    frames["user"]["guardian_consent"] = [None, None, "2024-03-01"]  # the operator empties user 1's consent
    import_workbook(engine, write_xlsx(frames, tmp_path / "withdrawn.xlsx"))
    assert {r[0]: r[-1] for r in snapshot(engine)["user"]}[1] is None
