"""Spacing- and typo-tolerant lexicon matching.

The matcher looks at the normalised text with spaces removed and common
typing confusions folded (:func:`naviyam.nlu.text.skeleton`), so "지금문연",
"지금 문 연" and "떡뽁이" all match their lexicon entries. A word of three or
more syllables also matches with one jamo changed ("짜장멘", "치킨잡").

Its matches are features for the trained tagger and, on their own (greedy
longest match), the rules-only baseline extractor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from naviyam.nlu.lexicon import Lexicon, compact
from naviyam.nlu.numbers import money_ranges
from naviyam.nlu.text import decompose, skeleton

# Higher wins when two matches cover the same characters.
_PRIORITY = {
    "SHOP": 9, "LMK": 8, "BUDGET": 8, "PARTY": 8, "DONG": 7, "DIST": 7, "PAY": 7, "GOOD": 7, "OPEN": 6,
    "SORT": 6, "DIET": 6, "DISH": 5, "CAT": 5, "TIME": 5, "COMP": 4, "NEAR": 3,
    "RESET": 2, "NEG": 2, "DECOY": 1, "LMKPAT": 0,
}
_FUZZY_LABELS = ("CAT", "DISH", "PAY", "GOOD")
_RIGHT_OK_1CHAR = set("이가은는을를도랑하나으로집먹요좀만?!.,~ㅋㅎㅠㅜ")
_PARTY_RE = re.compile(
    r"(?<![가-힣\d])(?:"
    r"\d{1,2}\s?(?:명|인|사람)(?!분)(?:이서|이|서|끼리|이요|이에요)?"
    r"|(?:둘|셋|넷|다섯|여섯|일곱|여덟|아홉|열)\s?(?:이서|이|서|끼리|이요)"
    r"|(?:한|두|세|석|네|다섯|여섯|일곱|여덟|아홉|열|열두|스무)\s?(?:명|사람|식구)(?:이서|이|서|끼리|이요)?"
    r")"
)


@dataclass(frozen=True)
class Match:
    start: int
    end: int
    label: str
    value: str
    fuzzy: bool = False

    @property
    def length(self) -> int:
        return self.end - self.start


def _one_jamo_apart(a: str, b: str) -> bool:
    pa, pb = decompose(a), decompose(b)
    if pa is None or pb is None:
        return False
    return sum(x != y for x, y in zip(pa, pb, strict=False)) <= 1


class Matcher:
    def __init__(self, lexicon: Lexicon):
        self.lexicon = lexicon
        self.index: dict[str, list[tuple[str, str, str]]] = {}
        self.fuzzy_index: dict[str, list[tuple[str, str, str]]] = {}
        self.max_len = 1
        for label, table in lexicon.phrases.items():
            for surface, value in table.items():
                self._add(surface, label, value)
        for d in lexicon.districts:
            self._add(d, "DIST", d)
        for d in lexicon.dongs:
            self._add(d, "DONG", d)
        for lm in lexicon.landmarks:
            self._add(lm, "LMK", lm)
        for s in lexicon.shop_names:
            self._add(s, "SHOP", s)
        for w in lexicon.negation:
            self._add(w, "NEG", "neg")
        for w in lexicon.reset:
            self._add(w, "RESET", "reset")
        for w in lexicon.decoys:
            self._add(w, "DECOY", "decoy")
        suffixes = sorted(set(lexicon.landmark_suffixes), key=len, reverse=True)
        long_suf = [s for s in suffixes if len(s) >= 2 or s == "역"]
        self._lm_re = re.compile(
            r"(?<![가-힣a-z0-9])([가-힣a-z0-9]{1,10}?(?:" + "|".join(map(re.escape, long_suf)) + r"))"
            r"(?=$|[^가-힣]|에|앞|근처|주변|쪽|이랑|에서|부근|가|이|으로|로|랑|옆|건너|뒤)"
        )
        prefixes = sorted(set(lexicon.landmark_prefixes), key=len, reverse=True)
        self._lm_abbr_re = re.compile(
            r"(?<![가-힣])((?:" + "|".join(map(re.escape, prefixes)) + r")(?:초|중|고|초등|중학|고교))"
            r"(?=$|[^가-힣]|에|앞|근처|주변|쪽|이랑|에서|부근|옆)"
        )

    def _add(self, surface: str, label: str, value: str) -> None:
        plain = compact(surface.lower())
        key = skeleton(plain)
        if not key:
            return
        self.index.setdefault(key, []).append((label, value, plain))
        self.max_len = max(self.max_len, len(key))
        if label in _FUZZY_LABELS and len(key) >= 3:
            for j in range(1, len(key)):  # the first syllable is rarely mistyped; 테스트 is not 토스트
                wk = key[:j] + "\x00" + key[j + 1:]
                self.fuzzy_index.setdefault(wk, []).append((label, value, key))

    # ------------------------------------------------------------------
    def match_all(self, norm: str) -> list[Match]:
        """Every lexicon, money, head-count and landmark-pattern match in ``norm`` (normalised text)."""
        idx = [i for i, c in enumerate(norm) if c != " "]
        comp = "".join(norm[i] for i in idx)
        skel = skeleton(comp)
        n = len(comp)
        out: list[Match] = []
        exact_cover = [False] * n
        for i in range(n):
            for L in range(min(self.max_len, n - i), 0, -1):
                hits = self.index.get(skel[i:i + L])
                if not hits:
                    continue
                s, e = idx[i], idx[i + L - 1] + 1
                if L <= 2 and " " in norm[s:e]:
                    continue
                if L == 1 and not self._single_ok(norm, s, e):
                    continue
                plain_sub = comp[i:i + L]
                hit_any = False
                for label, value, plain in hits:
                    # Short words and negations must be spelled exactly ("배고" is not "빼고").
                    if (L <= 2 or label in ("NEG", "RESET")) and plain != plain_sub:
                        continue
                    out.append(Match(s, e, label, value))
                    hit_any = True
                if not hit_any:
                    continue
                if L >= 2:
                    for k in range(i, i + L):
                        exact_cover[k] = True
        # One-jamo-off matches for longer words not already matched exactly.
        for i in range(n):
            for L in range(3, min(8, n - i) + 1):
                if all(exact_cover[i:i + L]):
                    continue
                sub = skel[i:i + L]
                seen = set()
                for j in range(L):
                    wk = sub[:j] + "\x00" + sub[j + 1:]
                    for label, value, key in self.fuzzy_index.get(wk, ()):
                        if (label, value) in seen or key == sub:
                            continue
                        if _one_jamo_apart(sub[j], key[j]):
                            seen.add((label, value))
                            out.append(Match(idx[i], idx[i + L - 1] + 1, label, value, fuzzy=True))
        for m in money_ranges(norm):
            out.append(Match(m.start, m.end, "BUDGET", str(m.value)))
        for m in _PARTY_RE.finditer(norm):
            out.append(Match(m.start(), m.end(), "PARTY", m.group(0)))
        for rx in (self._lm_re, self._lm_abbr_re):
            for m in rx.finditer(norm):
                out.append(Match(m.start(1), m.end(1), "LMKPAT", m.group(1)))
        return out

    @staticmethod
    def _single_ok(norm: str, s: int, e: int) -> bool:
        left_ok = s == 0 or not ("가" <= norm[s - 1] <= "힣")
        right_ok = e >= len(norm) or not ("가" <= norm[e] <= "힣") or norm[e] in _RIGHT_OK_1CHAR
        return left_ok and right_ok

    @staticmethod
    def greedy(matches: list[Match], labels: set[str] | None = None) -> list[Match]:
        """Non-overlapping matches: longest first, then exact before fuzzy, then label priority."""
        cands = [m for m in matches if labels is None or m.label in labels]
        cands.sort(key=lambda m: (-m.length, m.fuzzy, -_PRIORITY.get(m.label, 0), m.start))
        taken: list[Match] = []
        used = set()
        for m in cands:
            span = set(range(m.start, m.end))
            if span & used:
                continue
            taken.append(m)
            used |= span
        return sorted(taken, key=lambda m: m.start)
