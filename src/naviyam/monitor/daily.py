"""Daily metrics from the database, stored one row per (day, metric) in ``daily_metric``.

A day is a calendar day in the service's time zone (``Settings.timezone``);
interactions and feedback are stored in UTC and converted. For the day's
interactions:

==========================  ===========================================================
metric                      definition
==========================  ===========================================================
interactions                number of chat turns
daily_active_users          distinct users (anonymous ones by session)
nlu_confidence              mean NLU confidence
clarification_rate          search requests answered with a clarifying question
                            (confidence < 0.40 or no filters) / search requests
ctr                         interactions with a clicked/ordered/favourited shop /
                            interactions that showed shops
conversion_rate             interactions with an order / interactions that showed shops
conversation_success_rate   sessions with a chosen shop / sessions
response_satisfaction       mean satisfaction score (1-5) of the day's feedback
recommendation_diversity    mean intra-list diversity (share of shop pairs of different
                            categories) of the shown lists
avg_recommendation_score    mean score of the shown shops
latency_p50_ms / _p95_ms    percentiles of the stored answer latency
error_rate                  search requests (not clarified) that got no shop / search requests
==========================  ===========================================================

Feedback counts for the interaction it belongs to, whatever day it arrived.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from typing import Any

import numpy as np
from sqlalchemy import Engine, delete, select

from naviyam.core.clock import day_bounds_utc, local_today
from naviyam.db.models import DailyMetric, FeedbackEvent, Interaction, Shop
from naviyam.db.session import session_scope
from naviyam.nlu.canonical import SEARCH_INTENTS
from naviyam.recommend.metrics import intra_list_diversity

log = logging.getLogger(__name__)

CLARIFY_CONFIDENCE = 0.40
POSITIVE = ("clicked", "ordered", "favorited")
#: Metric name -> Korean label (charts, alerts).
METRICS: dict[str, str] = {
    "interactions": "대화 수",
    "daily_active_users": "일일 활성 사용자",
    "nlu_confidence": "NLU 확신도",
    "clarification_rate": "되묻기 비율",
    "ctr": "클릭률(CTR)",
    "conversion_rate": "전환율",
    "conversation_success_rate": "대화 성공률",
    "response_satisfaction": "응답 만족도",
    "recommendation_diversity": "추천 다양성",
    "avg_recommendation_score": "평균 추천 점수",
    "latency_p50_ms": "응답 시간 p50(ms)",
    "latency_p95_ms": "응답 시간 p95(ms)",
    "error_rate": "오류 비율",
}


def yesterday() -> dt.date:
    """The day the nightly ``monitor daily`` computes: yesterday in the service's time zone."""
    return local_today() - dt.timedelta(days=1)


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def _share(num: int, den: int) -> float | None:
    return num / den if den else None


