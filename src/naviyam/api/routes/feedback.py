from __future__ import annotations

from fastapi import APIRouter, Body, HTTPException, Query, status
from pydantic import ValidationError

from naviyam.api.deps import SessionDep
from naviyam.api.identity import identify
from naviyam.api.schemas import ErrorPublic, FeedbackAccepted, FeedbackCreate
from naviyam.learning.feedback import FeedbackRejected, record_feedback

router = APIRouter(tags=["feedback"])


def _from_query(user_id: str | None, shop_id: str | None, feedback_type: str | None) -> FeedbackCreate:
    """The original API's form: ``POST /feedback?user_id=…&shop_id=…&feedback_type=…`` with no body."""
    if shop_id is None or feedback_type is None:
        raise HTTPException(status_code=422, detail="피드백 내용이 없어요. JSON 본문이나 shop_id·feedback_type "
                                                    "쿼리 값을 보내 주세요.")
    shop = shop_id.strip()
    if shop.lower().startswith("shop_"):
        shop = shop[5:]
    if not shop.isdigit():
        raise HTTPException(status_code=422, detail=f"shop_id는 가게 번호여야 해요 ({shop_id!r}).")
    try:
        return FeedbackCreate(user_id=user_id, shop_id=int(shop), feedback_type=feedback_type)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ())) or "요청"
        raise HTTPException(status_code=422, detail=f"{field}: 값이 올바르지 않아요.") from None


@router.post("/feedback", status_code=status.HTTP_202_ACCEPTED, response_model=FeedbackAccepted,
             responses={422: {"model": ErrorPublic}})
def post_feedback(
    db: SessionDep,
    body: FeedbackCreate | None = Body(None),
    user_id: str | None = Query(None, max_length=64, description="Original API form (no body): the user"),
    shop_id: str | None = Query(None, max_length=20, description="Original API form: the shop"),
    feedback_type: str | None = Query(None, max_length=20, description="Original API form: clicked | ordered | …"),
):
    """Store a feedback event (JSON body, or the original API's query parameters). 202 only after the commit."""
    if body is None:
        body = _from_query(user_id, shop_id, feedback_type)
    who = identify(body.user_id)
    try:
        event_id = record_feedback(db, user_id=who.user_id, shop_id=body.shop_id, feedback_type=body.feedback_type,
                                   interaction_id=body.interaction_id, satisfaction_score=body.satisfaction_score,
                                   app_user=who.app_user)
    except FeedbackRejected as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    return FeedbackAccepted(id=event_id)
