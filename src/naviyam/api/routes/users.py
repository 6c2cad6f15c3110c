from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from naviyam.api.deps import AdminDep
from naviyam.api.schemas import ErrorPublic
from naviyam.service.privacy import erase_user_data

router = APIRouter(prefix="/users", tags=["privacy"])


class UserDataErased(BaseModel):
    user_id: int
    interactions: int = Field(description="Conversation turns deleted")
    chat_sessions: int = Field(description="Dialogue states deleted")
    feedback_events: int = Field(description="Feedback events deleted")


@router.delete("/{user_id}/data", response_model=UserDataErased, dependencies=[AdminDep],
               responses={401: {"model": ErrorPublic}, 422: {"model": ErrorPublic}})
async def erase_user(user_id: Annotated[int, Path(ge=1, le=2**31 - 1)], request: Request):
    """Erase a user's conversations, dialogue states and feedback (admin; for a deletion request)."""
    erased = await run_in_threadpool(erase_user_data, request.app.state.engine, user_id)
    return UserDataErased(user_id=user_id, **erased.to_dict())
