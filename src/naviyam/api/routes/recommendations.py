from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, HTTPException, Request

from naviyam.api.compute import compute_pool
from naviyam.api.deps import RuntimeDep
from naviyam.api.identity import identify
from naviyam.api.schemas import (
    ErrorPublic,
    RecommendationContext,
    RecommendationsCreate,
    RecommendationsPublic,
    UserProfile,
)
from naviyam.core.clock import local_now, to_local
from naviyam.nlu.canonical import from_korean_names
from naviyam.nlu.contract import validate_filters
from naviyam.service.recommendations import recommend_and_log

router = APIRouter(tags=["recommendations"])


def _contract_form(nlu: dict[str, Any]) -> dict[str, Any]:
    """The original design's chatbot_output (46.A) in the contract's shape.

    It carries ``budget_filter`` and ``location_filter`` beside ``filters`` (null when unset), the
    message as ``original_query``, and enum values as Korean names ("건강식"); today's clients send the
    contract's object, which passes through unchanged.
    """
    filters = nlu.get("filters", {})
    if not isinstance(filters, dict):
        return nlu
    merged = dict(filters)
    for key in ("budget_filter", "location_filter"):
        if key in nlu and key not in merged and nlu[key] is not None:
            merged[key] = nlu[key]
    out = {**nlu, "filters": from_korean_names(merged)}
    if "text" not in out and isinstance(nlu.get("original_query"), str):
        out["text"] = nlu["original_query"]
    return out


@router.post("/recommendations", response_model=RecommendationsPublic,
             responses={422: {"model": ErrorPublic}, 503: {"model": ErrorPublic}})
async def recommendations(body: RecommendationsCreate, request: Request, runtime: RuntimeDep):
    """Recommendations for an NLU object the caller already has; the answer is stored like a chat turn."""
    nlu = _contract_form(body.chatbot_output.model_dump(exclude_unset=True))
    filters = nlu.get("filters", {})
    problems = validate_filters(filters)
    if problems:
        raise HTTPException(status_code=422, detail="chatbot_output.filters가 계약과 달라요: " + "; ".join(problems))
    for key in ("text", "semantic_query", "intent"):
        if key in nlu and nlu[key] is not None and not isinstance(nlu[key], str):
            raise HTTPException(status_code=422, detail=f"chatbot_output.{key}는 문자열이어야 해요.")
    who = identify(body.user_id)
    profile = body.user_profile or UserProfile()
    ctx = body.context or RecommendationContext()
    district = ctx.user_location or (profile.location or {}).get("district")
    if district and "location_filter" not in filters and ctx.lat is None:
        filters = {**filters, "location_filter": {"district": district}}
        if validate_filters(filters):
            filters = {k: v for k, v in filters.items() if k != "location_filter"}  # not a 구 we know: ignored
    now_text = ctx.current_time if ctx.now is None else None
    if now_text:
        try:
            ctx.now = dt.datetime.fromisoformat(now_text)
        except ValueError:
            raise HTTPException(status_code=422, detail="context.current_time은 ISO 8601 시각이어야 해요 "
                                                        "(예: 2026-11-02T12:30:00).") from None
    service = runtime.chat_service()  # one consistent snapshot of the models
    if service.recommender is None:
        raise HTTPException(status_code=503, detail="추천 모델을 준비하고 있어요. 잠시 뒤에 다시 시도해 주세요.")
    now = to_local(ctx.now) if ctx.now is not None else local_now()
    query = str(nlu.get("text") or nlu.get("semantic_query") or "")[:500]

    served = await compute_pool(request).run(
        recommend_and_log, service, user_id=who.user_id, app_user=who.app_user, nlu={**nlu, "filters": filters},
        query=query, now=now, lat=ctx.lat, lon=ctx.lon, top_k=body.top_k, profile_birthday=profile.birthday)
    res, interaction_id = served.result, served.interaction_id
    metadata = {**res.metadata, "relaxed_filters": list(res.relaxed_filters), "interaction_id": interaction_id}
    explanations = list(res.explanations) or [str(r.get("reason") or "") for r in res.recommendations]
    return RecommendationsPublic(user_id=body.user_id, original_query=query, recommendations=res.recommendations,
                              explanations=explanations, metadata=metadata)
