"""Korean text helpers every part shares: final consonants (받침), particles, weekday names."""

from __future__ import annotations

#: Monday first, as Python's ``date.weekday()`` counts.
WEEKDAYS_KO: tuple[str, ...] = ("월", "화", "수", "목", "금", "토", "일")

_SYLLABLE_BASE = 0xAC00
_FINALS = 28
_RIEUL_FINAL = 8


def is_hangul_syllable(ch: str) -> bool:
    return len(ch) == 1 and "가" <= ch <= "힣"


def has_batchim(word: str, *, last_hangul: bool = False) -> bool:
    """Whether ``word`` ends in a final consonant (받침).

    By default only the last character counts (a word ending in a digit or
    Latin letter has none); with ``last_hangul`` the last Hangul syllable
    counts, whatever follows it ("떡볶이!!" → False, "김밥2" → True).
    """
    chars = reversed(word) if last_hangul else word[-1:]
    for ch in chars:
        if is_hangul_syllable(ch):
            return (ord(ch) - _SYLLABLE_BASE) % _FINALS != 0
    return False


def particle(word: str, after_consonant: str, after_vowel: str, *, otherwise: str | None = None) -> str:
    """The particle form that fits ``word``: ``particle("치킨", "은", "는")`` → "은".

    ``otherwise`` is used when the word does not end in a Hangul syllable
    (default: the after-consonant form, which reads naturally after digits).
    "으로"/"로" takes "로" after ㄹ as well as after a vowel.
    """
    last = word[-1:]
    if not is_hangul_syllable(last):
        return after_consonant if otherwise is None else otherwise
    if after_consonant == "으로" and (ord(last) - _SYLLABLE_BASE) % _FINALS == _RIEUL_FINAL:
        return after_vowel
    return after_consonant if has_batchim(last) else after_vowel
