"""Tagged spans → contract entities and filters.

The tagger says *where* a slot is and what kind it is; this module decides
its canonical value (lexicon lookup with typo folding, Korean money and
head-count parsing), whether a food word is negated ("치킨 말고", "피자나
치킨은 빼고" → exclude lists; "매운 건 빼고" → not_spicy), and builds the
contract's ``filters`` and ``semantic_query``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from naviyam.core.contract import TIME_OF_DAY_KO
from naviyam.nlu.lexicon import ENTITY_NAMES, Lexicon, compact
from naviyam.nlu.matcher import Matcher
from naviyam.nlu.numbers import parse_count, parse_money
from naviyam.nlu.text import skeleton

SEARCH_INTENTS = ("FOOD_RECOMMENDATION", "BUDGET_FOOD_INQUIRY")
SHOP_INTENTS = ("MENU_INQUIRY", "SHOP_INFO", "FEEDBACK")

_AFTER_FOOD = re.compile(
    r"^(?:\s|은|는|이|가|도|을|를|만|요|집|가게|식당|점|종류|류|쪽|계열|같은\s?거|같은\s?건|같은\s?것|거|건|것|은요|는요|음식|메뉴|"
    r"이런\s?거|들|이랑|랑|으로|로|는요|이요|,)*"
)
_CONNECTOR = re.compile(r"^\s*(?:이나|나|랑|이랑|하고|,|와|과|도|및|또는|아니면|이든|든)?\s*(?:은|는|도)?\s*$")
_PARTICLE_TAIL = ("에서는", "에서도", "에서", "에는", "에도", "이랑", "한테", "은", "는", "에", "도", "의", "을", "를",
                  "으로", "로", "랑", "이요", "요", "까지", "부터")
_LOC_TAIL = ("앞에서", "앞에", "근처에서", "근처에", "근처", "주변에", "주변", "부근", "쪽에", "쪽", "앞", "옆에", "옆",
             "건너편", "근방")


@dataclass(frozen=True)
class Span:
    label: str
    start: int
    end: int


class Canonicaliser:
    def __init__(self, lexicon: Lexicon, matcher=None):
        self.lex = lexicon
        self.matcher = matcher or Matcher(lexicon)
        self._neg = sorted({compact(w) for w in lexicon.negation}, key=len, reverse=True)
        self._reset = sorted({compact(w) for w in lexicon.reset}, key=len, reverse=True)

    # ---- value lookup ---------------------------------------------------
    def lookup(self, label: str, surface: str) -> str | None:
        """Canonical value of ``surface`` for ``label`` via the matcher's index (typo folded)."""
        s = compact(surface)
        for cut in range(0, 4):
            cand = s[: len(s) - cut] if cut else s
            if not cand:
                break
            hits = self.matcher.index.get(skeleton(cand))
            if hits:
                for lab, value, _ in hits:
                    if lab == label:
                        return value
            if len(cand) >= 3:
                for j in range(len(cand)):
                    wk = skeleton(cand)[:j] + "\x00" + skeleton(cand)[j + 1:]
                    for lab, value, _key in self.matcher.fuzzy_index.get(wk, ()):
                        if lab == label:
                            return value
        # Longest lexicon word of this label inside the span.
        best = None
        sk = skeleton(s)
        for key, hits in self._label_keys(label):
            if key in sk and (best is None or len(key) > len(best[0])):
                best = (key, hits)
        return best[1] if best else None

    def _label_keys(self, label: str):
        cache = getattr(self, "_lk", None)
        if cache is None:
            cache = self._lk = {}
        if label not in cache:
            cache[label] = [(k, v) for k, hits in self.matcher.index.items() for lab, v, _ in hits
                            if lab == label and len(k) >= 2]
        return cache[label]

    def value(self, label: str, text: str) -> Any:
        """Canonical value of one tagged span, or None when it cannot be read."""
        t = text.strip()
        if not t:
            return None
        if label == "BUDGET":
            return parse_money(t)
        if label == "PARTY":
            return parse_count(t)
        if label in ("GOOD", "OPEN"):
            return True
        if label in ("CAT", "DISH", "COMP", "TIME", "DIET", "SORT", "NEAR", "PAY"):
            v = self.lookup(label, t)
            if v is None and label == "DISH":
                c = self.lookup("CAT", t)
                return ("CAT", c) if c else None
            if v is None and label == "CAT":
                dsh = self.lookup("DISH", t)
                return ("DISH", dsh) if dsh else None
            return v
        if label == "DIST":
            v = self.lookup("DIST", t)
            if v:
                return v
            m = re.match(r"^([가-힣]{1,4}구)", compact(t))
            return m.group(1) if m and m.group(1) in self.lex.districts else None
        if label == "DONG":
            v = self.lookup("DONG", t)
            if v:
                return v
            t2 = strip_tail(compact(t), _PARTICLE_TAIL + _LOC_TAIL)
            return t2 if t2.endswith(("동", "가")) and len(t2) >= 2 else None
        if label == "LMK":
            t2 = strip_tail(t, _LOC_TAIL + _PARTICLE_TAIL).strip()
            return t2 if len(t2) >= 2 else None
        if label == "SHOP":
            t2 = t
            for p in ("에서는", "에서도", "에서", "에는", "이랑", "한테", "에게", "은", "는", "에", "도", "의", "을", "를",
                      "이", "가"):
                if t2.endswith(p) and len(t2) - len(p) >= 2:
                    base = t2[: -len(p)]
                    if p in ("이", "가") and base not in self.lex.shop_names:
                        continue
                    t2 = base
                    break
            return t2.strip() or None
        return None

    # ---- negation -------------------------------------------------------
    def negated_after(self, norm: str, end: int) -> bool:
        rest = norm[end:end + 24]
        m = _AFTER_FOOD.match(rest)
        rest = rest[m.end():] if m else rest
        pos = [i for i, c in enumerate(rest) if c != " "]
        comp = "".join(rest[i] for i in pos)
        for w in self._neg:
            if comp.startswith(w):
                after = pos[len(w) - 1] + 1
                nxt = rest[after:after + 1]
                # short markers must end there: "빼빼로", "패스트푸드" are not negations
                if w in ("빼", "패스", "별로") and nxt and "가" <= nxt <= "힣" and nxt not in "요야임다":
                    continue
                return True
        return False

    def is_reset(self, norm: str) -> bool:
        c = compact(norm)
        return any(w in c for w in self._reset)

    # ---- spans → entities + filters ----------------------------------
    def canonicalise(self, text: str, norm: str, spans: list[Span], intent: str) -> tuple[list[dict], dict]:
        """(contract entities, cleaned filters) of a turn's tagged spans."""
        items = self._items(text, spans)
        negated = self._negations(norm, items)
        turn = _Turn()
        for i, (sp, label, v) in enumerate(items):
            surface = text[sp.start:sp.end]
            ent_name = ENTITY_NAMES[label]
            if label in _FOOD_LABELS:
                kept = self._food(turn, label, v, negated.get(i, False), surface, ent_name)
            else:
                kept = _slot(turn, label, v, surface, intent, ent_name)
            if kept is not None:
                ent_name, value = kept
                turn.entities.append({"entity": ent_name, "value": value, "text": surface,
                                      "start": sp.start, "end": sp.end})
        return turn.entities, clean_filters(turn.filters())

    def _items(self, text: str, spans: list[Span]) -> list[tuple[Span, str, Any]]:
        """(span, label, canonical value) of the spans that have a value, left to right."""
        items: list[tuple[Span, str, Any]] = []
        for sp in sorted(spans, key=lambda s: s.start):
            v = self.value(sp.label, text[sp.start:sp.end])
            label = sp.label
            if isinstance(v, tuple):
                label, v = v
            if v is None:
                continue
            items.append((sp, label, v))
        return items

    def _negations(self, norm: str, items: list[tuple[Span, str, Any]]) -> dict[int, bool]:
        """Item index -> negated, for the food words (right to left, so "A나 B 말고" negates both)."""
        negated: dict[int, bool] = {}
        food_idx = [i for i, (_, lab, _) in enumerate(items) if lab in _FOOD_LABELS]
        for pos in range(len(food_idx) - 1, -1, -1):
            i = food_idx[pos]
            sp = items[i][0]
            neg = self.negated_after(norm, sp.end)
            if not neg and pos + 1 < len(food_idx):
                j = food_idx[pos + 1]
                gap = norm[sp.end:items[j][0].start]
                if negated.get(j) and _CONNECTOR.match(gap) and items[j][1] != "DIET":
                    neg = True
            negated[i] = neg
        return negated

    def _food(self, turn: _Turn, label: str, v: Any, neg: bool, surface: str,
              ent_name: str) -> tuple[str, Any] | None:
        """A category, dish or diet word into the turn: (entity name, value), or None when it is dropped."""
        value: Any = v
        if label == "CAT":
            if neg:
                _add_list(turn.f, "exclude_categories", v)
                ent_name = "exclude_category"
            else:
                turn.cat_order.append((v, None))
            if v == "디저트" and compact(surface).startswith("간식") and not neg:
                # a bare 간식 is a time (snack) and a weak category
                turn.f["time_of_day"] = "snack"
                turn.weak_cat = True
        elif label == "DISH":
            if neg:
                _add_list(turn.f, "exclude_menus", v)
                ent_name = "exclude_menu"
            else:
                turn.cat_order.append((self.lex.dish_category.get(v, ""), v))
        else:  # DIET
            if neg and v == "spicy":
                value = "not_spicy"
            elif neg:
                return None
            _add_list(turn.f, "dietary_preferences", value)
        return ent_name, value


