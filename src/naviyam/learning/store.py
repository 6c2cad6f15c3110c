"""The interaction store: what every answer showed, durably, and its export for learning.

``export_learning_data`` writes the seed's JSON-lines files
(``conversations_<start>_<end>.jsonl`` and ``feedbacks_<start>_<end>.jsonl``)
for any date range, straight from the database.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Executable, insert, select
from sqlalchemy.orm import Session

from naviyam.core.privacy import training_exclusions
from naviyam.db.models import FeedbackEvent, Interaction
from naviyam.db.session import session_scope, write_lock

_INSERT_INTERACTION = insert(Interaction.__table__)


def frequent_queries(engine: Engine, *, since: dt.datetime, limit: int, scan: int = 20_000) -> list[str]:
    """The most frequent semantic queries (the NLU's ``semantic_query``) of the turns logged since ``since``, most
    frequent first, at most ``limit``; read from the last ``scan`` turns. Minimised turns (children without a
    guardian's consent) are never read."""
    if limit <= 0:
        return []
    stmt = (select(Interaction.nlu).where(Interaction.created_at >= since, Interaction.minimised.is_(False))
            .order_by(Interaction.id.desc()).limit(scan))
    counts: Counter[str] = Counter()
    with engine.connect() as conn:
        for (nlu,) in conn.execute(stmt):
            text = nlu.get("semantic_query") if isinstance(nlu, dict) else None
            if isinstance(text, str) and text.strip():
                counts[text.strip()] += 1
    return [text for text, _n in counts.most_common(limit)]


def store_interaction(
    session: Session,
    *,
    session_id: str,
    user_id: int | None,
    message: str,
    intent: str | None,
    nlu: dict[str, Any] | None,
    recommendations: list[dict[str, Any]] | None,
    response: str | None,
    latency_ms: float | None,
    model_versions: dict[str, str] | None,
    ab_arm: str | None = None,
    app_user: str | None = None,
    location: dict[str, Any] | None = None,
    minimised: bool = False,
    before: Sequence[tuple[Executable, dict[str, Any]]] = (),
) -> int:
    """Commit one interaction and return its id. ``recommendations`` holds what was shown.

    ``before``: (statement, parameters) of the same turn (its chat session row), run first in the same short write
    transaction. The row is inserted with one prepared Core statement (no unit of work: a turn writes one row per
    table, known in full).
    A ``minimised`` turn is stored as the caller made it (naviyam.service.minimise) and is never exported
    for learning."""
    row = {"session_id": session_id, "user_id": user_id, "message": message, "intent": intent, "nlu": nlu,
           "recommendations": recommendations, "response": response, "latency_ms": latency_ms,
           "model_versions": model_versions, "ab_arm": ab_arm, "app_user": app_user, "location": location,
           "minimised": minimised}
    with write_lock(session.get_bind()):  # the turn's one write transaction: its statements and commit together
        conn = session.connection()  # Core statements on the session's connection (no ORM layer per statement)
        for statement, parameters in before:
            conn.execute(statement, parameters)
        key = conn.execute(_INSERT_INTERACTION, row).inserted_primary_key
        session.commit()  # also flushes what the turn added through the ORM (chat feedback, a safety alert)
    assert key is not None
    return int(key[0])


@dataclass(frozen=True)
class ExportResult:
    conversations: Path
    feedbacks: Path
    n_conversations: int
    n_feedbacks: int


def _iso(t: dt.datetime | None) -> str | None:
    return t.isoformat() if t else None


def export_learning_data(engine: Engine, out_dir: Path, start: dt.datetime, end: dt.datetime, *,
                         tag: str | None = None) -> ExportResult:
    """Write interactions and feedback created in ``[start, end)`` (naive UTC) as the seed's JSONL files.

    Never exported: minimised turns and events (children without a guardian's consent) and anything of a
    user no training may use (:func:`naviyam.core.privacy.training_exclusions`: such children, erased users).

    ``tag`` names the files (default: the two dates of ``start`` and ``end``).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    tag = tag or f"{start:%Y%m%d}_{end:%Y%m%d}"
    conv_path, fb_path = out_dir / f"conversations_{tag}.jsonl", out_dir / f"feedbacks_{tag}.jsonl"
    n_conv = n_fb = 0
    excluded = training_exclusions(engine)
    with session_scope(engine) as s:
        feedback_by_interaction: dict[int, list[FeedbackEvent]] = {}
        fbs = [fb for fb in s.scalars(select(FeedbackEvent).where(
            FeedbackEvent.created_at >= start, FeedbackEvent.created_at < end, FeedbackEvent.minimised.is_(False))
            .order_by(FeedbackEvent.id)) if fb.user_id not in excluded]
        for fb in fbs:
            if fb.interaction_id is not None:
                feedback_by_interaction.setdefault(fb.interaction_id, []).append(fb)
        tmp_conv, tmp_fb = conv_path.with_suffix(".tmp"), fb_path.with_suffix(".tmp")
        with tmp_conv.open("w", encoding="utf-8") as f:
            q = select(Interaction).where(Interaction.created_at >= start, Interaction.created_at < end,
                                          Interaction.minimised.is_(False))
            for it in s.scalars(q.order_by(Interaction.id).execution_options(yield_per=1000)):
                if it.user_id in excluded:
                    continue
                related = feedback_by_interaction.get(it.id, [])
                scores = [x.satisfaction_score for x in related if x.satisfaction_score is not None]
                record = {
                    "type": "conversation", "timestamp": _iso(it.created_at), "interaction_id": it.id,
                    "session_id": it.session_id, "user_id": it.user_id, "user_input": it.message,
                    "chatbot_output": it.nlu, "recommendations_shown": it.recommendations or [],
                    "final_response": it.response, "model_versions": it.model_versions, "ab_arm": it.ab_arm,
                    "user_feedback": {
                        "satisfaction_score": max(scores) if scores else None,
                        "selected_shops": sorted({x.shop_id for x in related if x.feedback_type != "dismissed"}),
                        "interaction_types": sorted({x.feedback_type for x in related}),
                    },
                }
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
                n_conv += 1
        with tmp_fb.open("w", encoding="utf-8") as f:
            for fb in fbs:
                record = {"type": "feedback", "timestamp": _iso(fb.created_at), "id": fb.id, "user_id": fb.user_id,
                          "shop_id": fb.shop_id, "feedback_type": fb.feedback_type,
                          "satisfaction_score": fb.satisfaction_score,
                          "context": {"interaction_id": fb.interaction_id}}
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
                n_fb += 1
    tmp_conv.replace(conv_path)
    tmp_fb.replace(fb_path)
    return ExportResult(conv_path, fb_path, n_conv, n_fb)
