"""Excel (.xlsx) and CSV import and export of the operator's tables.

The operator's workbook has one sheet per table (DESIGN.md, "Data: the
operator's database"): shop, shop_menu, brand, user, product_order,
userfavorite, review and meal_card_limit. A folder holding one CSV file per sheet (``shop.csv``,
...) works the same way.

Import (:func:`import_workbook`) is all or nothing:

1. every sheet is read (sheet and column names matched case-insensitively,
   surrounding spaces ignored; unknown sheets and columns become warnings);
2. every cell of every row is parsed and checked (types, required values,
   ranges, taxonomy categories, Seoul districts, times, weekdays, ...);
3. inside one database transaction, keys are checked against each other and
   against the database (duplicates within a sheet, foreign keys that must
   resolve within the file or in the database — within the file alone for a
   parent sheet under ``replace`` — an order's menu belonging to the order's shop);
4. only when nothing at all is wrong are the rows upserted by key in chunks:
   new keys bulk-inserted (SQLAlchemy Core executemany; ``COPY`` on PostgreSQL),
   changed rows updated (the file's columns only), identical rows left alone;
   with ``replace`` the rows the file no longer has are deleted with their
   dependants; all still in that same transaction, so a database error
   half-way rolls everything back (``dry_run`` always rolls back).

Cells are parsed by small per-type functions with fast paths for the types
openpyxl and the CSV reader produce, and each distinct value of repetitive
columns (booleans, times, categories, ...) is parsed once; reading the .xlsx
itself (openpyxl) is most of the time of a large import.

Any problem raises :class:`ImportValidationError` listing every
:class:`~naviyam.data.validation.RowError` found (sheet, Excel row number,
column, Korean message); nothing is written. An id already in the database
is an update, not an error; every import that changes data bumps the data
versions the models compare with (:mod:`naviyam.db.data_versions`).

Export (:func:`export_workbook`) writes the same sheets with exactly the
DESIGN.md columns, in a form that imports back to identical rows.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import os
import re
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, bindparam, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from naviyam.core.clock import local_today
from naviyam.data import validation as v
from naviyam.data.validation import RowError
from naviyam.db.models import Brand, MealCardLimit, ProductOrder, Review, Shop, ShopMenu, User, UserFavorite
from naviyam.db.data_versions import LEXICON, LEXICON_COLUMNS, OPERATOR_ASPECTS, bump

__all__ = [
    "ImportResult",
    "ImportValidationError",
    "RowError",
    "SHEETS",
    "export_workbook",
    "import_workbook",
]

log = logging.getLogger(__name__)

#: Excel's hard limit of rows per sheet (header included).
EXCEL_MAX_ROWS = 1_048_576
#: Rows per INSERT batch.
CHUNK_SIZE = 5000


# --------------------------------------------------------------------------- schema of the sheets


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

#: Sheets in the order DESIGN.md lists them: export order and error order.
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


# --------------------------------------------------------------------------- results and errors


@dataclass
class SheetChanges:
    """What an import did to one table: rows added, changed, left as they were, deleted.

    ``cascaded`` counts rows deleted because what they belonged to was deleted (``--replace``:
    a deleted shop's menus, orders, favourites and reviews); ``detached`` counts rows kept with a
    reference emptied (an order whose menu was deleted keeps the order, without the menu).
    """

    added: int = 0
    changed: int = 0
    unchanged: int = 0
    deleted: int = 0
    cascaded: int = 0
    detached: int = 0
    #: a name, category, menu, dish or place the NLU knows was changed in an updated row
    renamed: bool = False

    def to_dict(self) -> dict[str, int]:
        return {k: int(v) for k, v in vars(self).items()}

    @property
    def touched(self) -> bool:
        return bool(self.added or self.changed or self.deleted or self.cascaded or self.detached)


class ImportResult(dict[str, int]):
    """Rows read per sheet; ``changes`` says what happened to each table, ``warnings`` what was ignored.

    ``dry_run`` is true for a validation run: everything was checked and nothing was written.
    """

    def __init__(self, counts: dict[str, int], warnings: Sequence[RowError] = (),
                 changes: dict[str, SheetChanges] | None = None, dry_run: bool = False):
        super().__init__(counts)
        self.warnings: list[RowError] = list(warnings)
        self.changes: dict[str, SheetChanges] = dict(changes or {})
        self.dry_run = dry_run


class ImportValidationError(Exception):
    """The file was refused and nothing was written; ``errors`` says why, row by row."""

    def __init__(self, errors: Sequence[RowError], warnings: Sequence[RowError] = ()):
        self.errors: list[RowError] = _sorted(errors)
        self.warnings: list[RowError] = list(warnings)
        head = "; ".join(str(e) for e in self.errors[:5])
        more = f" (외 {len(self.errors) - 5}건)" if len(self.errors) > 5 else ""
        super().__init__(f"가져오기 거부, 아무것도 저장하지 않았습니다: 문제 {len(self.errors)}건: {head}{more}")


def _sorted(errors: Iterable[RowError]) -> list[RowError]:
    def key(e: RowError) -> tuple:
        sheet = SHEET_ORDER.index(e.sheet) if e.sheet in SHEETS else (-1 if e.sheet == "-" else len(SHEETS))
        spec = SHEETS.get(e.sheet)
        col = spec.column_names.index(e.column) if spec and e.column in spec.column_names else -1
        return (sheet, e.sheet, e.row or 0, col, e.column or "")

    return sorted(errors, key=key)


# --------------------------------------------------------------------------- reading files


@dataclass
class _RawSheet:
    """A sheet as read: its non-blank rows with their Excel row numbers."""

    title: str
    rows: list[tuple[int, Sequence[Any]]] = field(default_factory=list)
    xlsx: bool = False  # text cells may carry OOXML "_xHHHH_" escapes


_OOXML_ESCAPE_RE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_OOXML_LITERAL_RE = re.compile(r"_(x[0-9A-Fa-f]{4}_)")
#: Characters a worksheet cannot hold as such (XML control characters, and CR, which XML turns into LF).
_OOXML_UNSAFE_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\r]")


def _ooxml_unescape(text: str) -> str:
    """Excel's "_x000D_" notation back to characters (Excel writes CR that way; so does the export)."""
    return _OOXML_ESCAPE_RE.sub(lambda m: chr(int(m[1], 16)), text)


def _ooxml_escape(text: str) -> str:
    """Inverse of :func:`_ooxml_unescape`: a literal "_x0041_" becomes "_x005F_x0041_", CR "_x000D_"."""
    if "_x" in text:
        text = _OOXML_LITERAL_RE.sub(r"_x005F_\1", text)
    return _OOXML_UNSAFE_RE.sub(lambda m: f"_x{ord(m[0]):04X}_", text)


class _FileProblem(Exception):
    def __init__(self, message: str, sheet: str = "-", row: int | None = None):
        super().__init__(message)
        self.error = RowError(sheet, row, None, message)


def _blank_row(row: Sequence[Any]) -> bool:
    for x in row:
        if x is not None and not v.is_blank(x):
            return False
    return True


def _read_xlsx(path: Path, wanted: Callable[[str], bool]) -> list[_RawSheet]:
    import openpyxl

    with path.open("rb") as fh:
        magic = fh.read(8)
    if magic.startswith(b"\xd0\xcf\x11\xe0"):
        raise _FileProblem(
            "예전 엑셀 형식(.xls)이거나 암호가 걸린 파일이라 읽을 수 없습니다. 암호를 풀고 .xlsx 형식으로 다시 저장해 주세요"
        )
    if not magic.startswith(b"PK"):
        raise _FileProblem("엑셀(.xlsx) 파일이 아닙니다. 엑셀에서 .xlsx 형식으로 저장한 파일이나 CSV 폴더를 넣어 주세요")
    try:
        with zipfile.ZipFile(path):
            pass
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise _FileProblem(f"엑셀 파일이 손상되어 열 수 없습니다({type(exc).__name__}). 엑셀에서 다시 저장해 주세요") from exc

    sheets: list[_RawSheet] = []
    # A file object, not the path: openpyxl would refuse names not ending in .xlsx.
    with path.open("rb") as fh:
        try:
            wb = openpyxl.load_workbook(fh, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds on garbage; all mean "unreadable"
            raise _FileProblem(
                f"엑셀 파일을 열 수 없습니다({type(exc).__name__}). 엑셀에서 .xlsx 형식으로 다시 저장해 주세요"
            ) from exc
        try:
            for ws in wb.worksheets:
                raw = _RawSheet(ws.title, xlsx=True)
                sheets.append(raw)
                if not wanted(ws.title):
                    continue
                if hasattr(ws, "reset_dimensions"):
                    # A wrong <dimension> element would silently cut rows: read what is really there.
                    ws.reset_dimensions()
                try:
                    for number, row in enumerate(ws.iter_rows(values_only=True), start=1):
                        if row and not _blank_row(row):
                            raw.rows.append((number, row))
                except Exception as exc:
                    raise _FileProblem(
                        f"'{ws.title}' 시트를 읽는 중 파일이 손상된 부분을 만났습니다({type(exc).__name__})."
                        " 엑셀에서 다시 저장해 주세요"
                    ) from exc
        finally:
            wb.close()
    return sheets


def _read_csv(path: Path) -> _RawSheet:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _FileProblem(f"'{path.name}' 파일을 읽을 수 없습니다: {exc.strerror or exc}") from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _FileProblem(
            f"'{path.name}' 파일이 UTF-8이 아닙니다(CP949/EUC-KR로 저장된 것 같습니다)."
            " 엑셀의 'CSV UTF-8' 형식으로 다시 저장해 주세요"
        ) from exc
    raw = _RawSheet(path.stem)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for number, row in enumerate(reader, start=1):
            if row and not _blank_row(row):
                raw.rows.append((number, row))
    except csv.Error as exc:
        raise _FileProblem(f"'{path.name}' 파일 {reader.line_num}번째 줄을 CSV로 읽을 수 없습니다: {exc}") from exc
    return raw


def _read_source(path: Path, wanted: Callable[[str], bool]) -> list[_RawSheet]:
    if not path.exists():
        raise _FileProblem(f"파일이나 폴더를 찾을 수 없습니다: {path}")
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() == ".csv")
        if not files:
            raise _FileProblem(f"폴더에 CSV 파일이 없습니다: {path} (shop.csv, shop_menu.csv 같은 파일이 있어야 합니다)")
        return [_read_csv(p) if wanted(p.stem) else _RawSheet(p.stem) for p in files]
    if path.suffix.lower() == ".csv":
        return [_read_csv(path)]
    return _read_xlsx(path, wanted)


# --------------------------------------------------------------------------- parsing sheets


@dataclass
class _ParsedSheet:
    spec: SheetSpec
    rows: list[int]  # Excel row number of each data row
    columns: dict[str, list[Any]]  # every spec column, parsed (None where invalid)
    present: set[str]

    def __len__(self) -> int:
        return len(self.rows)


def _norm_name(name: Any) -> str:
    return str(name).strip().lower()


def _column_label(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return f"{get_column_letter(index + 1)}열({index + 1}번째)"


def _parse_sheet(
    raw: _RawSheet, spec: SheetSpec, errors: list[RowError], warnings: list[RowError]
) -> _ParsedSheet | None:
    sheet = spec.name
    if not raw.rows:
        warnings.append(RowError(sheet, None, None, "시트가 비어 있어 건너뛰었습니다"))
        return None
    first_number, header = raw.rows[0]
    if first_number != 1:
        errors.append(
            RowError(sheet, 1, None, f"첫 행(머리글)이 비어 있습니다. 첫 행에 열 이름({', '.join(spec.column_names)})을 적어 주세요")
        )
        return None

    index: dict[str, int] = {}
    for i, h in enumerate(header):
        if v.is_blank(h):
            continue
        key = _norm_name(h)
        if key in index:
            errors.append(
                RowError(
                    sheet, 1, key,
                    f"같은 이름의 열이 두 번 있습니다({_column_label(index[key])}, {_column_label(i)}). 하나만 남겨 주세요",
                )
            )
        elif key in spec.column_names:
            index[key] = i
        else:
            warnings.append(RowError(sheet, 1, str(h).strip(), "알 수 없는 열이라서 무시했습니다"))
    if not index:
        errors.append(
            RowError(
                sheet, 1, None,
                f"첫 행에서 열 이름을 찾지 못했습니다. 첫 행은 머리글({', '.join(spec.column_names)})이어야 합니다",
            )
        )
        return None
    for col in spec.columns:
        if col.required and col.name not in index:
            errors.append(RowError(sheet, 1, col.name, f"필수 열이 없습니다. 첫 행(머리글)에 '{col.name}' 열을 추가해 주세요"))

    width = len(header)
    numbers: list[int] = []
    body: list[Sequence[Any]] = []
    stray: set[int] = set()
    for number, row in raw.rows[1:]:
        numbers.append(number)
        if len(row) > width:
            stray.update(i for i in range(width, len(row)) if not v.is_blank(row[i]))
        body.append(row)
    for i in sorted(stray)[:5]:
        warnings.append(RowError(sheet, None, None, f"머리글이 없는 {_column_label(i)}의 값은 무시했습니다"))
    for i, h in enumerate(header):
        if v.is_blank(h) and any(i < len(r) and not v.is_blank(r[i]) for r in body):
            warnings.append(RowError(sheet, None, None, f"머리글이 없는 {_column_label(i)}의 값은 무시했습니다"))

    columns: dict[str, list[Any]] = {}
    for col in spec.columns:
        if col.name not in index:
            columns[col.name] = [col.default] * len(body)
            continue
        i = index[col.name]
        cells = [r[i] if i < len(r) else None for r in body]
        if raw.xlsx and col.kind in ("str", "text"):
            cells = [_ooxml_unescape(c) if type(c) is str and "_x" in c else c for c in cells]
        columns[col.name] = _parse_column(cells, numbers, col, spec, errors)
    return _ParsedSheet(spec, numbers, columns, set(index))


def _parse_column(
    cells: list[Any], numbers: list[int], col: ColumnSpec, spec: SheetSpec, errors: list[RowError]
) -> list[Any]:
    parse = _PARSERS[col.kind]
    domain = col.domain
    max_len = spec.max_length(col.name) if col.kind in ("str", "text") else None
    cache: dict[tuple[type, Any], v.Parsed] | None = {} if col.kind in _CACHED_KINDS else None
    out: list[Any] = [col.default] * len(cells)
    sheet, name = spec.name, col.name
    for i, cell in enumerate(cells):
        if cell is None or v.is_blank(cell):
            if col.required:
                errors.append(RowError(sheet, numbers[i], name, "값이 비어 있습니다. 꼭 채워야 하는 칸입니다"))
            continue
        if cache is not None:
            key = (type(cell), cell)
            hit = cache.get(key)
            if hit is None:
                hit = cache[key] = _parse_cell(cell, parse, domain, max_len)
            value, message = hit
        else:
            value, message = _parse_cell(cell, parse, domain, max_len)
        if message is not None:
            errors.append(RowError(sheet, numbers[i], name, message))
            out[i] = None
        elif value is None and col.required:
            errors.append(RowError(sheet, numbers[i], name, "값이 비어 있습니다. 꼭 채워야 하는 칸입니다"))
            out[i] = None
        else:
            out[i] = col.default if value is None else value
    return out


def _parse_cell(cell: Any, parse: Callable[[Any], v.Parsed], domain, max_len: int | None) -> v.Parsed:
    value, message = parse(cell)
    if message is not None:
        return None, message
    if isinstance(value, str) and not value.strip():
        return None, None
    if domain is not None:
        value, message = domain(value)
        if message is not None:
            return None, message
    if max_len is not None and value is not None and len(value) > max_len:
        return None, f"글자 수({len(value)}자)가 최대 {max_len}자를 넘습니다"
    return value, None


# --------------------------------------------------------------------------- checks against each other and the DB

_IN_CHUNK = 900


def _ids_in_db(conn: Connection, table: Table, ids: set[int]) -> set[int]:
    """Which of ``ids`` exist in ``table`` (one range scan for many ids, IN lists for a few)."""
    if not ids:
        return set()
    col = table.c.id
    if len(ids) > 5 * _IN_CHUNK:
        lo, hi = min(ids), max(ids)
        found = conn.execute(select(col).where(col.between(lo, hi))).scalars()
        return ids.intersection(found)
    found: set[int] = set()
    items = sorted(ids)
    for start in range(0, len(items), _IN_CHUNK):
        found.update(conn.execute(select(col).where(col.in_(items[start : start + _IN_CHUNK]))).scalars())
    return found


def _menu_shops_in_db(conn: Connection, menu_ids: set[int]) -> dict[int, int]:
    table = ShopMenu.__table__
    out: dict[int, int] = {}
    items = sorted(menu_ids)
    for start in range(0, len(items), _IN_CHUNK):
        rows = conn.execute(select(table.c.id, table.c.shop_id).where(table.c.id.in_(items[start : start + _IN_CHUNK])))
        out.update((r[0], r[1]) for r in rows)
    return out


def _check_ids(parsed: dict[str, _ParsedSheet], errors: list[RowError]) -> None:
    """Duplicate keys (ids; meal_card_limit's districts) within a sheet (a key already in the database is an
    update, not an error)."""
    for name, sheet in parsed.items():
        key = sheet.spec.key
        ids = sheet.columns[key]
        first: dict[Any, int] = {}
        for i, x in enumerate(ids):
            if x is None:
                continue
            j = first.setdefault(x, i)
            if j != i:
                errors.append(RowError(name, sheet.rows[i], key,
                                       f"중복된 {key}({x})입니다. {sheet.rows[j]}행에 같은 {key}가 있습니다"))


def _check_references(
    conn: Connection, parsed: dict[str, _ParsedSheet], broken: set[str], errors: list[RowError],
    replace: bool = False,
) -> None:
    """Foreign keys resolve in the file or the database; skipped for parents whose sheet is unusable.

    With ``replace`` a parent sheet in the file is all there will be: its rows missing from the file
    are about to be deleted, so references must resolve in the file itself.
    """
    for name, sheet in parsed.items():
        for fk in sheet.spec.foreign_keys:
            if fk.column not in sheet.present or fk.parent in broken:
                continue
            parent = SHEETS[fk.parent]
            values = sheet.columns[fk.column]
            in_file = set(parsed[fk.parent].columns["id"]) if fk.parent in parsed else set()
            wanted = {x for x in values if x is not None and x not in in_file}
            if not wanted:
                continue
            missing = wanted if (replace and fk.parent in parsed) else wanted - _ids_in_db(conn, parent.table, wanted)
            if not missing:
                continue
            parent_empty = conn.execute(select(parent.table.c.id).limit(1)).first() is None
            if fk.parent not in parsed and parent_empty:
                errors.append(
                    RowError(
                        name, None, fk.column,
                        f"{fk.parent} 시트가 없고 데이터베이스에도 {parent.what} 정보가 없어 {fk.column} 값을 확인할 수 없습니다."
                        f" {fk.parent} 시트를 함께 넣어 주세요",
                    )
                )
                continue
            for i, x in enumerate(values):
                if x in missing:
                    errors.append(
                        RowError(
                            name, sheet.rows[i], fk.column,
                            f"없는 {parent.what} id({x})입니다. "
                            + (f"{fk.parent} 시트에 없습니다 (--replace는 시트에 없는 행을 지웁니다)"
                               if replace and fk.parent in parsed else f"{fk.parent} 시트에도 데이터베이스에도 없습니다"),
                        )
                    )
    if "shop_menu" not in broken:
        _check_order_menus(conn, parsed, errors)


def _check_order_menus(conn: Connection, parsed: dict[str, _ParsedSheet], errors: list[RowError]) -> None:
    """An order's menu must be a menu of the order's shop."""
    orders = parsed.get("product_order")
    if orders is None or "menu_id" not in orders.present:
        return
    menu_shop: dict[int, int] = {}
    if "shop_menu" in parsed:
        menus = parsed["shop_menu"]
        menu_shop = {
            m: s for m, s in zip(menus.columns["id"], menus.columns["shop_id"], strict=False) if m is not None and s is not None
        }
    pending = {m for m in orders.columns["menu_id"] if m is not None and m not in menu_shop}
    if pending:
        menu_shop.update(_menu_shops_in_db(conn, pending))
    for i, (menu, shop) in enumerate(zip(orders.columns["menu_id"], orders.columns["shop_id"], strict=False)):
        if menu is None or shop is None or menu not in menu_shop:
            continue  # unknown menus are reported by the foreign-key check
        owner = menu_shop[menu]
        if owner != shop:
            errors.append(
                RowError(
                    "product_order", orders.rows[i], "menu_id",
                    f"메뉴 id({menu})는 가게 {owner}의 메뉴입니다. 이 주문의 가게(shop_id {shop})와 다릅니다",
                )
            )


# --------------------------------------------------------------------------- import


class _DryRun(Exception):
    """Raised inside the import transaction to roll a validation run back."""


def import_workbook(engine: Engine, path: str | os.PathLike[str], *, chunk_size: int = CHUNK_SIZE,
                    replace: bool = False, dry_run: bool = False,
                    progress: Callable[[str, int, int], None] | None = None) -> ImportResult:
    """Validate and import (upsert) an operator workbook (.xlsx), CSV folder or single CSV, all or nothing.

    Rows are matched by ``id`` (``meal_card_limit`` by ``district``): new ids are added, rows whose cells differ from the database are
    updated (only the columns the file has), identical rows are left alone. With ``replace`` the
    rows of each sheet in the file that the file no longer has are deleted, with what depends on
    them (see :func:`_replace`). ``dry_run`` checks everything, database constraints included,
    and writes nothing. ``progress(stage, done, total)`` is told how far each sheet is.

    ``path`` is an .xlsx workbook whose sheets are named after the tables
    (``shop``, ``shop_menu``, ``brand``, ``user``, ``product_order``,
    ``userfavorite``, ``review``, ``meal_card_limit``), a folder with one ``<sheet>.csv`` per
    table (UTF-8, BOM optional), or one such CSV file. A file may carry only
    some sheets; their foreign keys must then resolve in the file or in the
    database.

    Returns the number of rows read per sheet present in the file (an
    :class:`ImportResult`, a ``dict`` with ``.changes`` and ``.warnings``). Raises
    :class:`ImportValidationError` with every problem found; then nothing
    has been written.
    """
    path = Path(path)
    warnings: list[RowError] = []
    errors: list[RowError] = []

    seen: dict[str, str] = {}

    def wanted(title: str) -> bool:
        return _norm_name(title) in SHEETS

    try:
        raws = _read_source(path, wanted)
    except _FileProblem as exc:
        raise ImportValidationError([exc.error]) from exc

    chosen: dict[str, _RawSheet] = {}
    for raw in raws:
        key = _norm_name(raw.title)
        if key not in SHEETS:
            warnings.append(RowError(raw.title, None, None, "알 수 없는 시트라서 가져오지 않았습니다"))
            continue
        if key in seen:
            errors.append(
                RowError(key, None, None, f"같은 이름의 시트가 두 개 있습니다('{seen[key]}', '{raw.title}'). 하나만 남겨 주세요")
            )
            continue
        seen[key] = raw.title
        chosen[key] = raw
    if not chosen and not errors:
        errors.append(
            RowError("-", None, None, f"가져올 시트가 없습니다. 시트 이름은 {', '.join(SHEET_ORDER)} 중 하나여야 합니다")
        )

    parsed: dict[str, _ParsedSheet] = {}
    broken: set[str] = set()  # present but unusable (no header, no id column): reported already
    for key in SHEET_ORDER:
        if key in chosen:
            sheet = _parse_sheet(chosen[key], SHEETS[key], errors, warnings)
            if sheet is not None:
                parsed[key] = sheet
                if SHEETS[key].key not in sheet.present:
                    broken.add(key)
            elif chosen[key].rows:
                broken.add(key)
    if not parsed and not errors:
        errors.append(RowError("-", None, None, "가져올 데이터가 없습니다. 모든 시트가 비어 있습니다"))
    for w in warnings:
        log.warning("import %s: %s", path.name, w)
    if not parsed:
        raise ImportValidationError(errors, warnings)

    current = "-"
    counts: dict[str, int] = {}
    changes: dict[str, SheetChanges] = {}
    try:
        with engine.begin() as conn:
            # Cell errors do not stop these checks: the operator gets every problem at once.
            _check_ids(parsed, errors)
            _check_references(conn, parsed, broken, errors, replace=replace)
            if errors:
                raise ImportValidationError(errors, warnings)
            for key in INSERT_ORDER:
                if key not in parsed:
                    continue
                current = key
                counts[key] = len(parsed[key])
                changes[key] = _upsert(conn, parsed[key], chunk_size, progress)
            if replace:
                current = "-"
                _replace(conn, parsed, changes)
            _bump_data_versions(conn, changes)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    except SQLAlchemyError as exc:
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:300]
        raise ImportValidationError(
            [RowError(current, None, None, f"데이터베이스 오류로 아무것도 저장하지 않았습니다: {detail}")],
            warnings,
        ) from exc
    log.info("%s %s: %s", "checked" if dry_run else "imported", path.name,
             {k: c.to_dict() for k, c in changes.items()})
    order = [k for k in SHEET_ORDER if k in changes]
    return ImportResult({k: counts[k] for k in SHEET_ORDER if k in counts}, warnings,
                        {k: changes[k] for k in order}, dry_run=dry_run)


def _existing(conn: Connection, table: Table, names: list[str], ids: list[Any], key: str = "id") -> dict[Any, tuple]:
    """The database's values of ``names`` for those of ``ids`` (values of the ``key`` column) that exist, by key."""
    out: dict[Any, tuple] = {}
    cols = [table.c[n] for n in names]
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start : start + _IN_CHUNK]
        for row in conn.execute(select(table.c[key], *cols).where(table.c[key].in_(chunk))):
            out[row[0]] = tuple(row[1:])
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(a)))
    if isinstance(a, dt.datetime) and isinstance(b, dt.datetime):
        return a.replace(tzinfo=None) == b.replace(tzinfo=None)
    return a == b


