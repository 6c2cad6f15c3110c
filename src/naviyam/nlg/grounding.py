"""The grounding guard: an LLM answer may name only recommended shops and only their real figures.

A generated answer is accepted only when every check passes; otherwise the
caller uses the template answer. The guard errs on the side of rejecting —
a rejected good answer costs a little fluency, an accepted wrong one would
send a child to a shop or price that does not exist.

What "grounded" means here (``GroundingGuard.check``):

1. **Money.** Every amount written with 원 (``8,000원``, ``8천 원``, ``만원``,
   ``1만2천원``, ``칠천원``; read by :func:`naviyam.nlu.numbers.find_money`) must be
   a signature-menu price or a price-range bound of a recommended shop, or an
   amount the user wrote in the question (echoing "만원으로" is not a claim).
   Binding: in a sentence that names recommended shops the amount must belong
   to one of *those* shops; right after a recommended menu name (within a few
   characters) it must be *that* menu's price.
2. **Distances.** ``350m`` / ``1.2km`` must be within 15 % (at least 50 m) of a
   recommended shop's distance (of the shops named in the sentence, if any).
3. **Marks.** A sentence that says 급식카드 / 꿈나무카드 or 착한가게 without a
   negation may name only shops that have that mark.
4. **Names.** After the recommended names and their menu names are masked:
   a known shop name (the operator's shops and the built-in brand list) that is
   not part of a recommended name is rejected; so is any word that looks like
   a shop name — a name part of at least two characters followed by a shop
   suffix (``…분식``, ``…반점``, ``…치킨``, ``…식당``; the lexicon's suffixes of two or
   more characters) — unless it is a food word (taxonomy categories, aliases,
   dishes, taste words, common ingredients) or part of a recommended name;
   and any quoted text ('…', "…", 「…」) must be a recommended name, a menu
   of a recommended shop or a food word.

Mentions of a recommended shop by a part of its name ("교촌치킨" for
"교촌치킨 봉천점") are accepted: the comparison is on the names with spaces
removed, and a word contained in a recommended name is that shop.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from naviyam.nlu.lexicon import Lexicon
from naviyam.nlu.numbers import find_money
from naviyam.nlu.text import normalize

_SENTENCE = re.compile(r"(?<=[.!?。…])\s+|\n+|(?<=요)\s+(?=[^\s])")
_WORD = re.compile(r"[가-힣A-Za-z0-9&]+")
_QUOTED = re.compile(r"['\"‘’“”「」『』]([^'\"‘’“”「」『』\n]{1,30})['\"‘’“”「」『』]")
_DISTANCE = re.compile(r"(\d+(?:[.,]\d+)?)\s*(km|킬로미터|킬로|m|미터)(?![a-z])", re.IGNORECASE)
_NEGATION = ("안 돼", "안돼", "안 되", "안되", "못 ", "못써", "없어", "없는", "없고", "아니", "않", "불가")
_MEAL_CARD_WORDS = ("급식카드", "꿈나무카드", "아동급식", "급식 카드")
_GOOD_SHOP_WORDS = ("착한가게", "착한 가게")
_PARTICLES = ("에서는", "에서도", "에서", "에게", "한테", "이랑", "까지", "부터", "처럼", "보다", "으로", "이에요", "예요",
              "이요", "에는", "에도", "에", "은", "는", "이", "가", "을", "를", "도", "의", "랑", "로", "와", "과", "요",
              "만", "이나", "나")
#: Food words that can stand before a shop suffix without making a shop name ("치즈김밥", "순살치킨").
_INGREDIENTS = ("치즈", "참치", "김치", "야채", "소고기", "돼지", "해물", "새우", "오징어", "불고기", "제육", "계란",
                "감자", "고구마", "크림", "로제", "짜장", "간장", "양념", "후라이드", "프라이드", "반반", "순살", "마늘",
                "토마토", "수제", "옛날", "즉석", "미니", "멸치", "떡갈비", "돈까스", "카레", "불닭", "고추", "된장",
                "닭", "소", "돼지고기", "닭고기", "물", "비빔", "냉", "온", "매운", "순한", "달콤한", "바삭한", "맛있는",
                "근처", "동네", "우리", "학교", "학교앞", "집", "착한", "유명한", "인기", "저렴한", "가까운")
_GENERIC = ("가게", "식당", "음식점", "맛집", "분식집", "밥집", "치킨집", "피자집", "중국집", "빵집", "카페", "편의점",
            "급식카드", "꿈나무카드", "착한가게", "나비얌", "메뉴", "대표메뉴")


def _compact(s: str) -> str:
    return re.sub(r"\s+", "", s).lower()


def _strip_particle(word: str) -> str:
    for p in sorted(_PARTICLES, key=len, reverse=True):
        if word.endswith(p) and len(word) - len(p) >= 2:
            return word[: -len(p)]
    return word


@dataclass
class GroundingReport:
    ok: bool
    problems: list[str] = field(default_factory=list)
    shops_named: list[str] = field(default_factory=list)


@dataclass
class _Shop:
    name: str
    key: str  # compact name
    aliases: tuple[str, ...]
    prices: set[int]
    menus: dict[str, int]  # compact menu name → price
    meal_card: bool
    good_shop: bool
    distance_m: float | None


class GroundingGuard:
    """Checks one generated answer against the recommendations it is about."""

    def __init__(self, recommendations: list[dict[str, Any]], *, question: str = "",
                 known_shop_names: Iterable[str] = (), lexicon: Any = None):

        self.shops = [self._shop(r) for r in recommendations]
        self.question_amounts = {m.value for m in find_money(normalize(question or ""))}
        self.all_prices = set().union(*(s.prices for s in self.shops)) if self.shops else set()
        lex = lexicon if lexicon is not None else _default_lexicon()
        self.food_words = _food_words(lex)
        self.suffixes = sorted({x for x in (lex.shop_suffixes if lex else ()) if len(x) >= 2} |
                               {"분식", "반점", "치킨", "식당", "김밥", "떡볶이", "피자", "버거", "국밥", "카페"},
                               key=len, reverse=True)
        names = set(known_shop_names) | set(lex.shop_names if lex else ())
        self.known_names = sorted({_compact(n) for n in names if len(_compact(n)) >= 2}, key=len, reverse=True)

    @staticmethod
    def _shop(r: dict[str, Any]) -> _Shop:
        name = str(r.get("name") or "")
        key = _compact(name)
        first = name.split()[0] if name.split() else name
        aliases = tuple({key} | ({_compact(first)} if len(_compact(first)) >= 3 else set()))
        prices: set[int] = set()
        pr = r.get("price_range") or {}
        for b in (pr.get("min"), pr.get("max")):
            if b is not None:
                prices.add(int(round(b)))
        menus: dict[str, int] = {}
        for m in r.get("signature_menus") or []:
            if m.get("price") is not None:
                prices.add(int(round(m["price"])))
                if m.get("name"):
                    menus[_compact(str(m["name"]))] = int(round(m["price"]))
        return _Shop(name, key, aliases, prices, menus, bool(r.get("accepts_meal_card")), bool(r.get("is_good_shop")),
                     r.get("distance_m"))

    # ------------------------------------------------------------------
    def _named_in(self, sentence: str) -> list[_Shop]:
        c = _compact(sentence)
        return [s for s in self.shops if any(a and a in c for a in s.aliases)]

    def check(self, text: str) -> GroundingReport:
        problems: list[str] = []
        named_all: list[str] = []
        if not text or not text.strip():
            return GroundingReport(False, ["empty answer"])
        for sentence in (x for x in _SENTENCE.split(text) if x and x.strip()):
            named = self._named_in(sentence)
            named_all += [s.name for s in named if s.name not in named_all]
            problems += self._check_money(sentence, named)
            problems += self._check_distance(sentence, named)
            problems += self._check_marks(sentence, named)
        problems += self._check_names(text)
        return GroundingReport(not problems, problems, named_all)

    def _check_money(self, sentence: str, named: list[_Shop]) -> list[str]:

        out = []
        norm = normalize(sentence)
        for m in find_money(norm):
            v = m.value
            if v in self.question_amounts:
                continue
            # Right after a recommended menu name: that menu's price.
            before = _compact(norm[max(0, m.start - 14):m.start])
            menu_prices = {p for s in (named or self.shops) for name, p in s.menus.items()
                           if name and (before.endswith(name) or before[:-1].endswith(name)
                                        or before[:-2].endswith(name))}
            if menu_prices:
                if v not in menu_prices:
                    out.append(f"price {v}원 is not the menu's price ({sorted(menu_prices)})")
                continue
            allowed = set().union(*(s.prices for s in named)) if named else self.all_prices
            if v not in allowed:
                who = ", ".join(s.name for s in named) if named else "any recommended shop"
                out.append(f"price {v}원 is not a price of {who}")
        return out

    def _check_distance(self, sentence: str, named: list[_Shop]) -> list[str]:
        out = []
        for m in _DISTANCE.finditer(sentence):
            x = float(m.group(1).replace(",", ""))
            metres = x * 1000 if m.group(2).lower().startswith(("km", "킬로")) else x
            pool = [s.distance_m for s in (named or self.shops) if s.distance_m is not None]
            if not any(abs(metres - d) <= max(50.0, 0.15 * d) for d in pool):
                out.append(f"distance {m.group(0)} matches no recommended shop")
        return out

    def _check_marks(self, sentence: str, named: list[_Shop]) -> list[str]:
        if not named or any(n in sentence for n in _NEGATION):
            return []
        out = []
        if any(w in sentence for w in _MEAL_CARD_WORDS):
            out += [f"{s.name} does not take the meal card" for s in named if not s.meal_card]
        if any(w in sentence for w in _GOOD_SHOP_WORDS):
            out += [f"{s.name} is not a good shop (착한가게)" for s in named if not s.good_shop]
        return out

    def _allowed_word(self, w: str) -> bool:
        """A word (compact) that refers to a recommended shop, one of its menus, or food in general."""
        if not w or w in self.food_words or w in _GENERIC:
            return True
        if any(w in s.key for s in self.shops):
            return True
        return any(w in name or name in w for s in self.shops for name in s.menus if len(name) >= 2)

    def _check_names(self, text: str) -> list[str]:
        out: list[str] = []
        masked = text
        # Mask what was recommended: shop names (as written and without spaces) and their menus.
        for s in sorted(self.shops, key=lambda s: -len(s.name)):
            for form in {s.name, s.key, *s.aliases}:
                if form:
                    masked = masked.replace(form, " ◆ ")
        for s in self.shops:
            for name in sorted(s.menus, key=len, reverse=True):
                if len(name) >= 2:
                    masked = masked.replace(name, " ◇ ")
        flat = _compact(masked)
        for known in self.known_names:
            if known in flat and not self._allowed_word(known):
                out.append(f"names a shop that was not recommended: {known}")
                flat = flat.replace(known, "◆")
        for m in _QUOTED.finditer(masked):
            q = _compact(m.group(1))
            if q and "◆" not in q and "◇" not in q and not self._allowed_word(q):
                out.append(f"quoted name {m.group(1)!r} is not a recommended shop or menu")
        for raw in _WORD.findall(masked):
            w = _strip_particle(raw)
            if self._allowed_word(_compact(w)):
                continue
            for suf in self.suffixes:
                if w.endswith(suf) and len(w) - len(suf) >= 2:
                    prefix = w[: -len(suf)]
                    if prefix in self.food_words or any(prefix.endswith(x) for x in _INGREDIENTS):
                        break
                    msg = f"shop-like name that was not recommended: {w}"
                    if msg not in out:
                        out.append(msg)
                    break
        return out


def _default_lexicon():
    try:

        return _cached_lexicon(Lexicon)
    except Exception:  # noqa: BLE001 - the guard still works on its own word lists
        return None


_LEX_CACHE: dict[str, Any] = {}


def _cached_lexicon(cls):
    if "lex" not in _LEX_CACHE:
        _LEX_CACHE["lex"] = cls.build(None)
    return _LEX_CACHE["lex"]


def _food_words(lex: Any) -> set[str]:
    words = {_compact(x) for x in _INGREDIENTS}
    if lex is None:
        return words
    for c, v in lex.categories.items():
        words.add(_compact(c))
        words.update(_compact(x) for x in v.get("aliases", []))
        words.update(_compact(x) for x in v.get("dishes", []))
    for label in ("CAT", "DISH", "DIET"):
        words.update(_compact(x) for x in lex.phrases.get(label, {}))
    return {w for w in words if w}
