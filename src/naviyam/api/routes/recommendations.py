from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from naviyam.api.routes.chat import ChatContext
from naviyam.api.schemas import DbId, ErrorPublic
from naviyam.core.clock import local_now, to_local
from naviyam.learning.store import store_interaction
from naviyam.nlu.contract import validate_filters

router = APIRouter(tags=["recommendations"])


class RecommendationsIn(BaseModel):
    user_id: DbId | None = Field(None, description="Known user, or null (cold start)")
    chatbot_output: dict[str, Any] = Field(
        description="The NLU contract object (contracts/nlu.md): at least `filters`; `text`, `intent`, "
                    "`semantic_query` when known")
    context: ChatContext | None = None
    top_k: int = Field(10, ge=1, le=50)


class RecommendationsOut(BaseModel):
    user_id: int | None
    original_query: str
    recommendations: list[dict[str, Any]]
    explanations: list[str]
    metadata: dict[str, Any]


@router.post("/recommendations", response_model=RecommendationsOut,
             responses={422: {"model": ErrorPublic}, 503: {"model": ErrorPublic}})
async def recommendations(body: RecommendationsIn, request: Request):
    """Recommendations for an NLU object the caller already has; the answer is stored like a chat turn."""
    nlu = body.chatbot_output
    filters = nlu.get("filters", {})
    problems = validate_filters(filters)
    if problems:
        raise HTTPException(status_code=422, detail="chatbot_output.filters가 계약과 달라요: " + "; ".join(problems))
    for key in ("text", "semantic_query", "intent"):
        if key in nlu and not isinstance(nlu[key], str):
            raise HTTPException(status_code=422, detail=f"chatbot_output.{key}는 문자열이어야 해요.")
    service = request.app.state.runtime.chat_service()  # one consistent snapshot of the models
    recommender = service.recommender
    if recommender is None:
        raise HTTPException(status_code=503, detail="추천 모델을 준비하고 있어요. 잠시 뒤에 다시 시도해 주세요.")
    ctx = body.context or ChatContext()
    now = to_local(ctx.now) if ctx.now is not None else local_now()
    query = str(nlu.get("text") or nlu.get("semantic_query") or "")[:500]

    def run() -> tuple[Any, int]:
        t0 = time.perf_counter()
        res = service.recommend_for(body.user_id, {**nlu, "filters": filters}, now=now, lat=ctx.lat, lon=ctx.lon,
                                    top_k=body.top_k)
        shown = [{"shop_id": r["shop_id"], "rank": i + 1, "score": r.get("score"), "funnels": r.get("funnels")}
                 for i, r in enumerate(res.recommendations)]
        with service.sessions() as db:
            iid = store_interaction(
                db, session_id=f"api-{uuid.uuid4().hex[:20]}", user_id=body.user_id, message=query,
                intent=str(nlu.get("intent") or "FOOD_RECOMMENDATION"), nlu={**nlu, "filters": filters},
                recommendations=shown, response=None,
                latency_ms=(time.perf_counter() - t0) * 1000, model_versions=service.model_versions)
        return res, iid

    res, interaction_id = await run_in_threadpool(run)
    metadata = {**res.metadata, "relaxed_filters": list(res.relaxed_filters), "interaction_id": interaction_id}
    return RecommendationsOut(user_id=body.user_id, original_query=query, recommendations=res.recommendations,
                              explanations=list(res.explanations), metadata=metadata)
