"""Feedback ingestion: every accepted event is committed before it is acknowledged."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from naviyam.core.privacy import must_minimise
from naviyam.db.models import FEEDBACK_TYPES, FeedbackEvent, Interaction, Shop, User
from naviyam.db.session import write_lock


class FeedbackRejected(ValueError):
    """The event refers to something that does not exist or is inconsistent (a 4xx for the API)."""


def record_feedback(
    session: Session,
    *,
    user_id: int | None,
    shop_id: int,
    feedback_type: str,
    interaction_id: int | None = None,
    satisfaction_score: float | None = None,
    app_user: str | None = None,
) -> int:
    """Validate and commit one feedback event; return its id. ``app_user``: the string an app user is known by."""
    if feedback_type not in FEEDBACK_TYPES:
        raise FeedbackRejected(f"알 수 없는 피드백 종류예요: {feedback_type}")
    if session.get(Shop, shop_id) is None:
        raise FeedbackRejected(f"{shop_id}번 가게가 없어요.")
    interaction = None
    if interaction_id is not None:
        interaction = session.get(Interaction, interaction_id)
        if interaction is None:
            raise FeedbackRejected(f"{interaction_id}번 대화 기록이 없어요.")
        if user_id is not None and interaction.user_id is not None and interaction.user_id != user_id:
            raise FeedbackRejected("이 대화 기록은 다른 사용자의 것이에요.")
    if feedback_type == "rated" and satisfaction_score is None:
        raise FeedbackRejected("'rated' 피드백에는 1~5 사이의 satisfaction_score가 필요해요.")
    event = FeedbackEvent(interaction_id=interaction_id, user_id=user_id, shop_id=shop_id,
                          feedback_type=feedback_type, satisfaction_score=satisfaction_score, app_user=app_user,
                          minimised=_minimised(session, user_id, app_user, interaction))
    session.add(event)
    with write_lock(session.get_bind()):
        session.commit()
    return event.id


def _minimised(session: Session, user_id: int | None, app_user: str | None,
               interaction: Interaction | None) -> bool:
    """A child's event kept without consent: about a minimised turn, from a known child under 14 without
    consent, or from an app user whose conversation was minimised (they said they were a child)."""
    if interaction is not None and interaction.minimised:
        return True
    user = session.get(User, user_id) if user_id is not None else None
    if user is not None:
        return must_minimise(user.birthday, user.guardian_consent)
    if app_user is not None:
        return session.scalar(select(Interaction.id).where(Interaction.app_user == app_user,
                                                           Interaction.minimised.is_(True)).limit(1)) is not None
    return False


def feedback_count(session: Session) -> int:
    return session.scalar(select(func.count(FeedbackEvent.id))) or 0
