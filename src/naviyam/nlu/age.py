"""A user who says they are a child: "나 초3인데", "중1이에요", "열두 살이야", "초딩인데".

An unknown user (no database record) who says so is served as a child under 14 without a guardian's
consent for that conversation: the service keeps the least it can (naviyam.service.minimise). When in
doubt the rule leans to the child's side: a middle-school year that may still be 13 (중1, 중2) or a
plain "중학생" counts; 중3 and high school do not.
"""

from __future__ import annotations

import re

_NOT_HANGUL_BEFORE = r"(?<![가-힣])"
_PATTERNS = [
    # 초3, 초등 3, 초등학교 3학년, 신림초 3학년
    re.compile(_NOT_HANGUL_BEFORE + r"초(?:등학교|등학생|등)?\s*[1-6](?![0-9])"),
    re.compile(r"초(?:등학교|등)?\s*[1-6]\s*학년"),
    # 중1, 중2, 중학교 1학년, 중2병 (a 중2 may still be 13)
    re.compile(_NOT_HANGUL_BEFORE + r"중(?:학교|학생)?\s*[12](?![0-9])"),
    re.compile(r"중(?:학교)?\s*[12]\s*학년"),
    # 초등학생, 초딩, 중학생, 중딩, 초등학교 다녀
    re.compile(r"초등학생|초딩|초등학교\s*다녀|중학생|중딩"),
    # 8살, 열두 살 (ages 6 to 13; a parent's "8살 아이랑" is about a child too)
    re.compile(r"(?<![0-9])(?:[6-9]|1[0-3])\s*살"),
    re.compile(_NOT_HANGUL_BEFORE + r"(?:여섯|일곱|여덟|아홉|열|열한|열두|열세)\s*살"),
]


def says_child(text: str | None) -> bool:
    """True when the message says its writer is (probably) a child under 14."""
    if not text:
        return False
    return any(p.search(text) for p in _PATTERNS)
