"""Cell-level parsing and validation of the operator's data.

Every parser takes one raw cell value (whatever openpyxl or the CSV reader
produced: ``str``, ``int``, ``float``, ``bool``, ``datetime``, ``time``...)
and returns ``(value, None)`` on success or ``(None, message)`` with a Korean
message for the operator team. Empty cells (``None`` or blank strings) are
handled by the caller, never by these parsers.

The import in :mod:`naviyam.data.excel` uses them column by column; other
parts (admin API, CLI) may reuse them to accept the same spellings.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from naviyam.core.taxonomy import category_names, dish_names, taxonomy
from naviyam.core.text import WEEKDAYS_KO
from naviyam.db.models import PAYMENT_METHODS

#: 32-bit signed range: PostgreSQL ``integer`` (SQLite would accept more).
INT_MIN, INT_MAX = -(2**31), 2**31 - 1

#: Plausible coordinates for a Korean shop.
LAT_RANGE = (33.0, 39.0)
LON_RANGE = (124.0, 132.0)

WEEKDAYS = WEEKDAYS_KO

BOOL_TRUE = frozenset({"true", "t", "1", "1.0", "y", "yes", "예", "네", "o", "○", "◯"})
BOOL_FALSE = frozenset({"false", "f", "0", "0.0", "n", "no", "아니오", "아니요", "x", "×", "✕"})
BOOL_HELP = "TRUE/FALSE, 1/0, Y/N, 예/아니오, O/X 중 하나로 적어 주세요"

PAYMENT_ALIASES = {
    **{m: m for m in PAYMENT_METHODS},
    "meal card": "meal_card",
    "meal-card": "meal_card",
    "mealcard": "meal_card",
    "급식카드": "meal_card",
    "아동급식카드": "meal_card",
    "꿈나무카드": "meal_card",
    "카드": "card",
    "신용카드": "card",
    "체크카드": "card",
    "현금": "cash",
    "쿠폰": "coupon",
}

_EN_DAYS = {
    "mon": 0, "monday": 0,
    "tue": 1, "tues": 1, "tuesday": 1,
    "wed": 2, "wednesday": 2,
    "thu": 3, "thur": 3, "thurs": 3, "thursday": 3,
    "fri": 4, "friday": 4,
    "sat": 5, "saturday": 5,
    "sun": 6, "sunday": 6,
}
_NO_CLOSED_DAY = frozenset({"없음", "연중무휴", "무휴", "휴무없음", "-", "none", "no"})
_FILLER_WORDS = frozenset({"매주", "휴무", "정기휴무", "휴무일", "쉼", "휴일"})
_DAY_SPLIT_RE = re.compile(r"[\s,/·、;|&+]+")
_KO_DAYS_RE = re.compile(r"^([월화수목금토일]+)(?:요일)?$")
_DAY_RANGE_RE = re.compile(r"^([월화수목금토일])(?:요일)?[~\-]([월화수목금토일])(?:요일)?$")

_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?$")
_DATE_RE = re.compile(r"^(\d{4})[-./](\d{1,2})[-./](\d{1,2})\.?(?:[ T]0{1,2}:00(?::00)?)?$")
_DATETIME_RE = re.compile(
    r"^(\d{4})[-./](\d{1,2})[-./](\d{1,2})\.?(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?$"
)
#: Dates Excel uses as the "day zero" of a time-only value.
_EXCEL_TIME_EPOCHS = (dt.date(1899, 12, 30), dt.date(1899, 12, 31), dt.date(1900, 1, 1))
_KST = dt.timezone(dt.timedelta(hours=9))


@dataclass(frozen=True)
class RowError:
    """One problem found in the operator's file.

    ``sheet`` is the sheet name as the schema spells it (``"-"`` for a
    problem with the whole file), ``row`` the row number as the operator sees
    it in Excel (header = 1, first data row = 2; ``None`` for the whole
    sheet), ``column`` the column name (``None`` for a whole row or sheet).
    """

    sheet: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = "파일" if self.sheet == "-" else f"{self.sheet} 시트"
        if self.row is not None:
            where += f" {self.row}행"
        if self.column is not None:
            where += f" {self.column} 열"
        return f"{where}: {self.message}"


# --------------------------------------------------------------------------- resources


categories = category_names
dishes = dish_names


@lru_cache
def category_aliases() -> dict[str, str]:
    out: dict[str, str] = {}
    for cat, spec in taxonomy()["categories"].items():
        for alias in spec.get("aliases", ()):
            out.setdefault(alias, cat)
    return out


@lru_cache
def seoul_districts() -> tuple[str, ...]:
    return tuple(taxonomy()["districts_seoul"])


# --------------------------------------------------------------------------- helpers


def shown(value: Any) -> str:
    """A cell value as the operator would recognise it in a message."""
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return f"'{text}'"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return f"'{value.isoformat()}'"
    return str(value)


def is_blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, float):
        return math.isnan(value)
    return False


# --------------------------------------------------------------------------- scalar parsers

Parsed = tuple[Any, str | None]


def parse_int(value: Any) -> Parsed:
    t = type(value)
    if t is int:
        n = value
    elif t is float:
        if not math.isfinite(value) or not value.is_integer():
            return None, f"정수가 아닌 값({shown(value)})입니다. 정수를 적어 주세요"
        n = int(value)
    elif t is str:
        s = value.strip().replace(",", "")
        if s.endswith("원"):
            s = s[:-1].strip()
        try:
            n = int(s)
        except ValueError:
            try:
                f = float(s)
            except ValueError:
                return None, f"숫자가 아닌 값({shown(value)})입니다. 정수를 적어 주세요"
            if not math.isfinite(f) or not f.is_integer():
                return None, f"정수가 아닌 값({shown(value)})입니다. 정수를 적어 주세요"
            n = int(f)
    elif isinstance(value, int) and not isinstance(value, bool):  # numpy ints and the like
        n = int(value)
    else:
        return None, f"숫자가 아닌 값({shown(value)})입니다. 정수를 적어 주세요"
    if not INT_MIN <= n <= INT_MAX:
        return None, f"너무 큰 수({n})입니다. {INT_MAX:,} 이하로 적어 주세요"
    return n, None


def parse_float(value: Any) -> Parsed:
    t = type(value)
    if t is float or t is int:
        f = float(value)
    elif t is str:
        try:
            f = float(value.strip())
        except ValueError:
            return None, f"숫자가 아닌 값({shown(value)})입니다"
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        f = float(value)
    else:
        return None, f"숫자가 아닌 값({shown(value)})입니다"
    if not math.isfinite(f):
        return None, f"숫자가 아닌 값({shown(value)})입니다"
    return f, None


def parse_bool(value: Any) -> Parsed:
    if value is True or value is False:
        return value, None
    t = type(value)
    if t is int or t is float:
        if value == 1:
            return True, None
        if value == 0:
            return False, None
    elif t is str:
        s = value.strip().lower()
        if s in BOOL_TRUE:
            return True, None
        if s in BOOL_FALSE:
            return False, None
    return None, f"참/거짓 값({shown(value)})을 알 수 없습니다. {BOOL_HELP}"


def _time_error(value: Any) -> str:
    return (
        f"있을 수 없는 시각({shown(value)})입니다. 00:00~23:59 사이의 HH:MM 형식으로 적어 주세요"
        " (밤 12시 마감은 24:00도 됩니다)"
    )


def parse_time(value: Any) -> Parsed:
    """HH:MM, HH:MM:SS, Excel time cells; "24:00" is midnight (00:00)."""
    if isinstance(value, dt.datetime):
        if value.date() in _EXCEL_TIME_EPOCHS:
            return value.time().replace(tzinfo=None), None
        return None, f"시각 대신 날짜({shown(value)})가 들어 있습니다. HH:MM 형식으로 적어 주세요"
    if isinstance(value, dt.time):
        return value.replace(tzinfo=None), None
    if isinstance(value, dt.timedelta):
        secs = value.total_seconds()
        if 0 <= secs < 86400 and secs == int(secs):
            secs = int(secs)
            return dt.time(secs // 3600, secs % 3600 // 60, secs % 60), None
        if secs == 86400:
            return dt.time(0, 0), None
        return None, _time_error(value)
    if isinstance(value, str):
        m = _TIME_RE.match(value.strip())
        if m:
            h, mi, s, us = int(m[1]), int(m[2]), int(m[3] or 0), int((m[4] or "0").ljust(6, "0"))
            if h == 24 and mi == 0 and s == 0 and us == 0:
                return dt.time(0, 0), None
            if h < 24 and mi < 60 and s < 60:
                return dt.time(h, mi, s, us), None
        return None, _time_error(value)
    return None, f"시각이 아닌 값({shown(value)})입니다. HH:MM 형식(예: 09:30)으로 적어 주세요"


def _date_error(value: Any) -> str:
    return f"날짜({shown(value)})를 읽을 수 없습니다. YYYY-MM-DD 형식(예: 2012-03-05)으로 적어 주세요"


def parse_date(value: Any) -> Parsed:
    if isinstance(value, dt.datetime):
        if value.time() != dt.time(0, 0):
            return None, f"날짜에 시각이 섞여 있습니다({shown(value)}). YYYY-MM-DD 형식으로 적어 주세요"
        return value.date(), None
    if isinstance(value, dt.date):
        return value, None
    if type(value) is int and 10000101 <= value <= 99991231:
        value = str(value)
    if isinstance(value, str):
        s = value.strip()
        m = _DATE_RE.match(s) or (re.match(r"^(\d{4})(\d{2})(\d{2})$", s))
        if m:
            try:
                return dt.date(int(m[1]), int(m[2]), int(m[3])), None
            except ValueError:
                return None, f"존재하지 않는 날짜({shown(value)})입니다"
        return None, _date_error(value)
    return None, _date_error(value)


def _datetime_error(value: Any) -> str:
    return (
        f"날짜·시각({shown(value)})을 읽을 수 없습니다."
        " YYYY-MM-DD HH:MM:SS 형식(예: 2024-03-05 12:30:00)으로 적어 주세요"
    )


def _naive_kst(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is not None:
        return value.astimezone(_KST).replace(tzinfo=None)
    return value


def parse_datetime(value: Any) -> Parsed:
    """ISO 8601 (``T`` or space), ``/`` or ``.`` date separators, Excel date cells.

    Time-zone aware values are converted to Korean time and stored naive.
    """
    if isinstance(value, dt.datetime):
        out = _naive_kst(value)
        if hasattr(out, "to_pydatetime"):  # pandas.Timestamp
            out = out.to_pydatetime()
        return out, None
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day), None
    if isinstance(value, str):
        s = value.strip()
        try:
            return _naive_kst(dt.datetime.fromisoformat(s)), None
        except ValueError:
            pass
        m = _DATETIME_RE.match(s)
        if m:
            try:
                frac = (m[7] or "0").ljust(6, "0")
                return dt.datetime(
                    int(m[1]), int(m[2]), int(m[3]), int(m[4] or 0), int(m[5] or 0), int(m[6] or 0), int(frac)
                ), None
            except ValueError:
                return None, f"존재하지 않는 날짜·시각({shown(value)})입니다"
        return None, _datetime_error(value)
    return None, _datetime_error(value)


def parse_str(value: Any, *, strip: bool = True) -> Parsed:
    if isinstance(value, str):
        s = value.strip() if strip else value
    elif isinstance(value, bool):
        s = "TRUE" if value else "FALSE"
    elif isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        s = str(int(value))
    elif isinstance(value, (dt.datetime, dt.date, dt.time)):
        s = value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    else:
        s = str(value)
    if "\x00" in s:
        return None, "글자에 허용되지 않는 제어 문자(NUL)가 들어 있습니다"
    return s, None


# --------------------------------------------------------------------------- domain parsers


def parse_category(value: str) -> Parsed:
    if value in categories():
        return value, None
    alias = category_aliases().get(value)
    hint = f" 혹시 '{alias}'인가요?" if alias and alias != value else ""
    return None, f"알 수 없는 분류({shown(value)})입니다.{hint} 가능한 분류: {', '.join(categories())}"


def parse_dish(value: str) -> Parsed:
    if value in dishes():
        return value, None
    return None, (
        f"알 수 없는 요리 이름({shown(value)})입니다. 비워 두거나 taxonomy.json에 있는 요리 이름"
        "(예: 떡볶이, 짜장면, 돈까스)으로 적어 주세요"
    )


def parse_district(value: str) -> Parsed:
    """One of Seoul's 25 구; "서울특별시 강남구", "서울 강남구" and "강남" are accepted too."""
    s = re.sub(r"^(서울특별시|서울시|서울)\s*", "", value.strip())
    known = seoul_districts()
    if s in known:
        return s, None
    if s + "구" in known:
        return s + "구", None
    return None, f"서울 25개 구가 아닌 지역({shown(value)})입니다. 구 이름(예: 강남구, 마포구, 노원구)으로 적어 주세요"