def _lexicon_columns(sheet: str) -> set[str]:
    return LEXICON_COLUMNS.get(sheet, set())


def _bump_data_versions(conn: Connection, changes: dict[str, SheetChanges]) -> None:
    """Tell the models what moved: every table with a change, and the NLU's words when names came or went."""
    aspects = {k for k, c in changes.items() if c.touched and k in OPERATOR_ASPECTS}
    if any(k in LEXICON_COLUMNS and (c.renamed or c.added or c.deleted or c.cascaded) for k, c in changes.items()):
        aspects.add(LEXICON)
    if aspects:
        bump(conn, aspects, "import")


def _upsert(conn: Connection, sheet: _ParsedSheet, chunk_size: int,
            progress: Callable[[str, int, int], None] | None) -> SheetChanges:
    """Insert the sheet's new keys (ids), update its changed rows (the file's columns only), count the rest."""
    table = sheet.spec.table
    names = sheet.spec.column_names
    key_column = sheet.spec.key
    ids = sheet.columns[key_column]
    stage = f"{sheet.spec.name} 가져오는 중"
    total = len(sheet)
    if progress is not None:
        progress(stage, 0, total)
    compared = [n for n in names if n != key_column and n in sheet.present]
    done = 0
    changes = SheetChanges()
    for start in range(0, total, chunk_size):
        stop = min(total, start + chunk_size)
        existing = _existing(conn, table, compared, ids[start:stop], key_column)
        new_rows, updates = [], []
        for i in range(start, stop):
            key = ids[i]
            old = existing.get(key)
            if old is None:
                new_rows.append(tuple(sheet.columns[n][i] for n in names))
                continue
            values = {n: sheet.columns[n][i] for n in compared}
            differs = [n for n, o in zip(compared, old, strict=False) if not _same(values[n], o)]
            if not differs:
                changes.unchanged += 1
            else:
                updates.append({"_key": key, **values})
                changes.renamed = changes.renamed or bool(set(differs) & _lexicon_columns(sheet.spec.name))
        if new_rows:
            _insert_rows(conn, table, names, new_rows)
            changes.added += len(new_rows)
        if updates:
            conn.execute(table.update().where(table.c[key_column] == bindparam("_key")), updates)
            changes.changed += len(updates)
        done = stop
        if progress is not None:
            progress(stage, done, total)
    return changes


