"""Compositional NLU training-data generator (seed §44.A format).

Every example is built from *pieces* — plain text or a tagged slot surface
with its canonical value — so character offsets stay exact after noise is
applied. Sentences are composed from random slot combinations, many carrier
phrases per intent, 반말/존댓말 endings, fillers, slang and emoji, spacing
noise and typing errors; the gold ``filters`` are computed from the chosen
slot values, not from the text, so the generator does not share the parser's
canonicalisation code (a test checks both agree).

Output lines: ``{"text", "intent", "entities": [{entity, value, text, start,
end}], "semantic_query", "filters"}``.
"""

from __future__ import annotations

import json
import random
import re as _re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from naviyam.core.taxonomy import read_resource
from naviyam.nlu.canonical import semantic_query
from naviyam.nlu.lexicon import ENTITY_NAMES, Lexicon
from naviyam.nlu.text import CHOSEONG, JUNGSEONG, compose, decompose

# ---------------------------------------------------------------- pieces


@dataclass
class Piece:
    text: str
    label: str | None = None  # tagger label (CAT, DISH, ...) or None
    value: str | None = None  # canonical entity value
    noisy: bool = True  # may receive typing noise


@dataclass
class Draft:
    intent: str
    pieces: list[Piece] = field(default_factory=list)
    filters: dict[str, Any] = field(default_factory=dict)

    def add(self, *items: Piece | str) -> Draft:
        for it in items:
            self.pieces.append(it if isinstance(it, Piece) else Piece(it))
        return self


def P(text: str) -> Piece:
    return Piece(text)


def merge_filters(into: dict[str, Any], upd: dict[str, Any]) -> None:
    for k, v in upd.items():
        if k in ("exclude_categories", "exclude_menus", "dietary_preferences"):
            lst = into.setdefault(k, [])
            for x in v:
                if x not in lst:
                    lst.append(x)
        elif k == "location_filter":
            into.setdefault(k, {}).update(v)
        else:
            into[k] = v


# ---------------------------------------------------------------- numbers

_KD = ["", "일", "이", "삼", "사", "오", "육", "칠", "팔", "구"]


def korean_number(n: int) -> str:
    """15000 → "만오천", 3500 → "삼천오백", 10000 → "만", 20000 → "이만"."""
    out = []
    man, rest = divmod(n, 10000)
    if man:
        out.append(("" if man == 1 else korean_number(man)) + "만")
    for unit, name in ((1000, "천"), (100, "백"), (10, "십")):
        d, rest = divmod(rest, unit)
        if d:
            out.append(("" if d == 1 else _KD[d]) + name)
    if rest:
        out.append(_KD[rest])
    return "".join(out)


def money_surface(rng: random.Random, v: int, bare_ok: bool = False) -> str:
    man, rest = divmod(v, 10000)
    chun = rest // 1000
    styles = ["digits", "comma", "korean", "mixed", "korean_sp"]
    if v % 1000 == 0 and v < 10000:
        styles += ["chun", "chun", "chun_sp"]
    if v % 5000 == 0 and v >= 10000 and rest:
        styles += ["decimal"]
    if v >= 10000 and rest == 0:
        styles += ["man", "man", "man_sp"]
    st = rng.choice(styles)
    won = "원" if not (bare_ok and rng.random() < 0.2) else ""
    if st == "digits":
        s = str(v)
    elif st == "comma":
        s = f"{v:,}"
    elif st == "korean":
        s = korean_number(v)
    elif st == "korean_sp":
        s = korean_number(v).replace("만", "만 ") .strip()
        won = " 원" if won and rng.random() < 0.5 else won
    elif st == "mixed":
        parts = []
        if man:
            parts.append(f"{man}만" if man > 1 or rng.random() < 0.5 else "만")
        if chun:
            parts.append(f"{chun}천")
        if rest % 1000:
            parts.append(f"{(rest % 1000) // 100}백")
        s = (" " if rng.random() < 0.3 else "").join(parts) or str(v)
    elif st in ("chun", "chun_sp"):
        s = f"{chun}천" if rng.random() < 0.7 else korean_number(v)
        if st == "chun_sp" and won:
            won = " 원"
    elif st == "decimal":
        s = f"{v / 10000:g}만"
    else:  # man
        s = f"{man}만" if (man > 1 or rng.random() < 0.4) else "만"
        if man > 1 and rng.random() < 0.4:
            s = korean_number(v)
        if st == "man_sp" and won:
            won = " 원"
    return s + won


_PHRASES = read_resource("nlu", "phrases.json")
BUDGET_VALUES: list[int] = _PHRASES["budget_values"]


# ---------------------------------------------------------------- carrier phrases (resources/nlu/phrases.json)

