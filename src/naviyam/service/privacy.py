"""Erasing a user's conversations on request, and the retention limit for everyone's.

What the service itself collects about a person is its conversations
(``interaction`` rows: messages, what was shown), their dialogue state
(``chat_session``) and feedback events (``feedback_event``). The operator's
tables (users, orders, reviews) are the operator's records and are left to
the operator's own processes.

Both functions delete in batches of ids so that a large deletion never holds
long locks on a busy PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import asdict, dataclass

from sqlalchemy import Engine, delete, or_, select, update

from naviyam.core.clock import utcnow
from naviyam.db.models import ChatSession, FeedbackEvent, Interaction
from naviyam.db.session import session_scope

log = logging.getLogger(__name__)
BATCH = 2000


@dataclass(frozen=True)
class Erased:
    interactions: int = 0
    chat_sessions: int = 0
    feedback_events: int = 0

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def _chunks(ids: list, size: int = BATCH):
    for i in range(0, len(ids), size):
        yield ids[i:i + size]


def _delete_interactions(s, interaction_ids: list[int]) -> int:
    """Delete interactions; other people's feedback that pointed at them keeps its event, without the link."""
    n = 0
    for chunk in _chunks(interaction_ids):
        s.execute(update(FeedbackEvent).where(FeedbackEvent.interaction_id.in_(chunk)).values(interaction_id=None))
        n += s.execute(delete(Interaction).where(Interaction.id.in_(chunk))).rowcount or 0
    return n


def erase_user_data(engine: Engine, user_id: int) -> Erased:
    """Delete every conversation, dialogue state and feedback event of ``user_id`` (one transaction)."""
    with session_scope(engine) as s:
        session_ids = list(s.scalars(select(ChatSession.id).where(ChatSession.user_id == user_id)))
        # Anonymous turns of a session that became this user's are this user's too.
        where = Interaction.user_id == user_id
        if session_ids:
            where = or_(where, *[Interaction.session_id.in_(c) for c in _chunks(session_ids)])
        interaction_ids = list(s.scalars(select(Interaction.id).where(where)))
        feedback = s.execute(delete(FeedbackEvent).where(FeedbackEvent.user_id == user_id)).rowcount or 0
        interactions = _delete_interactions(s, interaction_ids)
        sessions = 0
        for chunk in _chunks(session_ids):
            sessions += s.execute(delete(ChatSession).where(ChatSession.id.in_(chunk))).rowcount or 0
    erased = Erased(interactions, sessions, feedback)
    log.info("erased the data of user %s: %s", user_id, erased.to_dict())
    return erased


def apply_retention(engine: Engine, days: int, *, now: dt.datetime | None = None, dry_run: bool = False) -> Erased:
    """Delete conversations, dialogue states and feedback older than ``days`` (0: keep everything).

    A conversation is old when its last turn is: a chat session goes when it has not been
    used for ``days``; an interaction or a feedback event when it was created before then.
    """
    if days <= 0:
        return Erased()
    cutoff = (now or utcnow()) - dt.timedelta(days=days)
    with session_scope(engine) as s:
        interaction_ids = list(s.scalars(select(Interaction.id).where(Interaction.created_at < cutoff)))
        feedback_ids = list(s.scalars(select(FeedbackEvent.id).where(FeedbackEvent.created_at < cutoff)))
        session_ids = list(s.scalars(select(ChatSession.id).where(ChatSession.updated_at < cutoff)))
        if dry_run:
            s.rollback()
            return Erased(len(interaction_ids), len(session_ids), len(feedback_ids))
        feedback = 0
        for chunk in _chunks(feedback_ids):
            feedback += s.execute(delete(FeedbackEvent).where(FeedbackEvent.id.in_(chunk))).rowcount or 0
        interactions = _delete_interactions(s, interaction_ids)
        sessions = 0
        for chunk in _chunks(session_ids):
            sessions += s.execute(delete(ChatSession).where(ChatSession.id.in_(chunk))).rowcount or 0
    erased = Erased(interactions, sessions, feedback)
    log.info("retention (%d days, before %s): deleted %s", days, cutoff.isoformat(timespec="seconds"),
             erased.to_dict())
    return erased