def _replace(conn: Connection, parsed: dict[str, _ParsedSheet], changes: dict[str, SheetChanges]) -> None:
    """``--replace``: delete the rows of each sheet in the file that the file does not have.

    What depends on a deleted row goes with it when its reference is required (a deleted shop's
    menus, orders, favourites and reviews; a deleted user's orders, favourites and reviews), and
    keeps living with the reference emptied when it is optional (an order whose menu was deleted,
    a shop whose brand was deleted). Sheets absent from the file are never emptied for their own sake.
    """
    doomed: dict[str, set[Any]] = {}
    for key in INSERT_ORDER:
        if key in parsed:
            table, key_column = SHEETS[key].table, SHEETS[key].key
            keep = {x for x in parsed[key].columns[key_column] if x is not None}
            gone = set(conn.execute(select(table.c[key_column])).scalars()) - keep
            doomed[key] = gone
            changes[key].deleted = len(gone)
    detach: list[tuple[str, str, set[int]]] = []
    for key in INSERT_ORDER:  # parents first, so a cascade reaches grandchildren
        spec = SHEETS[key]
        for fk in spec.foreign_keys:
            parents = doomed.get(fk.parent)
            if not parents:
                continue
            col = spec.table.c[fk.column]
            hit: set[int] = set()
            items = sorted(parents)
            for start in range(0, len(items), _IN_CHUNK):
                hit.update(conn.execute(select(spec.table.c[spec.key]).where(col.in_(items[start : start + _IN_CHUNK])))
                           .scalars())
            hit -= doomed.get(key, set())
            if not hit:
                continue
            required = next(c.required for c in spec.columns if c.name == fk.column)
            entry = changes.setdefault(key, SheetChanges())
            if required:
                doomed.setdefault(key, set()).update(hit)
                entry.cascaded += len(hit)
            else:
                detach.append((key, fk.column, hit))
                entry.detached += len(hit)
    for key, column, rows in detach:
        table, key_column = SHEETS[key].table, SHEETS[key].key
        items = sorted(rows - doomed.get(key, set()))
        for start in range(0, len(items), _IN_CHUNK):
            conn.execute(table.update().where(table.c[key_column].in_(items[start : start + _IN_CHUNK]))
                         .values({column: None}))
    for key in reversed(INSERT_ORDER):  # children first
        items = sorted(doomed.get(key, ()))
        table, key_column = SHEETS[key].table, SHEETS[key].key
        for start in range(0, len(items), _IN_CHUNK):
            conn.execute(table.delete().where(table.c[key_column].in_(items[start : start + _IN_CHUNK])))


