"""Pieces of an example (plain text or a tagged slot), Korean money surfaces and typing noise."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

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


