"""Korean money and head-count expressions → integers.

``parse_money("만오천원") == 15000``, ``parse_money("1.5만원") == 15000``,
``parse_money("8천원에서 만원 사이") == 10000`` (a range gives its upper bound),
``find_money(text)`` returns the money spans of a sentence, ``parse_count``
reads "둘이서", "4명이서", "네 명" as head counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from naviyam.nlu.text import normalize

_KO_DIGITS = {"일": 1, "이": 2, "삼": 3, "사": 4, "오": 5, "육": 6, "륙": 6, "칠": 7, "팔": 8, "구": 9}
_UNITS = {"십": 10, "백": 100, "천": 1000, "만": 10000}

# One group: a number (digits or Korean digits) optionally followed by units, or a bare unit.
_NUM = r"(?:\d+(?:[.,]\d+)*|[일이삼사오육륙칠팔구])"
_GROUP = rf"(?:{_NUM}?[십백천만]+|\d+(?:[.,]\d+)*)"
# Groups may be separated by a space only after a unit (e.g. "만 오천", "1만 2천").
_AMOUNT = rf"{_GROUP}(?:\s?{_GROUP})*"
_WON = r"(?:\s?(?:원|₩|won|krw))"
_MONEY_RE = re.compile(rf"(?<![\d.,일이삼사오육륙칠팔구십백천만])({_AMOUNT})({_WON})?")
# What may follow a money amount written without 원 (e.g. "5천으로", "만 이하").
_BARE_OK = re.compile(
    r"^(?:\s*(?:으로|로|인데|이면|이야|이에요|이요|이하|밖에|밖애|짜리|정도|쯤|이내|안쪽|미만|까지|에서|부터|사이|선|대|있|가지|"
    r"예산|갖고|들고|이랑|랑|이면|면|내외|안으로|안에서|한도|\?|!|~|-|$)|\s*$)"
)
# After an amount in Korean words only ("오천", "만") without 원: a money-ish continuation is required.
_BARE_KO_OK = re.compile(r"^\s*(?:으로|인데|이면|이야|이에요|이요|이하|밖에|밖애|짜리|정도|쯤|이내|안쪽|미만|까지|에서|부터|사이|있|가지|갖고|들고|~|-|예산|한도|선에서)")
_RANGE_SEP = re.compile(r"^\s*(?:~|-|에서|부터|이상|에서부터|와|과|이랑|랑|\s)\s*")


@dataclass(frozen=True)
class MoneySpan:
    start: int
    end: int
    value: int


def _group_value(g: str) -> int | None:
    m = re.match(r"^(\d+(?:[.,]\d+)*|[일이삼사오육륙칠팔구])?([십백천만]*)$", g)
    if not m:
        return None
    num_s, units = m.group(1), m.group(2)
    if num_s is None:
        num = 1.0
    elif num_s in _KO_DIGITS:
        num = float(_KO_DIGITS[num_s])
    else:
        if "," in num_s and "." not in num_s:
            num = float(num_s.replace(",", ""))
        else:
            try:
                num = float(num_s.replace(",", ""))
            except ValueError:
                return None
    mult = 1
    for u in units:
        mult *= _UNITS[u]
    return int(round(num * mult))


def parse_amount(s: str) -> int | None:
    """Value of a Korean/Arabic amount without 원: "만오천" 15000, "1만 2천" 12000, "삼천오백" 3500."""
    tokens = re.findall(r"\d+(?:[.,]\d+)*|[일이삼사오육륙칠팔구십백천만]|\s+|.", s.strip())
    if not tokens:
        return None
    total, section = 0.0, 0.0
    num: float | None = None
    last_small = 10**6  # units inside one 만-section must descend (천 → 백 → 십)
    seen_man = False
    for tok in tokens:
        if tok.isspace():
            continue
        if tok[0].isdigit():
            if num is not None:
                return None
            try:
                num = float(tok.replace(",", ""))
            except ValueError:
                return None
        elif tok in _KO_DIGITS:
            if num is not None:
                return None
            num = float(_KO_DIGITS[tok])
        elif tok in ("십", "백", "천"):
            unit = _UNITS[tok]
            if unit >= last_small:
                return None
            section += (num if num is not None else 1.0) * unit
            num, last_small = None, unit
        elif tok == "만":
            if seen_man:
                return None
            section += num if num is not None else 0.0
            total += (section if section else 1.0) * 10000
            section, num, last_small, seen_man = 0.0, None, 10**6, True
        else:
            return None
    section += num if num is not None else 0.0
    value = int(round(total + section))
    return value if value > 0 else None


def find_money(text: str) -> list[MoneySpan]:
    """Money amounts in ``text`` (already normalised, lower case), in order.

    An amount counts as money when written with 원, or when it has a 천/만 unit
    (or is ≥ 1000 in digits) and is followed by a word like 으로/이하/밖에/정도.
    """
    out: list[MoneySpan] = []
    for m in _MONEY_RE.finditer(text):
        amount, won = m.group(1), m.group(2)
        if not amount.strip():
            continue
        value = parse_amount(amount)
        if value is None:
            continue
        start, end = m.start(1), m.end(2) if won else m.end(1)
        if won:
            if value < 100:
                continue
            # "원" must not begin another word (원래, 원하는, 원피스...).
            nxt = text[end:end + 1]
            if nxt and nxt in "래하피숭형룸조":
                continue
        else:
            has_digit = any(c.isdigit() for c in amount)
            if not has_digit and not _BARE_KO_OK.match(text[end:]):
                continue
            has_unit = any(u in amount for u in "천만")
            if not (has_unit or value >= 1000) or value < 1000:
                continue
            if not _BARE_OK.match(text[end:]):
                continue
            # A bare Korean unit alone ("만", "천") needs a digit or 원 around it.
            if re.fullmatch(r"[천만]", amount.strip()) and not re.match(r"\s*(?:~|-|에서|부터)", text[end:]):
                if not re.search(r"[\d일이삼사오육칠팔구]", amount):
                    prev = text[max(0, start - 6):start]
                    if not re.search(r"(?:~|-|에서|부터)\s*$", prev):
                        continue
        # A unit glued to a previous word is part of that word ("추천", "이만").
        if amount[0] in _UNITS and start > 0 and ("가" <= text[start - 1] <= "힣") and text[start - 1] not in _KO_DIGITS:
            if not re.search(r"(?:부터|에서|까지|이랑|랑|하고|딱|총|약|단|돈|이|가|은|는|도|요)$", text[max(0, start - 3):start]):
                continue
        # Korean digit must not be a particle glued to a previous word ("떡볶이천원").
        if (amount[0] in _KO_DIGITS and start > 0 and ("가" <= text[start - 1] <= "힣")
                and not re.search(r"(?:부터|에서|이랑|랑|하고|딱|총|약|단)$", text[max(0, start - 3):start])):
            sub = amount[1:]
            if not sub:
                continue
            v2 = parse_amount(sub)
            if v2 is None:
                continue
            start, value = start + 1, (v2 if not won or v2 >= 100 else value)
        out.append(MoneySpan(start, end, value))
    return out


def money_ranges(text: str) -> list[MoneySpan]:
    """Money spans with "A에서 B 사이", "A~B", "A부터 B까지" merged into one span (upper bound)."""
    spans = find_money(text)
    merged: list[MoneySpan] = []
    i = 0
    while i < len(spans):
        cur = spans[i]
        if i + 1 < len(spans):
            nxt = spans[i + 1]
            gap = text[cur.end:nxt.start]
            if len(gap) <= 5 and _RANGE_SEP.fullmatch(gap + " ") or gap.strip() in ("~", "-", "에서", "부터", "에서부터", ""):
                end = nxt.end
                tail = re.match(r"\s?(?:사이|까지|정도|선)", text[end:])
                if tail:
                    end += tail.end()
                merged.append(MoneySpan(cur.start, end, max(cur.value, nxt.value)))
                i += 2
                continue
        merged.append(cur)
        i += 1
    return merged


def parse_money(s: str) -> int | None:
    """The budget a money expression sets (upper bound of a range), else None."""
    t = normalize(s)
    spans = money_ranges(t)
    if not spans:
        # A tagged span may lack 원 and context ("5천"): read it directly.
        m = re.search(_AMOUNT, t)
        if m and (re.search(r"[\d천]", m.group(0)) or t.strip() in ("만", "만원")):
            v = parse_amount(m.group(0))
            if v is not None and v >= 500:
                return v
        return None
    return max(sp.value for sp in spans)


_NATIVE_COUNTS = {
    "혼자": 1, "둘": 2, "두": 2, "셋": 3, "세": 3, "석": 3, "넷": 4, "네": 4, "다섯": 5, "여섯": 6,
    "일곱": 7, "여덟": 8, "아홉": 9, "열": 10, "열한": 11, "열두": 12, "스무": 20, "스물": 20,
}
_COUNT_RE = re.compile(
    r"(\d{1,3}|둘|셋|넷|다섯|여섯|일곱|여덟|아홉|열두|열한|열|스무|스물|두|세|석|네|한)"
    r"\s?(명|인|사람|식구)?(이서|이|서|끼리|가|은|이요|)"
)


def parse_count(s: str) -> int | None:
    """Head count of a party phrase: "둘이서" 2, "4명이서" 4, "네 명" 4, "4인" 4; None if none."""
    t = normalize(s).strip()
    m = re.search(r"(\d{1,3})\s?(?:명|인|사람|식구)", t)
    if m:
        n = int(m.group(1))
        return n if 1 <= n <= 200 else None
    m = re.search(r"(열두|열한|다섯|여섯|일곱|여덟|아홉|스무|스물|열|한|두|세|석|네)\s?(?:명|사람|식구)", t)
    if m:
        return {"한": 1, **_NATIVE_COUNTS}.get(m.group(1))
    m = re.search(r"(둘|셋|넷|다섯|여섯|일곱|여덟|아홉|열)\s?(?:이서|이|서|끼리|이요)", t)
    if m:
        return _NATIVE_COUNTS.get(m.group(1))
    if re.fullmatch(r"(둘|셋|넷|다섯|여섯)", t):
        return _NATIVE_COUNTS[t]
    return None