_FOOD_LABELS = ("CAT", "DISH", "DIET")
_LOCATION_KEYS = {"DIST": "district", "DONG": "dong", "LMK": "landmark", "NEAR": "near"}
_FILTER_KEYS = {"COMP": "companion", "PAY": "payment_method", "SORT": "sort"}
_FLAG_KEYS = {"GOOD": "good_shop", "OPEN": "open_now"}


@dataclass
class _Turn:
    """What a turn's spans add up to while they are read left to right."""

    f: dict[str, Any] = field(default_factory=dict)
    loc: dict[str, str] = field(default_factory=dict)
    cat_order: list[tuple[str, str | None]] = field(default_factory=list)  # (category, dish or None)
    weak_cat: bool = False  # a bare "간식": category 디저트 unless another food is named
    entities: list[dict] = field(default_factory=list)

    def filters(self) -> dict[str, Any]:
        """The filters: the last named food decides category and menu; exclusions and "not spicy" win."""
        f, loc, cat_order = self.f, self.loc, self.cat_order
        if self.weak_cat and not cat_order:
            cat_order.append(("디저트", None))
        if cat_order:
            cat, dish = cat_order[-1]
            if cat:
                f["category"] = cat
            dishes = [d for c, d in cat_order if d and c == cat]
            if dish:
                f["menu"] = dish
            elif dishes:
                f["menu"] = dishes[-1]
        if loc.get("near") == "current" and any(k in loc for k in ("district", "dong", "landmark")):
            del loc["near"]
        if loc:
            f["location_filter"] = loc
        # "매운 거 못 먹는데 … 순한 맛": a turn that says both keeps the negative one.
        diets = f.get("dietary_preferences", [])
        if "spicy" in diets and "not_spicy" in diets:
            diets.remove("spicy")
        # Saying both "치킨" and "치킨 빼고": the exclusion wins.
        if f.get("category") and f.get("category") in f.get("exclude_categories", []):
            f.pop("category")
            f.pop("menu", None)
        if f.get("menu") and f.get("menu") in f.get("exclude_menus", []):
            f.pop("menu")
        return f


