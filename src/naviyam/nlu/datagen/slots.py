"""Slot realisations of the generator: food, place, company, time, money, ... as pieces and filters."""

from __future__ import annotations

import random
from typing import Any

from naviyam.nlu.datagen.phrases import BUDGET_MOD, BUDGET_VALUES, NEG_MARKERS
from naviyam.nlu.datagen.pieces import P, Piece, money_surface
from naviyam.nlu.lexicon import Lexicon
from naviyam.nlu.text import decompose

# ---------------------------------------------------------------- the generator


class SlotSampler:
    """Slot realisations: each returns its pieces and the filters it adds; ``rng`` decides everything."""

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
