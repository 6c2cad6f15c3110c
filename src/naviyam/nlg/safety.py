"""Safety for minors: no alcohol shops for under-19s, kind refusals, and a hungry child's way out.

Keyword lists are data, not logic; the checks are deliberately conservative:
when the age is unknown the user is treated as a minor.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

ADULT_AGE = 19
YOUTH_HELPLINE = "1388"

#: A shop whose name or category contains one of these mainly sells alcohol.
ALCOHOL_SHOP_WORDS = ("호프", "주점", "포차", "포장마차", "이자카야", "술집", "펍", "맥주집", "와인바", "칵테일바",
                      "요리주점", "막걸리", "선술집", "bar", "pub")

_ALCOHOL_REQUEST = ("술", "맥주", "소주", "막걸리", "와인", "양주", "칵테일", "보드카", "위스키", "하이볼", "호프",
                    "술집", "이자카야", "주점", "포차", "취하")
_TOBACCO_REQUEST = ("담배", "전자담배", "액상", "궐련", "흡연", "베이프", "시가")
_ADULT_REQUEST = ("야동", "성인용", "성인 용품", "19금", "유흥", "룸살롱", "노래방 도우미", "키스방", "모텔")

#: Phrases of a child who is hungry and cannot pay, or is alone or unsafe.
_CRISIS_PATTERNS = (
    r"돈(이|도)?\s*없어서?\s*(밥|굶|못\s*먹)", r"굶었", r"굶고", r"굶어", r"밥\s*(을|도)?\s*못\s*먹",
    r"집에\s*(밥|먹을\s*거|음식)(이|도)?\s*없", r"먹을\s*(게|거|것)(이|도)?\s*(하나도\s*)?없", r"며칠\s*째?\s*(못|안)\s*먹",
    r"하루\s*종일\s*(못|안)\s*먹", r"배고픈데\s*돈(이|도)?\s*없", r"돈(이|도)?\s*하나도\s*없",
    r"집에\s*아무도\s*없.{0,10}(못|안)\s*먹", r"(집|혼자|밤).{0,8}무서워", r"(엄마|아빠|누가|어른).{0,6}때려",
    r"(엄마|아빠|누가|어른).{0,6}때렸", r"죽고\s*싶", r"가출", r"쫓겨났", r"학대",
)
_CRISIS_RE = re.compile("|".join(_CRISIS_PATTERNS))


class RequestRisk(StrEnum):
    NONE = "none"
    ALCOHOL = "alcohol"
    TOBACCO = "tobacco"
    ADULT = "adult"
    CRISIS = "crisis"


def _clean(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").lower()


def is_alcohol_shop(name: str, category: str | None = None, description: str | None = None) -> bool:
    """Whether a shop's main business is alcohol (by its name, category or description)."""
    blob = _clean(" ".join(x for x in (name, category, description) if x))
    return any(w in blob for w in ALCOHOL_SHOP_WORDS if len(w) > 3 or not w.isascii()) or bool(
        re.search(r"\b(bar|pub)\b", blob)
    )


def may_see_alcohol_shops(age: int | None) -> bool:
    """Only users known to be adults; an unknown age counts as a minor."""
    return age is not None and age >= ADULT_AGE


def classify_request(text: str) -> RequestRisk:
    """Crisis first (it must never be missed), then alcohol, tobacco, adult content."""
    t = _clean(text)
    if _CRISIS_RE.search(t):
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


@dataclass(frozen=True)
class SafetyReply:
    risk: RequestRisk
    text: str


def refusal_text(risk: RequestRisk, minor: bool) -> str:
    if risk is RequestRisk.ALCOHOL:
        if minor:
            return "술은 19살이 넘어야 마실 수 있어서 알려 줄 수 없어요. 대신 맛있는 밥집이나 간식 가게를 찾아 줄까요? 🙂"
        return "나비얌은 어린이와 가족을 위한 서비스라서 술집은 추천하지 않아요. 식사할 곳을 찾아 드릴까요?"
    if risk is RequestRisk.TOBACCO:
        return "담배는 몸에 해로워서 도와줄 수 없어요. 배가 고프면 가까운 밥집을 찾아 줄게요."
    if risk is RequestRisk.ADULT:
        return "그건 나비얌이 도와줄 수 없는 이야기예요. 먹고 싶은 음식이 있으면 말해 줘요!"
    raise ValueError(f"no refusal for {risk}")


def crisis_intro() -> str:
    return (
        "많이 힘들었겠어요. 혼자 참지 않아도 돼요. "
        f"급식카드로 지금 먹을 수 있는 곳이나 무료로 밥을 주는 착한가게를 알려 줄게요. "
        f"힘든 일이 있으면 언제든 청소년상담 {YOUTH_HELPLINE}(국번 없이)에 전화하거나 문자해요. 24시간 받아요."
    )
