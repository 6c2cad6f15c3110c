from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from naviyam.api.deps import SessionDep
from naviyam.api.schemas import ErrorPublic, FeedbackAccepted, FeedbackCreate
from naviyam.learning.feedback import FeedbackRejected, record_feedback

router = APIRouter(tags=["feedback"])


@router.post("/feedback", status_code=status.HTTP_202_ACCEPTED, response_model=FeedbackAccepted,
             responses={422: {"model": ErrorPublic}})
def post_feedback(body: FeedbackCreate, db: SessionDep):
    """Store a feedback event. 202 is returned only after the event is committed."""
    try:
        event_id = record_feedback(db, **body.model_dump())
    except FeedbackRejected as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    return FeedbackAccepted(id=event_id)
