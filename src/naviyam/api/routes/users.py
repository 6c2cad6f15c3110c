"""One person's data (admin key): see it, erase it, and the guardian's consent for a child under 14."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.concurrency import run_in_threadpool

from naviyam.api.deps import AdminDep
from naviyam.api.schemas import ConsentPublic, ConsentUpdate, ErrorPublic, UserDataErasedPublic
from naviyam.service.privacy import (
    ConsentError,
    UnknownUser,
    erase_user_data,
    set_guardian_consent,
    withdraw_guardian_consent,
)
from naviyam.service.user_data import export_user_data

router = APIRouter(prefix="/users", tags=["privacy"])
UserIdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _consent_public(change) -> ConsentPublic:
    return ConsentPublic(user_id=change.user_id, guardian_consent=change.guardian_consent, previous=change.previous,
                         interactions=change.interactions, chat_sessions=change.chat_sessions,
                         feedback_events=change.feedback_events)


@router.get("/{user_id}/data", response_model=dict[str, Any], dependencies=[AdminDep],
            responses={401: {"model": ErrorPublic}, 404: {"model": ErrorPublic}})
async def get_user_data(user_id: UserIdPath, request: Request):
    """Everything held about a user (profile, consent, conversations, feedback, sessions, orders, favourites,
    reviews, privacy log) as one JSON document a guardian can be given (admin; PIPA Art. 35)."""
    doc = await run_in_threadpool(export_user_data, request.app.state.engine, user_id,
                                  retention_days=request.app.state.settings.retention_days, source="api")
    if doc is None:
        raise HTTPException(status_code=404, detail=f"사용자 {user_id}번에 대해 보관한 정보가 없어요.")
    return doc


@router.delete("/{user_id}/data", response_model=UserDataErasedPublic, dependencies=[AdminDep],
               responses={401: {"model": ErrorPublic}, 422: {"model": ErrorPublic}})
async def erase_user(user_id: UserIdPath, request: Request):
    """Erase a user's conversations, dialogue states and feedback (admin; for a deletion request). The privacy
    log keeps that it happened (counts only), and no later training set reads the user's events."""
    erased = await run_in_threadpool(erase_user_data, request.app.state.engine, user_id, source="api")
    return UserDataErasedPublic(user_id=user_id, **erased.to_dict())


@router.put("/{user_id}/consent", response_model=ConsentPublic, dependencies=[AdminDep],
            responses={401: {"model": ErrorPublic}, 404: {"model": ErrorPublic}, 422: {"model": ErrorPublic}})
async def put_consent(user_id: UserIdPath, request: Request, body: ConsentUpdate | None = None):
    """Record a legal guardian's consent (admin): from then on the child's turns are stored as anyone's."""
    day = body.date if body is not None else None
    try:
        change = await run_in_threadpool(set_guardian_consent, request.app.state.engine, user_id, day,
                                         source="api")
    except UnknownUser as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    except ConsentError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    return _consent_public(change)


@router.delete("/{user_id}/consent", response_model=ConsentPublic, dependencies=[AdminDep],
               responses={401: {"model": ErrorPublic}, 404: {"model": ErrorPublic}})
async def delete_consent(user_id: UserIdPath, request: Request):
    """Withdraw a guardian's consent (admin): what is already stored about the user is minimised at once."""
    try:
        change = await run_in_threadpool(withdraw_guardian_consent, request.app.state.engine, user_id,
                                         source="api")
    except UnknownUser as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    return _consent_public(change)