def _slot(turn: _Turn, label: str, v: Any, surface: str, intent: str, ent_name: str) -> tuple[str, Any] | None:
    """Any other slot into the turn: (entity name, value), or None when this intent does not keep it."""
    value: Any = v
    if label == "BUDGET":
        if not isinstance(v, int) or v <= 0 or intent == "COUPON_INQUIRY":
            return None
        value = int(v)
        turn.f["budget_filter"] = max(int(turn.f.get("budget_filter", 0)), value)
    elif label == "PARTY":
        value = int(v)
        turn.f["party_size"] = value
    elif label == "TIME":
        turn.f["time_of_day"] = v
        if v == "snack" and compact(surface).startswith("간식"):
            turn.weak_cat = True
    elif label in _FILTER_KEYS:
        turn.f[_FILTER_KEYS[label]] = v
    elif label in _FLAG_KEYS:
        turn.f[_FLAG_KEYS[label]] = True
        value = True
    elif label in _LOCATION_KEYS:
        turn.loc[_LOCATION_KEYS[label]] = v
    elif label == "SHOP":
        if intent not in SHOP_INTENTS:
            return None  # only questions/feedback about one named shop carry a shop_name
        turn.f.setdefault("shop_name", v)
    return ent_name, value


def _add_list(f: dict[str, Any], key: str, v: Any) -> None:
    lst = f.setdefault(key, [])
    if v not in lst:
        lst.append(v)