def _insert_rows(conn: Connection, table: Table, names: list[str], rows: list[tuple]) -> None:
    """Bulk-insert rows (tuples in ``names`` order) inside the caller's transaction.

    SQLAlchemy Core executemany everywhere, except PostgreSQL through
    psycopg 3, which gets ``COPY ... FROM STDIN`` (psycopg would otherwise
    send one pipelined INSERT per row: several times slower).
    """
    copy_into = _pg_copy(conn, table, names)
    if copy_into is not None:
        copy_into(rows)
    else:
        conn.execute(table.insert(), [dict(zip(names, values, strict=False)) for values in rows])


def _pg_copy(conn: Connection, table: Table, names: list[str]) -> Callable[[Iterable[tuple]], None] | None:
    if conn.dialect.name != "postgresql" or conn.dialect.driver != "psycopg":
        return None
    prep = conn.dialect.identifier_preparer
    sql = f"COPY {prep.format_table(table)} ({', '.join(prep.quote(n) for n in names)}) FROM STDIN"
    raw = conn.connection.driver_connection

    dbapi_error = conn.dialect.loaded_dbapi.Error

    def copy_into(rows: Iterable[tuple]) -> None:
        try:
            with raw.cursor() as cur, cur.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)
        except dbapi_error as exc:  # surface driver errors the way SQLAlchemy would
            raise DBAPIError.instance(sql, None, exc, dbapi_error, dialect=conn.dialect) from exc

    return copy_into


