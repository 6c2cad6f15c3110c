"""Character-level text helpers that never change string length.

Everything the NLU does keeps a 1:1 map between the characters it looks at
and the characters of the user's text, so entity offsets are always offsets
into the original string.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

#: Only this many leading characters are tagged; a longer message is still
#: answered (its text is kept whole) but entities come from the prefix.
MAX_TAG_CHARS = 300

_SBASE, _LCOUNT, _VCOUNT, _TCOUNT = 0xAC00, 19, 21, 28
_NCOUNT = _VCOUNT * _TCOUNT

CHOSEONG = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
JUNGSEONG = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
JONGSEONG = ["", "ㄱ", "ㄲ", "ㄳ", "ㄴ", "ㄵ", "ㄶ", "ㄷ", "ㄹ", "ㄺ", "ㄻ", "ㄼ", "ㄽ", "ㄾ", "ㄿ", "ㅀ",
             "ㅁ", "ㅂ", "ㅄ", "ㅅ", "ㅆ", "ㅇ", "ㅈ", "ㅊ", "ㅋ", "ㅌ", "ㅍ", "ㅎ"]

# Confusions children make when typing: tense/lax initials, ㅐ/ㅔ, ㅙ/ㅚ/ㅞ.
_L_SKEL = {"ㄲ": "ㄱ", "ㄸ": "ㄷ", "ㅃ": "ㅂ", "ㅆ": "ㅅ", "ㅉ": "ㅈ"}
_V_SKEL = {"ㅐ": "ㅔ", "ㅒ": "ㅖ", "ㅙ": "ㅞ", "ㅚ": "ㅞ"}
_T_SKEL = {"ㄲ": "ㄱ", "ㅋ": "ㄱ", "ㅆ": "ㅅ", "ㅌ": "ㅅ", "ㄷ": "ㅅ", "ㅈ": "ㅅ", "ㅊ": "ㅅ", "ㅍ": "ㅂ"}


def is_hangul_syllable(ch: str) -> bool:
    return "가" <= ch <= "힣"


def decompose(ch: str) -> tuple[str, str, str] | None:
    """(initial, medial, final) jamo of a Hangul syllable, else None."""
    if not is_hangul_syllable(ch):
        return None
    idx = ord(ch) - _SBASE
    return CHOSEONG[idx // _NCOUNT], JUNGSEONG[(idx % _NCOUNT) // _TCOUNT], JONGSEONG[idx % _TCOUNT]


def compose(l: str, v: str, t: str = "") -> str:
    return chr(_SBASE + CHOSEONG.index(l) * _NCOUNT + JUNGSEONG.index(v) * _TCOUNT + JONGSEONG.index(t))


@lru_cache(maxsize=8192)
def skeleton_char(ch: str) -> str:
    """A syllable with its most common typing confusions folded away (1 char in, 1 char out)."""
    parts = decompose(ch)
    if parts is None:
        return ch.lower()
    l, v, t = parts
    return compose(_L_SKEL.get(l, l), _V_SKEL.get(v, v), _T_SKEL.get(t, t))


def skeleton(s: str) -> str:
    return "".join(skeleton_char(c) for c in s)


def jamo_string(s: str) -> str:
    out = []
    for c in s:
        p = decompose(c)
        out.append("".join(p) if p else c)
    return "".join(out)


@lru_cache(maxsize=8192)
def _norm_char(ch: str) -> str:
    cat = unicodedata.category(ch)
    if cat in ("Cc", "Cf", "Zl", "Zp", "Zs") or ch.isspace():
        return " "
    if cat in ("Cs", "Co", "Cn"):
        return " "
    if "\u3131" <= ch <= "\u318e" or "가" <= ch <= "힣":
        return ch  # Hangul compatibility jamo (ㅋㅋ, ㄴㄴ) and syllables stay as typed
    n = unicodedata.normalize("NFKC", ch)
    if len(n) == 1:
        return n.lower()
    return ch


def normalize(text: str) -> str:
    """NFKC per character, lower case, every control/space char → ' ' (same length)."""
    return "".join(_norm_char(c) for c in text)


_OPENER = re.compile(r"^[\s,.!~]*(?:(?:나비얌아?|나비야|야+|얌+|근데|그런데|그니까|저기요?|있잖아|아+|음+|헐)(?=[\s,.!~]|$)"
                     r"|나비얌아?)[\s,.!~]*")
_LAUGH = re.compile(r"[ㅋㅎ]{2,}|[ㅠㅜ]+|~+|!{2,}|\^\^|;;+")
#: A drawn-out ending: a vowel-only syllable after an open syllable at the very end ("추천해줘어~", "뭐 먹지이").
_DRAWN = re.compile(r"(?<=[가-힣])([아어오우이애에으]+)(?=[\s?.!]*$)")


#: The vowel-only syllable that draws out a syllable with this vowel ("줘" → "어", "파" → "아").
_ECHO = {"ㅝ": "어", "ㅓ": "어", "ㅕ": "어", "ㅏ": "아", "ㅘ": "아", "ㅑ": "아", "ㅗ": "오", "ㅛ": "오", "ㅜ": "우",
         "ㅠ": "우", "ㅣ": "이", "ㅐ": "애", "ㅔ": "에", "ㅡ": "으"}


def _is_symbol(ch: str) -> bool:
    return unicodedata.category(ch) == "So" or "\U0001F000" <= ch <= "\U0001FAFF" or ch in "\u200d\ufe0f"


def mask_decorations(norm: str) -> str:
    """What children add around a request, turned into spaces (same length): openers ("야", "나비얌아",
    "근데"), laughter and tears (ㅋㅋ, ㅎㅎ, ㅠㅠ), tildes, "!!", emoji, drawn-out endings ("줘어~")."""
    chars = [" " if _is_symbol(c) else c for c in norm]
    s = "".join(chars)
    s = _LAUGH.sub(lambda m: " " * len(m.group(0)), s)
    m = _OPENER.match(s)
    if m and m.end() < len(s.rstrip()):
        s = " " * m.end() + s[m.end():]
    def drawn(m: re.Match) -> str:
        prev = decompose(s[m.start() - 1])
        echo = _ECHO.get(prev[1], "") if prev and not prev[2] else ""
        return " " * len(m.group(1)) if echo and set(m.group(1)) == {echo} else m.group(1)
    s = _DRAWN.sub(drawn, s)
    return s


def char_type(ch: str) -> str:
    if is_hangul_syllable(ch):
        return "H"
    if "ㄱ" <= ch <= "ㅣ":
        return "J"
    if ch.isdigit():
        return "D"
    if ch.isascii() and ch.isalpha():
        return "L"
    if ch == " ":
        return "S"
    if ch in ",.~-?!":
        return ch
    return "O"