def strip_tail(s: str, tails: tuple[str, ...]) -> str:
    changed = True
    while changed:
        changed = False
        for t in sorted(tails, key=len, reverse=True):
            if s.endswith(t) and len(s) > len(t) + 1:
                s = s[: -len(t)].rstrip()
                changed = True
                break
    return s


_KEY_ORDER = ("category", "menu", "budget_filter", "companion", "party_size", "time_of_day", "dietary_preferences",
              "payment_method", "good_shop", "location_filter", "open_now", "sort", "exclude_categories",
              "exclude_menus", "shop_name")


def clean_filters(f: dict[str, Any]) -> dict[str, Any]:
    """Contract shape: only set keys, ints as int, no empty lists, no duplicates."""
    out: dict[str, Any] = {}
    for k in _KEY_ORDER:
        if k not in f:
            continue
        v = f[k]
        if v is None or v == [] or v == {} or v == "":
            continue
        if k in ("budget_filter", "party_size"):
            try:
                v = int(v)
            except (TypeError, ValueError):
                continue
            if v <= 0:
                continue
        if isinstance(v, list):
            dedup: list[Any] = []
            for x in v:
                if x not in dedup:
                    dedup.append(x)
            v = dedup
        if k == "location_filter":
            v = {kk: v[kk] for kk in ("district", "dong", "landmark", "near") if v.get(kk)}
            if not v:
                continue
        if k in ("good_shop", "open_now"):
            v = True
        out[k] = v
    return out


_KO = {
    "alone": "혼밥", "friends": "친구", "family": "가족", "date": "데이트", "group": "단체",
    **TIME_OF_DAY_KO,
    "healthy": "건강식", "vegetarian": "채식", "not_spicy": "안 매운", "spicy": "매운", "light": "가벼운",
    "hearty": "든든한", "price": "가성비", "rating": "평점 좋은", "distance": "가까운", "popularity": "인기",
    "school": "학교 근처", "home": "집 근처", "current": "근처",
}


def from_korean_names(filters: dict[str, Any]) -> dict[str, Any]:
    """Filters whose enum values are written as their Korean display names ("건강식", "저녁") in canonical form.

    Clients of the original API send such values; anything not recognised is left as it is.
    """
    back = {ko: en for en, ko in _KO.items()}
    out: dict[str, Any] = {}
    for key, value in filters.items():
        if isinstance(value, list):
            out[key] = [back.get(v, v) if isinstance(v, str) else v for v in value]
        elif isinstance(value, str) and key in ("companion", "time_of_day", "sort"):
            out[key] = back.get(value, value)
        else:
            out[key] = value
    return out


def semantic_query(filters: dict[str, Any], text: str = "") -> str:
    """A short Korean search phrase for the retriever, built from the filters (or the text)."""
    parts: list[str] = []
    loc = filters.get("location_filter") or {}
    for k in ("district", "dong", "landmark"):
        if loc.get(k):
            parts.append(str(loc[k]))
    if loc.get("near"):
        parts.append(_KO[loc["near"]])
    if filters.get("companion"):
        parts.append(_KO[filters["companion"]])
    if filters.get("party_size"):
        parts.append(f"{filters['party_size']}명")
    for d in filters.get("dietary_preferences", []):
        parts.append(_KO[d])
    if filters.get("time_of_day"):
        parts.append(_KO[filters["time_of_day"]])
    if filters.get("sort"):
        parts.append(_KO[filters["sort"]])
    if filters.get("good_shop"):
        parts.append("착한가게")
    if filters.get("payment_method"):
        parts.append("급식카드" if filters["payment_method"] == "meal_card" else "식사쿠폰")
    if filters.get("budget_filter"):
        parts.append(f"{filters['budget_filter']}원 이하")
    if filters.get("shop_name"):
        parts.append(str(filters["shop_name"]))
    if filters.get("menu"):
        parts.append(str(filters["menu"]))
    elif filters.get("category"):
        parts.append(str(filters["category"]))
    if not parts:
        t = " ".join(text.split())[:40]
        return t
    if not filters.get("shop_name") and not filters.get("menu"):
        parts.append("식당")
    return " ".join(parts)