# --------------------------------------------------------------------------- export


def _fmt_time(t: dt.time) -> str:
    if t.microsecond:
        return t.strftime("%H:%M:%S.%f")
    if t.second:
        return t.strftime("%H:%M:%S")
    return t.strftime("%H:%M")


def _export_value(value: Any, *, for_csv: bool) -> Any:
    """A database value as written to a cell; importing it gives the same value back."""
    if value is None:
        return None
    if isinstance(value, bool):
        if for_csv:
            return "TRUE" if value else "FALSE"
        return value
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return _fmt_time(value)
    return value


def _read_table(conn: Connection, spec: SheetSpec) -> Iterable[Sequence[Any]]:
    cols = [spec.table.c[n] for n in spec.column_names]
    return conn.execute(select(*cols).order_by(spec.table.c[spec.key]))


def export_workbook(engine: Engine, path: str | os.PathLike[str],
                    progress: Callable[[str, int, int], None] | None = None) -> dict[str, int]:
    """Write every operator table to ``path``; returns the rows written per sheet.

    ``progress(stage, done, total)`` is told how far each sheet is.

    - ``path`` ending in ``.xlsx``: one workbook, one sheet per table.
    - an existing folder, or a path without a suffix: a folder (created when
      missing) with one UTF-8 (with BOM, so Excel shows Korean correctly)
      ``<sheet>.csv`` per table.
    - anything else (``.xls``, ``.csv``, ...) is refused with ``ValueError``.

    Columns are exactly DESIGN.md's, in its order. Times are written "HH:MM"
    (seconds only when not zero), dates "YYYY-MM-DD", datetimes ISO
    "YYYY-MM-DD HH:MM:SS[.ffffff]" (as text, so no precision is lost),
    booleans as Excel TRUE/FALSE cells (CSV: TRUE/FALSE), empty values as
    empty cells. Importing the result into an empty database reproduces the
    same rows. Text that Excel would take for a formula (leading "=") is
    stored as text in the workbook; in CSV it is written as is. Carriage
    returns and control characters, which a worksheet cannot hold, are
    written in Excel's own "_x000D_" notation, which the import (and Excel)
    reads back. An empty optional text and a missing one both come back as
    empty (NULL); leading and trailing spaces of short text columns (names,
    addresses, ...) are trimmed on import, those of description and review
    text are kept.
    """
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        as_csv = False
    elif path.is_dir() or path.suffix == "":
        as_csv = True
    else:
        raise ValueError(f"export path must end in .xlsx or be a folder for CSV files, not {path.name!r}")
    counts: dict[str, int] = {}
    conn_opts = {"isolation_level": "REPEATABLE READ"} if engine.dialect.name == "postgresql" else {}
    with engine.connect() as conn:
        conn = conn.execution_options(**conn_opts) if conn_opts else conn
        with conn.begin():
            if as_csv:
                path.mkdir(parents=True, exist_ok=True)
                for i, name in enumerate(SHEET_ORDER, 1):
                    counts[name] = _write_csv(conn, SHEETS[name], path / f"{name}.csv")
                    if progress is not None:
                        progress("CSV 파일 쓰는 중", i, len(SHEET_ORDER))
            else:
                counts = _write_xlsx(conn, path, progress)
    log.info("exported %s: %s", path, counts)
    return counts