REQ: list[str] = _PHRASES["req"]
WANT: list[str] = _PHRASES["want"]
HEADS: list[str] = _PHRASES["heads"]
FOOD_CTX: list[str] = _PHRASES["food_ctx"]
INTRO: list[str] = _PHRASES["intro"]
TAIL: list[str] = _PHRASES["tail"]
DECOY_ADJ: list[str] = _PHRASES["decoy_adj"]
DECOY_HEAD: list[str] = _PHRASES["decoy_head"]
BUDGET_FRAMES: list[tuple[str, list[str]]] = [(head, tails) for head, tails in _PHRASES["budget_frames"]]
BUDGET_MOD: list[str] = _PHRASES["budget_mod"]
MENU_Q: list[str] = _PHRASES["menu_q"]
SHOP_Q: list[str] = _PHRASES["shop_q"]
SHOP_PAY_Q: list[str] = _PHRASES["shop_pay_q"]
SHOP_OPEN_Q: list[str] = _PHRASES["shop_open_q"]
COUPON_Q: list[str] = _PHRASES["coupon_q"]
COUPON_BARE: list[str] = _PHRASES["coupon_bare"]
GREET: list[str] = _PHRASES["greet"]
BYE: list[str] = _PHRASES["bye"]
HELP: list[str] = _PHRASES["help"]
FEEDBACK_S: list[str] = _PHRASES["feedback_s"]
FEEDBACK_PAY: list[str] = _PHRASES["feedback_pay"]
FEEDBACK_BARE: list[str] = _PHRASES["feedback_bare"]
OOS: list[str] = _PHRASES["oos"]
FOLLOW_FOOD: list[str] = _PHRASES["follow_food"]
FOLLOW_SORT: dict[str, list[str]] = _PHRASES["follow_sort"]
RESET: list[str] = _PHRASES["reset"]
GENERIC_FOOD: list[str] = _PHRASES["generic_food"]
NEG_MARKERS: list[str] = _PHRASES["neg_markers"]

# Typing noise: keyboard-neighbour vowels and tense/lax swaps on one syllable.
_V_NEIGHBOUR = {"ㅏ": "ㅓㅣ", "ㅓ": "ㅏㅗ", "ㅗ": "ㅓㅜ", "ㅜ": "ㅗㅡ", "ㅐ": "ㅔ", "ㅔ": "ㅐ", "ㅣ": "ㅏㅡ", "ㅡ": "ㅜㅣ",
                "ㅕ": "ㅔㅑ", "ㅑ": "ㅕ"}
_L_SWAP = {"ㄱ": "ㄲ", "ㄲ": "ㄱ", "ㄷ": "ㄸ", "ㄸ": "ㄷ", "ㅂ": "ㅃ", "ㅃ": "ㅂ", "ㅅ": "ㅆ", "ㅆ": "ㅅ", "ㅈ": "ㅉ",
           "ㅉ": "ㅈ"}


def typo_syllable(rng: random.Random, ch: str) -> str:
    p = decompose(ch)
    if p is None:
        return ch
    l, v, t = p
    r = rng.random()
    if r < 0.45 and l in _L_SWAP:
        l = _L_SWAP[l]
    elif r < 0.85 and v in _V_NEIGHBOUR:
        v = rng.choice(_V_NEIGHBOUR[v])
    elif t:
        t = ""
    else:
        return ch
    if l not in CHOSEONG or v not in JUNGSEONG:
        return ch
    return compose(l, v, t)


# ---------------------------------------------------------------- the generator


