"""What is unsafe for a child, as data every layer shares: alcohol shops, risky requests, crises.

Retrieval uses :func:`is_alcohol_shop` to keep alcohol shops out of a minor's
candidates, the NLU uses :func:`classify_request` to give self-harm and danger
the intent ``SAFETY``, and the answer layer writes the crisis reply. The
checks are deliberately conservative: an unknown age counts as a minor.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum
from functools import lru_cache

ADULT_AGE = 19
YOUTH_HELPLINE = "1388"
SUICIDE_HELPLINE = "109"
POLICE = "112"

#: A shop whose name or category contains one of these mainly sells alcohol.
ALCOHOL_SHOP_WORDS = ("호프", "주점", "포차", "포장마차", "이자카야", "술집", "펍", "맥주집", "와인바", "칵테일바",
                      "요리주점", "막걸리", "선술집", "bar", "pub")

_ALCOHOL_REQUEST = ("술", "맥주", "소주", "막걸리", "와인", "양주", "칵테일", "보드카", "위스키", "하이볼", "호프",
                    "술집", "이자카야", "주점", "포차", "취하")
_TOBACCO_REQUEST = ("담배", "전자담배", "액상", "궐련", "흡연", "베이프", "시가")
_ADULT_REQUEST = ("야동", "성인용", "성인 용품", "19금", "유흥", "룸살롱", "노래방 도우미", "키스방", "모텔")

#: Self-harm, suicide, abuse or danger: a crisis answer (1388, 109, 112) and never restaurants.
_SAFETY_PATTERNS = (
    r"죽고\s*싶", r"자살", r"자해", r"살기\s*싫", r"살고\s*싶지\s*않", r"사라지고\s*싶", r"없어지고\s*싶",
    r"뛰어\s*내리", r"목\s*매", r"손목\s*(을\s*)?(긋|그어|그었)", r"죽어\s*버리", r"죽어야\s*(겠|하나|돼)",
    r"(엄마|아빠|누가|어른|선생님|형|오빠|언니|누나|삼촌|친구들?)(가|이|한테|께서)?.{0,6}(때려|때렸|때린|패|팼)",
    r"(한테|에게)\s*맞았", r"맞았어.{0,6}(무서|아파)", r"맞아서\s*(아파|무서)", r"학대", r"가출", r"쫓겨났",
    r"(집|혼자|밤).{0,8}무서워", r"누가\s*(자꾸\s*)?따라와", r"납치", r"성추행", r"몸을\s*만졌",
)
#: A child who is hungry and cannot pay: open meal-card shops and 착한가게 plus the helpline.
_HUNGER_PATTERNS = (
    r"돈(이|도)?\s*없어서?\s*(밥|굶|못\s*먹)", r"굶었", r"굶고", r"굶어", r"밥\s*(을|도)?\s*못\s*먹",
    r"집에\s*(밥|먹을\s*거|음식)(이|도)?\s*없", r"먹을\s*(게|거|것)(이|도)?\s*(하나도\s*)?없", r"며칠\s*째?\s*(못|안)\s*먹",
    r"하루\s*종일\s*(못|안)\s*먹", r"배고픈데\s*돈(이|도)?\s*없", r"돈(이|도)?\s*하나도\s*없",
    r"집에\s*아무도\s*없.{0,10}(못|안)\s*먹",
)
_SAFETY_RE = re.compile("|".join(_SAFETY_PATTERNS))
_HUNGER_RE = re.compile("|".join(_HUNGER_PATTERNS))


class RequestRisk(StrEnum):
    NONE = "none"
    ALCOHOL = "alcohol"
    TOBACCO = "tobacco"
    ADULT = "adult"
    #: hungry and unable to pay
    CRISIS = "crisis"
    #: self-harm, suicide, abuse or danger
    SAFETY = "safety"


def clean(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").lower()


@lru_cache(maxsize=65536)
def is_alcohol_shop(name: str, category: str | None = None, description: str | None = None) -> bool:
    """Whether a shop's main business is alcohol (by its name, category or description); remembered per shop
    (every answer checks its ~20 shops again)."""
    blob = clean(" ".join(x for x in (name, category, description) if x))
    return any(w in blob for w in ALCOHOL_SHOP_WORDS if len(w) > 3 or not w.isascii()) or bool(
        re.search(r"\b(bar|pub)\b", blob)
    )


def may_see_alcohol_shops(age: int | None) -> bool:
    """Only users known to be adults; an unknown age counts as a minor."""
    return age is not None and age >= ADULT_AGE


def is_safety_message(text: str) -> bool:
    """Self-harm, suicide, abuse or danger ("죽고 싶어", "아빠가 때렸어"); hunger figures of speech
    ("배고파 죽겠다") are not."""
    return bool(_SAFETY_RE.search(clean(text)))


def classify_request(text: str) -> RequestRisk:
    """Danger first (it must never be missed), then hunger crisis, alcohol, tobacco, adult content."""
    t = clean(text)
    if _SAFETY_RE.search(t):
        return RequestRisk.SAFETY
    if _HUNGER_RE.search(t):
        return RequestRisk.CRISIS
    compact = re.sub(r"\s+", "", t)
    if any(w in compact for w in _TOBACCO_REQUEST):
        return RequestRisk.TOBACCO
    if any(w in compact for w in _ADULT_REQUEST):
        return RequestRisk.ADULT
    # "술" alone is too short to match inside words (e.g. 기술, 미술, 수술): needs a word edge.
    if re.search(r"(^|[^가-힣])술([^가-힣]|$|을|이|집|마시|먹|한잔|파는)", t) or any(
        w in compact for w in _ALCOHOL_REQUEST if w != "술"
    ):
        return RequestRisk.ALCOHOL
    return RequestRisk.NONE