def _write_csv(conn: Connection, spec: SheetSpec, target: Path) -> int:
    tmp = target.with_name(target.name + ".tmp")
    n = 0
    with tmp.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(spec.column_names)
        for row in _read_table(conn, spec):
            writer.writerow(["" if x is None else _export_value(x, for_csv=True) for x in row])
            n += 1
    os.replace(tmp, target)
    return n


def _write_xlsx(conn: Connection, path: Path, progress: Callable[[str, int, int], None] | None = None
                ) -> dict[str, int]:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ERROR_CODES
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook(write_only=True)
    counts: dict[str, int] = {}
    bold = Font(bold=True)
    for name in SHEET_ORDER:
        spec = SHEETS[name]
        rows = list(_read_table(conn, spec))
        if len(rows) + 1 > EXCEL_MAX_ROWS:
            raise ValueError(
                f"{name}: {len(rows):,} rows do not fit in an Excel sheet ({EXCEL_MAX_ROWS - 1:,} at most);"
                " export to a CSV folder"
            )
        ws = wb.create_sheet(name)
        # Write-only sheets carry no <dimension>; without one, readers (openpyxl's read-only
        # mode included) scan the whole sheet once more just to size it.
        ref = f"A1:{get_column_letter(len(spec.column_names))}{len(rows) + 1}"
        ws.calculate_dimension = lambda ref=ref: ref
        for i, col in enumerate(spec.column_names, start=1):
            ws.column_dimensions[get_column_letter(i)].width = max(10, len(col) + 4)
        ws.freeze_panes = "A2"
        header = []
        for col in spec.column_names:
            cell = WriteOnlyCell(ws, value=col)
            cell.font = bold
            header.append(cell)
        ws.append(header)
        stage = f"{name} 내보내는 중"
        for n_row, row in enumerate(rows, 1):
            if progress is not None and (n_row % 5000 == 0 or n_row == len(rows)):
                progress(stage, n_row, len(rows))
            out: list[Any] = []
            for x in row:
                x = _export_value(x, for_csv=False)
                if isinstance(x, str):
                    if "_x" in x or _OOXML_UNSAFE_RE.search(x):
                        x = _ooxml_escape(x)
                    if x.startswith("=") or x in ERROR_CODES:
                        cell = WriteOnlyCell(ws, value=x)
                        cell.data_type = "s"  # text, not a formula or an error value
                        x = cell
                out.append(x)
            ws.append(out)
        counts[name] = len(rows)
    tmp = path.with_name(path.name + ".tmp")
    wb.save(tmp)
    os.replace(tmp, path)
    return counts
