from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from naviyam.api.compute import compute_pool
from naviyam.api.deps import RuntimeDep
from naviyam.api.identity import identify
from naviyam.api.schemas import ChatContext, ChatTurnCreate, ChatTurnPublic, ErrorPublic
from naviyam.core.clock import to_local
from naviyam.service.chat import ChatRequest

router = APIRouter(tags=["chat"])


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


@router.post("/chat", response_model=ChatTurnPublic, response_model_exclude_unset=True,
             responses={422: {"model": ErrorPublic}, 503: {"model": ErrorPublic}})
async def chat(body: ChatTurnCreate, request: Request, runtime: RuntimeDep,
               debug: bool = Query(False, description="Add the original API's debug block")):
    """One chat turn: understanding, recommendations, the answer; the turn is stored before it is returned."""
    ctx = body.context or ChatContext()
    now = to_local(ctx.now) if ctx.now is not None else None
    who = identify(body.user_id)
    service = runtime.chat_service()
    reply = await compute_pool(request).run(service.chat, ChatRequest(
        message=body.message, user_id=who.user_id, session_id=body.session_id or who.session_id(), lat=ctx.lat,
        lon=ctx.lon, now=now, app_user=who.app_user))
    request.app.state.metrics.chat_intents.labels(reply.intent).inc()
    fields = {k: v for k, v in reply.to_dict().items() if k in ChatTurnPublic.model_fields}
    if not reply.minimised:  # the two privacy fields appear only when they say something
        fields.pop("minimised", None)
        fields.pop("privacy_notice", None)
    out = ChatTurnPublic(**fields)
    if debug:
        out.debug = debug_block(reply)
    return out
