from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field, field_validator

from naviyam.api.deps import RuntimeDep
from naviyam.api.identity import UserRef, identify
from naviyam.api.schemas import ErrorPublic
from naviyam.core.clock import to_local
from naviyam.core.contract import NLUOutput, Recommendation
from naviyam.service.chat import MAX_MESSAGE_CHARS, ChatRequest

router = APIRouter(tags=["chat"])
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class ChatContext(BaseModel):
    lat: float | None = Field(None, ge=33.0, le=39.0, strict=True, description="Latitude of the user (Korea)")
    lon: float | None = Field(None, ge=124.0, le=132.0, strict=True, description="Longitude of the user (Korea)")
    now: dt.datetime | None = Field(None, description="Request time, ISO 8601 (default: the server's clock)")

    @field_validator("now", mode="before")
    @classmethod
    def _iso_text_only(cls, v):
        # pydantic would read a number as seconds since 1970 (found by fuzzing the API)
        if v is not None and not isinstance(v, (str, dt.datetime)):
            raise ValueError("ISO 8601 시각 문자열이어야 해요 (예: 2026-11-02T12:30:00)")
        return v


class ChatIn(BaseModel):
    user_id: UserRef = Field(None, description="A database user (863, \"863\" or \"user_863\"), any other string "
                             "for an app user without history (remembered by that string), or null (cold start)",
                             examples=["user_863"])
    message: Annotated[str, Field(min_length=1, max_length=MAX_MESSAGE_CHARS, examples=["급식카드 되는 떡볶이집 추천해줘"])]
    session_id: str | None = Field(None, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    context: ChatContext | None = None

    @field_validator("message")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        # Control characters carry no meaning in a chat message, and PostgreSQL cannot store NUL in text
        # (found by fuzzing the API: a 500 on PostgreSQL).
        v = _CONTROL.sub("", v)
        if not v.strip():
            raise ValueError("메시지가 비어 있어요")
        return v


class ChatOut(BaseModel):
    session_id: str
    interaction_id: int
    response: str
    intent: str
    nlu: NLUOutput
    recommendations: list[Recommendation]
    follow_up_questions: list[str]
    model_versions: dict[str, str]
    minimised: bool = Field(False, description="Present (true) when this turn was stored minimised: a child "
                            "under 14 without a guardian's consent (no message text, no precise location, never "
                            "trained on)")
    privacy_notice: str | None = Field(None, description="With minimised: one line for the page to show "
                                       "(Korean, in a child's words)")
    debug: dict[str, Any] | None = Field(
        None, description="With ?debug=true: the original API's block (chatbot_analysis, recommendation_metadata)")


def debug_block(reply) -> dict[str, Any]:
    """The original design's ``debug``: what the NLU understood and how the list was made."""
    return {
        "chatbot_analysis": reply.nlu,
        "recommendation_metadata": {
            "relaxed_filters": list(reply.relaxed_filters), "path": reply.path,
            "model_versions": reply.model_versions,
            "shops": [{"shop_id": r.get("shop_id"), "score": r.get("score"), "funnels": r.get("funnels")}
                      for r in reply.recommendations],
        },
    }


@router.post("/chat", response_model=ChatOut, response_model_exclude_unset=True,
             responses={422: {"model": ErrorPublic}, 503: {"model": ErrorPublic}})
async def chat(body: ChatIn, request: Request, runtime: RuntimeDep,
               debug: bool = Query(False, description="Add the original API's debug block")):
    """One chat turn: understanding, recommendations, the answer; the turn is stored before it is returned."""
    ctx = body.context or ChatContext()
    now = to_local(ctx.now) if ctx.now is not None else None
    who = identify(body.user_id)
    service = runtime.chat_service()
    reply = await run_in_threadpool(service.chat, ChatRequest(
        message=body.message, user_id=who.user_id, session_id=body.session_id or who.session_id(), lat=ctx.lat,
        lon=ctx.lon, now=now, app_user=who.app_user))
    request.app.state.metrics.chat_intents.labels(reply.intent).inc()
    fields = {k: v for k, v in reply.to_dict().items() if k in ChatOut.model_fields}
    if not reply.minimised:  # the two privacy fields appear only when they say something
        fields.pop("minimised", None)
        fields.pop("privacy_notice", None)
    out = ChatOut(**fields)
    if debug:
        out.debug = debug_block(reply)
    return out
