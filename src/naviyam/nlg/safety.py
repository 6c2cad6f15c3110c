"""Safety for minors: kind refusals, a hungry child's way out, and the crisis answer.

The keyword lists and the checks live in :mod:`naviyam.core.safety` (retrieval
and the NLU use them too); this module writes what the child reads.
"""

from __future__ import annotations

from dataclasses import dataclass

from naviyam.core.safety import (  # noqa: F401 - re-exported for the answer layer
    ADULT_AGE,
    ALCOHOL_SHOP_WORDS,
    POLICE,
    SUICIDE_HELPLINE,
    YOUTH_HELPLINE,
    RequestRisk,
    classify_request,
    is_alcohol_shop,
    is_safety_message,
    may_see_alcohol_shops,
)


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


def safety_answer() -> str:
    """The answer to self-harm, suicide, abuse or danger: who to call, and no restaurants."""
    return (
        "이야기해 줘서 정말 고마워요. 많이 힘들었겠어요. 혼자 참지 않아도 돼요.\n"
        f"• 청소년상담 {YOUTH_HELPLINE}: 국번 없이 전화하거나 문자해요. 24시간 받아요.\n"
        f"• 자살예방 상담전화 {SUICIDE_HELPLINE}: 24시간 언제든 이야기를 들어 줘요.\n"
        f"• 지금 위험하거나 누가 다치게 하면 바로 {POLICE}에 전화해요.\n"
        "믿을 수 있는 어른이나 선생님께 꼭 말해 줘요. 나비얌도 여기 있을게요."
    )
