"""Serving a recommendation list and logging the turn: one owner for ``POST /recommendations`` and the
chat's recommendation turn.

:func:`log_turn` is the only place a served turn is written (the interaction row, minimised for a child
without a guardian's consent); :func:`recommend_and_log` is ``/recommendations``' whole job, so the route
keeps only HTTP (body, status codes).
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Executable
from sqlalchemy.orm import Session as DBSession

from naviyam.db.models import User
from naviyam.learning.store import store_interaction
from naviyam.service.minimise import minimise_nlu, minimise_turn, request_location


def shown_list(recommendations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What is stored of the shops shown: id, rank, score and the funnels that found them."""
    return [{"shop_id": r["shop_id"], "rank": i + 1, "score": r.get("score"), "funnels": r.get("funnels")}
            for i, r in enumerate(recommendations)]


def log_turn(db: DBSession, *, session_id: str, user_id: int | None, message: str, intent: str,
             nlu: dict[str, Any], recommendations: list[dict[str, Any]], response: str | None,
             latency_ms: float, model_versions: dict[str, str], app_user: str | None,
             lat: float | None, lon: float | None, minimise: bool, ab_arm: str | None = None,
             before: Sequence[tuple[Executable, dict[str, Any]]] = ()) -> int:
    """Store one served turn; a minimised turn keeps no message, no answer text and no precise place.
    ``before``: the turn's other statements (its chat session row), run first in the same write transaction."""
    return store_interaction(
        db, session_id=session_id, user_id=user_id, message="" if minimise else message, intent=intent,
        nlu=minimise_nlu(nlu) if minimise else nlu, recommendations=shown_list(recommendations),
        response=None if minimise else response, latency_ms=latency_ms, model_versions=model_versions,
        ab_arm=ab_arm, app_user=app_user, location=request_location(lat, lon, minimise=minimise),
        minimised=minimise, before=before)


@dataclass
class ServedList:
    result: Any  # the engine's RecommendationResult, arranged
    interaction_id: int


def recommend_and_log(service: Any, *, user_id: int | None, app_user: str | None, nlu: dict[str, Any],
                      query: str, now: dt.datetime, lat: float | None, lon: float | None, top_k: int,
                      profile_birthday: dt.date | None) -> ServedList:
    """``/recommendations``: the list under the chat's rules (:meth:`ChatService.recommend_for`), then the turn
    is stored like a chat turn before it is returned."""
    t0 = time.perf_counter()
    res = service.recommend_for(user_id, nlu, now=now, lat=lat, lon=lon, top_k=top_k,
                                profile_birthday=profile_birthday)
    with service.sessions() as db:
        user = db.get(User, user_id) if user_id is not None else None
        minimise = minimise_turn(user, birthday=profile_birthday, message=query)
        iid = log_turn(db, session_id=f"api-{uuid.uuid4().hex[:20]}", user_id=user_id, message=query,
                       intent=str(nlu.get("intent") or "FOOD_RECOMMENDATION"), nlu=nlu,
                       recommendations=res.recommendations, response=None,
                       latency_ms=(time.perf_counter() - t0) * 1000, model_versions=service.model_versions,
                       app_user=app_user, lat=lat, lon=lon, minimise=minimise)
    return ServedList(res, iid)