class Generator:
    """Generates NLU examples; ``rng`` decides everything, so a seed reproduces a data set."""

    def __init__(self, lexicon: Lexicon, seed: int = 0):
        self.lex = lexicon
        self.rng = random.Random(seed)
        ph = lexicon.phrases
        self.cat_surfaces = self._invert(ph["CAT"])
        self.dish_surfaces = self._invert(ph["DISH"])
        self.comp = self._invert(ph["COMP"])
        self.time = self._invert(ph["TIME"])
        self.diet = self._invert(ph["DIET"])
        self.sort = self._invert(ph["SORT"])
        self.near = self._invert(ph["NEAR"])
        self.pay = self._invert(ph["PAY"])
        self.open_words = list(ph["OPEN"])
        self.good_words = list(ph["GOOD"])
        self.dongs = list(lexicon.dongs)
        self.shop_pool = list(lexicon.shop_names)

    @staticmethod
    def _invert(table: dict[str, str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for s, v in table.items():
            out.setdefault(v, []).append(s)
        return out

    # -- small helpers
    def pick(self, seq):
        return self.rng.choice(seq)

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def surface(self, canonical: str, variants: list[str], p_canon: float = 0.7) -> str:
        if canonical in variants and self.chance(p_canon):
            return canonical
        return self.pick(variants)

    # -- slot realisations (pieces, filter update)
    def food(self, exclude: bool = False) -> tuple[list[Piece], dict[str, Any]]:
        if self.chance(0.35):
            cat = self.pick(list(self.cat_surfaces))
            s = self.surface(cat, self.cat_surfaces[cat], 0.35)
            if exclude:
                return [Piece(s, "CAT", cat)], {"exclude_categories": [cat]}
            return [Piece(s, "CAT", cat)], {"category": cat}
        dish = self.pick(list(self.dish_surfaces))
        s = self.surface(dish, self.dish_surfaces[dish], 0.6)
        if exclude:
            return [Piece(s, "DISH", dish)], {"exclude_menus": [dish]}
        return [Piece(s, "DISH", dish)], {"menu": dish, "category": self.lex.dish_category[dish]}

    def landmark_name(self) -> str:
        if self.lex.landmarks and self.chance(0.5):
            return self.pick(self.lex.landmarks)
        pre = self.pick(self.lex.landmark_prefixes)
        suf = self.pick(["역", "역", "초등학교", "중학교", "고등학교", "초", "중", "공원", "시장", "도서관", "구청",
                         "주민센터", "사거리", "아파트", "대학교", "체육관", "문화센터", "교회", "병원"])
        return pre + suf

    def location(self) -> tuple[list[Piece], dict[str, Any]]:
        r = self.rng.random()
        if r < 0.2:
            d = self.pick(self.lex.districts)
            return [Piece(d, "DIST", d), P(self.pick(["에", "에서", " 쪽에", "에 있는", " 근처", " 근처에", "", " 쪽", "에서 갈 만한"]))], \
                {"location_filter": {"district": d}}
        if r < 0.4:
            d = self.pick(self.dongs)
            lf: dict[str, Any] = {"dong": d}
            pieces = [Piece(d, "DONG", d), P(self.pick(["에", "에서", " 근처", " 쪽", "에 있는", " 근처에", "", " 주변"]))]
            if self.chance(0.15):
                g = self.lex.dongs[d]
                pieces = [Piece(g, "DIST", g), P(" ")] + pieces
                lf["district"] = g
            return pieces, {"location_filter": lf}
        if r < 0.7:
            name = self.landmark_name()
            suffix = self.pick(["앞에", " 앞에", " 근처", " 근처에", "에서 가까운", " 주변", " 쪽", "에서", " 앞", "역 근처", "부근",
                                " 옆에", " 건너편", "에 있는", " 근방"])
            if suffix.startswith("역") and name.endswith("역"):
                suffix = " 근처"
            return [Piece(name, "LMK", name), P(suffix)], {"location_filter": {"landmark": name}}
        near = self.pick(["school", "school", "home", "current", "current", "current"])
        s = self.pick(self.near[near])
        tail = self.pick(["에", "에서", "에 있는", "", " 있는"]) if not s.endswith("가까운") else ""
        return [Piece(s, "NEAR", near), P(tail)], {"location_filter": {"near": near}}

    def companion(self) -> tuple[list[Piece], dict[str, Any]]:
        v = self.pick(list(self.comp))
        s = self.pick(self.comp[v])
        if v == "alone":
            tail = self.pick(["", "서", " 먹을", " 가기 좋은", " 먹기 좋은", "서 먹을"]) if s in ("혼자",) else self.pick(["", " 하기 좋은", "하기 좋은"])
        elif s.endswith(("랑", "끼리", "로")):
            tail = self.pick(["", " 같이", " 갈", " 먹을"])
        else:
            tail = self.pick(["랑", "이랑", "하고", "랑 같이", "이랑 같이", "끼리", "와", "과", " 데리고", "랑 갈", "하고 먹을"])
            if tail in ("이랑", "이랑 같이", "과") and not self._has_final(s):
                tail = tail.replace("이랑", "랑").replace("과", "와")
            if tail in ("랑", "랑 같이", "와", "랑 갈") and self._has_final(s):
                tail = {"랑": "이랑", "랑 같이": "이랑 같이", "와": "과", "랑 갈": "이랑 갈"}[tail]
        return [Piece(s, "COMP", v), P(tail)], {"companion": v}

    @staticmethod
    def _has_final(s: str) -> bool:
        p = decompose(s[-1]) if s else None
        return bool(p and p[2])

    def party(self) -> tuple[list[Piece], dict[str, Any]]:
        n = self.pick([2, 2, 3, 3, 4, 4, 5, 6, 8, 10])
        native = {2: "둘", 3: "셋", 4: "넷", 5: "다섯", 6: "여섯"}
        det = {2: "두", 3: "세", 4: "네", 5: "다섯", 6: "여섯", 8: "여덟", 10: "열"}
        r = self.rng.random()
        if r < 0.35 and n in native:
            s = native[n] + self.pick(["이서", "이", "이서", "서"] if n < 5 else ["이서", "명이서"])
        elif r < 0.65:
            s = f"{n}" + self.pick(["명이서", "명", "명이", " 명이서", "명이요", "인", "명 "]).rstrip()
        else:
            s = det.get(n, str(n)) + self.pick([" 명이서", "명이서", " 명이", " 명", "명"])
        return [Piece(s, "PARTY", str(n))], {"party_size": n}

    def time_of_day(self) -> tuple[list[Piece], dict[str, Any]]:
        v = self.pick(list(self.time))
        s = self.pick(self.time[v])
        tail = "" if s.endswith(("에", "게", "때", "데", "해", "심")) else self.pick(["에", "으로", "", " 메뉴로", " 먹을", "에 먹을", "으로 먹을", "에 갈"])
        pieces = [Piece(s, "TIME", v), P(tail)]
        if v in ("lunch", "dinner", "breakfast") and self.chance(0.2):
            pieces = [P(self.pick(["오늘 ", "내일 ", "주말 "]))] + pieces
        return pieces, {"time_of_day": v}

    def dietary(self) -> tuple[list[Piece], dict[str, Any]]:
        v = self.pick(list(self.diet))
        s = self.pick(self.diet[v])
        tail = "" if not s.endswith(("게", "히")) else self.pick([" 먹을 수 있는", " 먹을"])
        return [Piece(s, "DIET", v), P(tail)], {"dietary_preferences": [v]}

    def payment(self) -> tuple[list[Piece], dict[str, Any]]:
        v = "meal_card" if self.chance(0.65) else "coupon"
        s = self.pick(self.pay[v])
        tail = self.pick(["로 결제 되는", " 되는", " 쓸 수 있는", " 받는", " 사용 가능한", "로 계산할 수 있는", "로 계산 가능한",
                          " 사용할 수 있는", "로 먹을 수 있는", " 되는 곳 중에", " 가맹점", " 가맹점 중에", "으로 결제 가능한"])
        if s.endswith("로"):
            tail = self.pick([" 결제 되는", " 계산 가능한", " 먹을 수 있는"])
        elif tail.startswith("로") and self._has_final(s):
            tail = "으" + tail
        elif tail.startswith("으로") and not self._has_final(s):
            tail = tail[1:]
        return [Piece(s, "PAY", v), P(tail)], {"payment_method": v}

    def good_shop(self) -> tuple[list[Piece], dict[str, Any]]:
        s = self.pick(self.good_words)
        return [Piece(s, "GOOD", "true"), P(self.pick(["", " 중에", "로", " 중에서", "인", "에서"]))], {"good_shop": True}

    def open_now(self) -> tuple[list[Piece], dict[str, Any]]:
        s = self.pick([w for w in self.open_words if not w.endswith(("었", "어"))])
        return [Piece(s, "OPEN", "true")], {"open_now": True}

    def sort_by(self) -> tuple[list[Piece], dict[str, Any]]:
        v = self.pick(list(self.sort))
        s = self.pick(self.sort[v])
        if s.endswith("순") and self.chance(0.5):
            return [Piece(s, "SORT", v), P("으로")], {"sort": v}
        return [Piece(s, "SORT", v)], {"sort": v}

    def budget_mod(self) -> tuple[list[Piece], dict[str, Any]]:
        v = self.pick(BUDGET_VALUES)
        frame = self.pick(BUDGET_MOD)
        s = money_surface(self.rng, v)
        pre, post = frame.split("{m}")
        return [P(pre), Piece(s, "BUDGET", str(v)), P(post)], {"budget_filter": v}

    def money_range(self) -> tuple[Piece, int]:
        lo = self.pick([3000, 5000, 6000, 7000, 8000, 10000])
        hi = lo + self.pick([2000, 3000, 5000, 10000])
        a, b = money_surface(self.rng, lo, bare_ok=True), money_surface(self.rng, hi)
        frame = self.pick(["{a}에서 {b} 사이", "{a}~{b}", "{a}부터 {b}까지", "{a} ~ {b}", "{a}-{b}", "{a}에서 {b}"])
        return Piece(frame.format(a=a, b=b), "BUDGET", str(hi)), hi

    def exclusion(self) -> tuple[list[Piece], dict[str, Any]]:
        if self.chance(0.2):
            s = self.pick(["매운", "매운 거", "매운 건", "매운 음식", "매콤한 거"])
            lab_s = s.split()[0]
            tail = s[len(lab_s):]
            marker = self.pick(["말고", "빼고", "는 빼고", "싫어", "는 싫어", "은 별로"])
            if tail.endswith("건"):
                marker = marker.lstrip("는은 ")
            return [Piece(lab_s, "DIET", "spicy"), Piece(tail + " " + marker.lstrip(), noisy=False)], \
                {"dietary_preferences": ["not_spicy"]}
        pieces, f = self.food(exclude=True)
        upd = dict(f)
        if self.chance(0.2):
            p2, f2 = self.food(exclude=True)
            conj = self.pick(["이나 ", "나 ", "랑 ", ", ", "하고 ", " "])
            pieces = pieces + [P(conj)] + p2
            for k, v in f2.items():
                upd.setdefault(k, [])
                for x in v:
                    if x not in upd[k]:
                        upd[k].append(x)
        marker = self.pick(NEG_MARKERS)
        if not marker.startswith(" ") and not marker.startswith(("는", "은", "도")):
            marker = " " + marker if self.chance(0.7) else marker
        if marker.startswith(("는", "은")):
            has = self._has_final(pieces[-1].text)
            marker = ("은" if has else "는") + marker[1:]
        return pieces + [Piece(marker, noisy=False)], upd

    # -- intents
    MODS = ("location", "companion", "party", "time_of_day", "dietary", "payment", "good_shop", "open_now",
            "sort_by", "budget_mod")

    def _modifiers(self, k: int, exclude: tuple[str, ...] = ()) -> list[str]:
        pool = [m for m in self.MODS if m not in exclude]
        weights = {"location": 3, "companion": 2, "time_of_day": 2, "dietary": 2, "payment": 2, "sort_by": 2,
                   "budget_mod": 1.5, "party": 1, "good_shop": 1, "open_now": 1}
        out: list[str] = []
        while len(out) < k and pool:
            w = [weights[m] for m in pool]
            m = self.rng.choices(pool, weights=w)[0]
            out.append(m)
            pool.remove(m)
        return out

    def food_recommendation(self) -> Draft:
        d = Draft("FOOD_RECOMMENDATION")
        r = self.rng.random()
        if r < 0.06:
            d.add(self.pick(GENERIC_FOOD))
            return d
        if r < 0.09:
            return self.hungry()
        if r < 0.2:
            return self.follow_up()
        k = self.rng.choices([0, 1, 2, 3, 4], weights=[1, 4, 4, 2, 1])[0]
        mods = self._modifiers(k)
        has_food = self.chance(0.65)
        excl = self.chance(0.15)
        parts: list[list[Piece]] = []
        for m in mods:
            pieces, f = getattr(self, m)()
            merge_filters(d.filters, f)
            parts.append(pieces)
        if self.chance(0.15):
            parts.insert(self.rng.randrange(len(parts) + 1), [P(self.pick(DECOY_ADJ))])
        self.rng.shuffle(parts)
        d.add(self.pick(INTRO))
        if excl:
            pieces, f = self.exclusion()
            merge_filters(d.filters, f)
            d.pieces += pieces
            d.add(" ")
        style = self.rng.random()
        if has_food:
            fp, f = self.food()
            merge_filters(d.filters, f)
            if style < 0.45:
                for p in parts:
                    d.pieces += p
                    d.add(" ")
                ctx = self.pick(FOOD_CTX)
                pre, post = ctx.split("{f}")
                d.add(pre)
                d.pieces += fp
                if post:
                    d.add(post, " ", self.pick(HEADS), " ", self.pick(REQ))
                else:
                    d.add(" ", self.pick(REQ + WANT))
            elif style < 0.75:
                d.pieces += fp
                d.add(self.pick(["", " ", "은 ", "는 ", "을 ", "를 ", "으로 ", "로 "]))
                for p in parts:
                    d.pieces += p
                    d.add(" ")
                d.add(self.pick(WANT + REQ + ["먹을 데 " + self.pick(REQ)]))
            else:
                for p in parts:
                    d.pieces += p
                    d.add(" ")
                d.pieces += fp
                d.add(self.pick(["", " ", " 먹을 ", " 파는 ", "집 " if fp[0].label == "DISH" else " "]))
                d.add(self.pick(HEADS + [""]), " ", self.pick(REQ))
        else:
            for p in parts:
                d.pieces += p
                d.add(" ")
            if self.chance(0.2):
                d.add(self.pick(DECOY_HEAD), " ", self.pick(REQ))
            else:
                d.add(self.pick(HEADS), " ", self.pick(REQ + ["없나", "있을까"]))
        d.add(self.pick(TAIL))
        return d

    def hungry(self) -> Draft:
        d = Draft("FOOD_RECOMMENDATION")
        d.add(self.pick(INTRO))
        if self.chance(0.5):
            s = self.pick(["출출해", "출출하다", "출출한데", "출출"])
            d.add(Piece(s, "TIME", "snack"), self.pick(["", " 뭐 먹지", "ㅠㅠ", " 먹을 거 추천", " 뭐 사 먹을까"]))
            d.filters["time_of_day"] = "snack"
        else:
            v = "meal_card" if self.chance(0.7) else "coupon"
            d.add(Piece(self.pick(self.pay[v]), "PAY", v),
                  self.pick([" 되는 곳 알려줘", " 되는 데", " 되는 곳", " 받는 곳 알려주세요", " 쓸 수 있는 데 있어?",
                             " 사용 가능한 곳 찾아줘", " 되는 식당 알려줘요", " 가맹점 알려줘", " 되는 데 어디야",
                             " 받는 식당 있어?"]))
            d.filters["payment_method"] = v
        d.add(self.pick(TAIL))
        return d

    def follow_up(self) -> Draft:
        d = Draft("FOOD_RECOMMENDATION")
        r = self.rng.random()
        if r < 0.3:
            fp, f = self.food()
            frame = self.pick(FOLLOW_FOOD)
            pre, post = frame.split("{f}")
            if post[:1] in ("는", "은"):
                post = ("은" if self._has_final(fp[0].text) else "는") + post[1:]
            if post[:1] == "로" and self._has_final(fp[0].text) and fp[0].text[-1] != "ㄹ":
                post = "으" + post
            d.add(pre)
            d.pieces += fp
            d.add(post)
            merge_filters(d.filters, f)
        elif r < 0.5:
            v = self.pick(list(FOLLOW_SORT))
            s = self.pick(FOLLOW_SORT[v])
            # Tag the sort word inside the fixed phrase.
            for w in sorted(self.sort[v], key=len, reverse=True):
                if w in s:
                    i = s.index(w)
                    d.add(s[:i], Piece(w, "SORT", v), s[i + len(w):])
                    break
            else:
                d.add(s)
            d.filters["sort"] = v
        elif r < 0.62:
            pieces, f = self.exclusion()
            d.pieces += pieces
            merge_filters(d.filters, f)
            d.add(self.pick(["", " 딴 거", " 다른 거", " 추천해줘", " 다른 데"]))
        elif r < 0.72:
            d.add(self.pick(RESET))
        else:
            m = self.pick(["location", "companion", "party", "time_of_day", "dietary", "payment", "open_now",
                           "budget_mod", "good_shop"])
            pieces, f = getattr(self, m)()
            d.pieces += pieces
            merge_filters(d.filters, f)
            d.add(self.pick(["", "는?", " 데로", " 곳으로", " 갈 거야", " 데는?", "로 다시", " 위주로", " 곳만", "요"]))
        d.add(self.pick(TAIL[:8]))
        return d

    def budget_inquiry(self) -> Draft:
        d = Draft("BUDGET_FOOD_INQUIRY")
        d.add(self.pick(INTRO))
        if self.chance(0.12):
            piece, v = self.money_range()
            money = [piece]
        else:
            v = self.pick(BUDGET_VALUES)
            money = [Piece(money_surface(self.rng, v, bare_ok=True), "BUDGET", str(v))]
        d.filters["budget_filter"] = v
        pre_frame, ends = self.pick(BUDGET_FRAMES)
        pre, post = pre_frame.split("{m}")
        end = self.pick(ends)
        mods = self._modifiers(self.rng.choices([0, 1, 2], weights=[4, 4, 1])[0],
                               exclude=("budget_mod", "sort_by", "good_shop", "open_now"))
        parts = []
        for m in mods:
            pieces, f = getattr(self, m)()
            merge_filters(d.filters, f)
            parts.append(pieces)
        if self.chance(0.5):
            for p in parts:
                d.pieces += p
                d.add(" ")
            parts = []
        d.add(pre)
        d.pieces += money
        d.add(post)
        for p in parts:
            d.pieces += p
            d.add(" ")
        if "{x}" in end:
            fp, f = self.food()
            merge_filters(d.filters, f)
            a, b = end.split("{x}")
            d.add(a)
            d.pieces += fp
            d.add(b)
        else:
            d.add(end)
        d.add(self.pick(TAIL))
        return d

    def shop(self) -> Piece:
        if self.shop_pool and self.chance(0.45):
            name = self.pick(self.shop_pool)
        else:
            name = self.pick(self.lex.shop_prefixes) + self.pick(self.lex.shop_suffixes)
            if self.chance(0.08):
                name += self.pick([" " + self.pick(self.lex.landmark_prefixes) + "점", " 본점", " 2호점"])
        return Piece(name, "SHOP", name, noisy=False)

    def _fill_shop(self, d: Draft, frame: str, extra: dict[str, list[Piece]] | None = None) -> None:
        for tok in _re.split(r"(\{[a-z]\})", frame):
            if tok == "{s}":
                sp = self.shop()
                d.pieces.append(sp)
                d.filters["shop_name"] = sp.text
            elif extra and tok in extra:
                d.pieces += extra[tok]
            elif tok:
                # particle after a shop name: 은/는, 이/가 by final consonant
                if d.pieces and d.pieces[-1].label == "SHOP" and tok[:1] in ("은", "는"):
                    tok = ("은" if self._has_final(d.pieces[-1].text) else "는") + tok[1:]
                d.add(tok)

    def menu_inquiry(self) -> Draft:
        d = Draft("MENU_INQUIRY")
        d.add(self.pick(INTRO[:12]))
        frame = self.pick(MENU_Q)
        extra = {}
        if "{d}" in frame:
            dish = self.pick(list(self.dish_surfaces))
            extra["{d}"] = [Piece(self.surface(dish, self.dish_surfaces[dish], 0.8), "DISH", dish)]
            merge_filters(d.filters, {"menu": dish, "category": self.lex.dish_category[dish]})
        self._fill_shop(d, frame, extra)
        d.add(self.pick(TAIL[:10]))
        return d

    def shop_info(self) -> Draft:
        d = Draft("SHOP_INFO")
        d.add(self.pick(INTRO[:12]))
        r = self.rng.random()
        if r < 0.25:
            v = "meal_card" if self.chance(0.8) else "coupon"
            s = self.pick(self.pay[v])
            frame = self.pick(SHOP_PAY_Q)
            self._fill_shop(d, frame, {"{p}": [Piece(s, "PAY", v)]})
            d.filters["payment_method"] = v
        elif r < 0.32:
            o = self.pick(["지금 열었", "지금 문 열었", "지금 영업 중이", "지금 하"])
            frame = self.pick(SHOP_OPEN_Q)
            self._fill_shop(d, frame, {"{o}": [Piece(o, "OPEN", "true")]})
            d.filters["open_now"] = True
        else:
            self._fill_shop(d, self.pick(SHOP_Q))
        d.add(self.pick(TAIL[:10]))
        return d

    def coupon_inquiry(self) -> Draft:
        d = Draft("COUPON_INQUIRY")
        d.add(self.pick(INTRO[:8]))
        if self.chance(0.12):
            d.add(self.pick(COUPON_BARE))
        else:
            v = "meal_card" if self.chance(0.55) else "coupon"
            s = self.pick(self.pay[v])
            frame = self.pick(COUPON_Q)
            pre, post = frame.split("{p}")
            if post.startswith("로") and self._has_final(s):
                post = "으" + post
            d.add(pre, Piece(s, "PAY", v), post)
            d.filters["payment_method"] = v
        d.add(self.pick(TAIL[:10]))
        return d

    def junk(self) -> Draft:
        """Input that is not a request at all: emoji, Latin/Chinese text, code, keyboard mashing."""
        rng = self.rng
        kind = rng.random()
        if kind < 0.2:
            s = "".join(rng.choice("😀😂🤣😍🥺😭👍🙏🔥💯✨🎉❤️🐶🍀⭐") for _ in range(rng.randint(1, 6)))
        elif kind < 0.4:
            s = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz     ") for _ in range(rng.randint(2, 40))).strip() or "abc"
        elif kind < 0.5:
            s = rng.choice(["你好", "我想吃饭", "谢谢", "こんにちは", "ありがとう", "привет", "hola amigo", "bonjour"])
        elif kind < 0.65:
            s = rng.choice(["'; DROP TABLE shop; --", "<script>alert(1)</script>", "SELECT * FROM users", "<b>hi</b>",
                            "{\"a\": 1}", "../../etc/passwd", "rm -rf /", "print('hi')", "1=1 OR", "<div></div>",
                            "http://example.com", "www.naver.com", "test@test.com", "#$%^&*", "!!!!", "????", "....."])
        elif kind < 0.8:
            s = "".join(rng.choice("ㅁㄴㅇㄹㅋㅌㅊㅍㅗㅓㅏㅣ") for _ in range(rng.randint(2, 8)))
        elif kind < 0.9:
            s = str(rng.randint(0, 10**rng.randint(1, 9)))
        else:
            s = rng.choice(["x", "a", "ㅇ", "?", ".", "ㅋ", "ㅎ", "z", "아", "음", "어", "으"]) * rng.randint(1, 30)
        return Draft("OUT_OF_SCOPE").add(s)

    def simple(self, intent: str, pool: list[str]) -> Draft:
        d = Draft(intent)
        if intent == "OUT_OF_SCOPE" and self.chance(0.25):
            return self.junk()
        s = self.pick(pool)
        if intent == "GREETING" and self.chance(0.1):
            s = s + " " + self.pick(["나비얌", "반가워", "ㅎㅎ"])
        d.add(s, self.pick(TAIL[:12]))
        return d

    def feedback(self) -> Draft:
        d = Draft("FEEDBACK")
        r = self.rng.random()
        if r < 0.35:
            d.add(self.pick(FEEDBACK_BARE))
        elif r < 0.45:
            v = "meal_card"
            s = self.pick(self.pay[v])
            self._fill_shop(d, self.pick(FEEDBACK_PAY), {"{p}": [Piece(s, "PAY", v)]})
            d.filters["payment_method"] = v
        else:
            self._fill_shop(d, self.pick(FEEDBACK_S))
        d.add(self.pick(TAIL[:12]))
        return d

    def draft(self, intent: str) -> Draft:
        if intent == "FOOD_RECOMMENDATION":
            return self.food_recommendation()
        if intent == "BUDGET_FOOD_INQUIRY":
            return self.budget_inquiry()
        if intent == "MENU_INQUIRY":
            return self.menu_inquiry()
        if intent == "SHOP_INFO":
            return self.shop_info()
        if intent == "COUPON_INQUIRY":
            return self.coupon_inquiry()
        if intent == "FEEDBACK":
            return self.feedback()
        pools = {"GREETING": GREET, "GOODBYE": BYE, "HELP": HELP, "OUT_OF_SCOPE": OOS}
        return self.simple(intent, pools[intent])

    # -- rendering with noise
    def render(self, d: Draft) -> dict[str, Any]:
        rng = self.rng
        pieces = [Piece(p.text, p.label, p.value, p.noisy) for p in d.pieces if p.text]
        # typing errors in plain text
        if rng.random() < 0.18:
            plain = [i for i, p in enumerate(pieces) if p.label is None and p.noisy and any("가" <= c <= "힣" for c in p.text)]
            if plain:
                i = rng.choice(plain)
                t = pieces[i].text
                pos = [j for j, c in enumerate(t) if "가" <= c <= "힣"]
                j = rng.choice(pos)
                pieces[i].text = t[:j] + typo_syllable(rng, t[j]) + t[j + 1:]
        # one-jamo typo inside a long food word (the matcher folds it back)
        if rng.random() < 0.06:
            cand = [p for p in pieces if p.label in ("DISH", "CAT") and len(p.text) >= 3 and p.noisy]
            if cand:
                p = rng.choice(cand)
                j = rng.randrange(1, len(p.text))  # first syllables are rarely mistyped
                p.text = p.text[:j] + typo_syllable(rng, p.text[j]) + p.text[j + 1:]
        text = ""
        spans = []
        spacing = rng.random()
        for p in pieces:
            t = p.text
            if spacing < 0.22:
                t = t.replace(" ", "") if p.label is None else t
            elif spacing < 0.45:
                t = "".join(c for c in t if c != " " or rng.random() < 0.5) if p.label is None else t
            if spacing < 0.45 and p.label is not None and " " in t and rng.random() < 0.5:
                t = t.replace(" ", "")
            start = len(text)
            text += t
            if p.label is not None:
                spans.append((p, start, len(text)))
        # collapse double spaces and strip, fixing offsets
        out_chars, remap = [], {}
        for i, c in enumerate(text):
            if c == " " and (not out_chars or out_chars[-1] == " "):
                remap[i] = len(out_chars)
                continue
            remap[i] = len(out_chars)
            out_chars.append(c)
        remap[len(text)] = len(out_chars)
        new = "".join(out_chars)
        while new.endswith(" "):
            new = new[:-1]
        entities = []
        for p, s, e in spans:
            ns, ne = remap[s], remap[e]
            ent_text = new[ns:ne]
            if not ent_text.strip():
                continue
            entities.append({"entity": ENTITY_NAMES[p.label], "value": p.value, "text": ent_text,
                             "start": ns, "end": ne})

        filters = dict(d.filters)
        # Names are gold "as written": after spacing noise, take them from the rendered text.
        for e in entities:
            if e["entity"] == "shop_name":
                filters["shop_name"] = e["text"].strip()
                e["value"] = e["text"].strip()
            elif e["entity"] == "landmark":
                lf = dict(filters.get("location_filter", {}))
                lf["landmark"] = e["text"].strip()
                filters["location_filter"] = lf
                e["value"] = e["text"].strip()
        # "간식" is both a time (snack) and a category alias (디저트): a bare 간식 sets both.
        if any(e["text"].replace(" ", "").startswith("간식") and e["entity"] in ("time_of_day", "category")
               for e in entities):
            filters["time_of_day"] = "snack"
            if not filters.get("category"):
                filters["category"] = "디저트"
        if filters.get("category") and filters.get("category") in filters.get("exclude_categories", []):
            filters.pop("category")
            filters.pop("menu", None)
        if filters.get("menu") and filters.get("menu") in filters.get("exclude_menus", []):
            filters.pop("menu")
        filters = normalise_filters(filters)
        return {"text": new, "intent": d.intent, "entities": entities,
                "semantic_query": semantic_query(filters, new), "filters": filters}

    def generate(self, n: int, intent_weights: dict[str, float] | None = None) -> Iterator[dict[str, Any]]:
        w = intent_weights or DEFAULT_INTENT_WEIGHTS
        intents = list(w)
        weights = [w[i] for i in intents]
        for _ in range(n):
            intent = self.rng.choices(intents, weights=weights)[0]
            yield self.render(self.draft(intent))


DEFAULT_INTENT_WEIGHTS = {
    "FOOD_RECOMMENDATION": 0.40, "BUDGET_FOOD_INQUIRY": 0.12, "MENU_INQUIRY": 0.08, "SHOP_INFO": 0.10,
    "COUPON_INQUIRY": 0.06, "GREETING": 0.04, "GOODBYE": 0.04, "HELP": 0.04, "FEEDBACK": 0.06,
    "OUT_OF_SCOPE": 0.06,
}


def normalise_filters(f: dict[str, Any]) -> dict[str, Any]:
    """Contract shape: sorted keys, no empties, lists deduplicated, location sub-keys ordered."""
    out: dict[str, Any] = {}
    for k in sorted(f):
        v = f[k]
        if v is None or v == [] or v == {}:
            continue
        if isinstance(v, list):
            seen: list[Any] = []
            for x in v:
                if x not in seen:
                    seen.append(x)
            v = seen
        if isinstance(v, dict):
            v = {kk: v[kk] for kk in ("district", "dong", "landmark", "near") if v.get(kk)}
            if not v:
                continue
        out[k] = v
    return out


def generate_dataset(lexicon: Lexicon, n: int, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` examples, deterministic for a seed; duplicates of text are dropped."""
    gen = Generator(lexicon, seed)
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    for ex in gen.generate(int(n * 1.3) + 10):
        if ex["text"] in seen or not ex["text"].strip():
            continue
        seen.add(ex["text"])
        out.append(ex)
        if len(out) >= n:
            break
    return out


def split_dataset(data: list[dict[str, Any]], heldout: float = 0.15, seed: int = 0):
    rng = random.Random(seed)
    idx = list(range(len(data)))
    rng.shuffle(idx)
    k = int(len(data) * heldout)
    held = [data[i] for i in idx[:k]]
    train = [data[i] for i in idx[k:]]
    return train, held


def write_jsonl(rows: list[dict[str, Any]], path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