def parse_payment_method(value: str) -> Parsed:
    s = value.strip().lower()
    if s in PAYMENT_ALIASES:
        return PAYMENT_ALIASES[s], None
    return None, f"알 수 없는 결제 수단({shown(value)})입니다. {', '.join(PAYMENT_METHODS)} 중 하나로 적어 주세요"


def parse_closed_days(value: str) -> Parsed:
    """Weekly closing days → canonical "월,화" (Monday first); no days → ``None``.

    Accepts "월", "월요일", "월,화", "토/일", "토일", "월~수", "주말", "평일",
    English "mon".."sunday", and "없음"/"연중무휴" for none.
    """
    days: set[int] = set()
    unknown: list[str] = []
    for token in _DAY_SPLIT_RE.split(value.strip()):
        if not token:
            continue
        low = token.lower()
        if low in _NO_CLOSED_DAY or low in _FILLER_WORDS:
            continue
        if low in _EN_DAYS:
            days.add(_EN_DAYS[low])
        elif low == "주말":
            days.update((5, 6))
        elif low == "평일":
            days.update(range(5))
        elif m := _KO_DAYS_RE.match(low):
            days.update(WEEKDAYS.index(c) for c in m[1])
        elif m := _DAY_RANGE_RE.match(low):
            a, b = WEEKDAYS.index(m[1]), WEEKDAYS.index(m[2])
            if a > b:
                unknown.append(token)
            else:
                days.update(range(a, b + 1))
        else:
            unknown.append(token)
    if unknown:
        return None, (
            f"휴무일({shown(value)})에서 알 수 없는 요일({', '.join(unknown)})이 있습니다."
            " 예: 월 / 월,화 / 토/일 / 월요일 / mon"
        )
    if not days:
        return None, None
    return ",".join(WEEKDAYS[d] for d in sorted(days)), None