def compute_day(engine: Engine, day: dt.date, timezone: str | None = None) -> dict[str, float | None]:
    """The day's metrics (None where the day has nothing to measure)."""
    start, end = day_bounds_utc(day, timezone)
    with session_scope(engine) as s:
        its = list(s.execute(select(Interaction.id, Interaction.user_id, Interaction.session_id, Interaction.intent,
                                    Interaction.nlu, Interaction.recommendations, Interaction.latency_ms)
                             .where(Interaction.created_at >= start, Interaction.created_at < end)))
        ids = [r.id for r in its]
        fb: dict[int, set[str]] = defaultdict(set)
        for chunk in range(0, len(ids), 900):
            for iid, kind in s.execute(select(FeedbackEvent.interaction_id, FeedbackEvent.feedback_type)
                                       .where(FeedbackEvent.interaction_id.in_(ids[chunk:chunk + 900]))):
                fb[iid].add(kind)
        sat = [float(x) for x in s.scalars(select(FeedbackEvent.satisfaction_score).where(
            FeedbackEvent.created_at >= start, FeedbackEvent.created_at < end,
            FeedbackEvent.satisfaction_score.is_not(None)))]
        shown_ids = {int(r["shop_id"]) for it in its for r in (it.recommendations or []) if "shop_id" in r}
        cats = {int(i): c for i, c in s.execute(select(Shop.id, Shop.category).where(Shop.id.in_(shown_ids)))}
    out: dict[str, float | None] = {name: None for name in METRICS}
    out["interactions"] = float(len(its))
    out["daily_active_users"] = float(len({it.user_id if it.user_id is not None else f"s:{it.session_id}"
                                           for it in its}))
    if not its:
        return out
    conf = [float(it.nlu["confidence"]) for it in its if isinstance(it.nlu, dict) and it.nlu.get("confidence")
            is not None]
    out["nlu_confidence"] = _mean(conf)
    search = [it for it in its if it.intent in SEARCH_INTENTS]
    clarified = [it for it in search if not it.recommendations and isinstance(it.nlu, dict) and (
        float(it.nlu.get("confidence") or 0) < CLARIFY_CONFIDENCE or not it.nlu.get("filters"))]
    out["clarification_rate"] = _share(len(clarified), len(search))
    clarified_ids = {it.id for it in clarified}
    failed = [it for it in search if not it.recommendations and it.id not in clarified_ids]
    out["error_rate"] = _share(len(failed), len(search))
    shown = [it for it in its if it.recommendations]
    out["ctr"] = _share(sum(bool(fb[it.id] & set(POSITIVE)) for it in shown), len(shown))
    out["conversion_rate"] = _share(sum("ordered" in fb[it.id] for it in shown), len(shown))
    sessions: dict[str, bool] = {}
    for it in its:
        sessions[it.session_id] = sessions.get(it.session_id, False) or bool(fb[it.id] & set(POSITIVE))
    out["conversation_success_rate"] = _share(sum(sessions.values()), len(sessions))
    out["response_satisfaction"] = _mean(sat)
    out["recommendation_diversity"] = _mean([
        intra_list_diversity([cats.get(int(r["shop_id"]), "?") for r in it.recommendations])
        for it in shown if len(it.recommendations) >= 2])
    out["avg_recommendation_score"] = _mean([float(r["score"]) for it in shown for r in it.recommendations
                                             if r.get("score") is not None])
    lat = [float(it.latency_ms) for it in its if it.latency_ms is not None]
    if lat:
        out["latency_p50_ms"] = float(np.percentile(lat, 50))
        out["latency_p95_ms"] = float(np.percentile(lat, 95))
    return out


def store_day(engine: Engine, day: dt.date, metrics: dict[str, float | None]) -> None:
    """Replace the stored metrics of ``day`` (idempotent: a rerun of the same night overwrites)."""
    with session_scope(engine) as s:
        s.execute(delete(DailyMetric).where(DailyMetric.day == day))
        s.add_all([DailyMetric(day=day, name=name, value=value) for name, value in metrics.items()])


def load_history(engine: Engine, start: dt.date | None = None, end: dt.date | None = None
                 ) -> dict[dt.date, dict[str, float | None]]:
    """Stored metrics by day (inclusive range)."""
    q = select(DailyMetric.day, DailyMetric.name, DailyMetric.value)
    if start is not None:
        q = q.where(DailyMetric.day >= start)
    if end is not None:
        q = q.where(DailyMetric.day <= end)
    out: dict[dt.date, dict[str, float | None]] = defaultdict(dict)
    with session_scope(engine) as s:
        for day, name, value in s.execute(q.order_by(DailyMetric.day)):
            out[day][name] = value
    return dict(out)


def run_daily(engine: Engine, day: dt.date, *, timezone: str | None = None, days: int = 1
              ) -> dict[dt.date, dict[str, Any]]:
    """Compute and store ``days`` days ending with ``day`` (a backfill when > 1)."""
    out = {}
    for k in range(days - 1, -1, -1):
        d = day - dt.timedelta(days=k)
        metrics = compute_day(engine, d, timezone)
        store_day(engine, d, metrics)
        out[d] = metrics
    return out
