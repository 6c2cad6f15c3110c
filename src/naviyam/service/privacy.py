"""One person's data on request, and the limits for everyone's (Korea's PIPA).

What the service itself collects about a person is its conversations
(``interaction`` rows: messages, what was shown), their dialogue state
(``chat_session``) and feedback events (``feedback_event``). The operator's
tables (users, orders, reviews) are the operator's records and are left to
the operator's own processes; but no training reads an erased user's rows
in them again (:func:`naviyam.core.privacy.training_exclusions`).

* guardian consent (Art. 22-2): :func:`set_guardian_consent`, :func:`withdraw_guardian_consent` — a withdrawal
  minimises what is already stored (:mod:`naviyam.service.minimise`);
* erasure on request (Art. 36): :func:`erase_user_data`;
* destruction when the purpose ends (Art. 21): :func:`apply_retention`.

Each consent change and erasure is written to the ``privacy_event`` log (what happened, to whom, counts,
when: never the data itself) and bumps the ``privacy`` data version, so models fitted before are marked
stale until they are rebuilt without the user's events.

The functions delete and update in batches of ids so that a large deletion never holds
long locks on a busy PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Engine, delete, or_, select, update
from sqlalchemy.orm import Session

from naviyam.core.clock import local_today, utcnow
from naviyam.db.data_versions import PRIVACY, bump
from naviyam.db.models import ChatSession, FeedbackEvent, Interaction, PrivacyEvent, User
from naviyam.db.session import session_scope
from naviyam.service.minimise import coarse_location, minimise_nlu, minimise_state

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


def _user_rows(s: Session, user_id: int) -> tuple[list[str], list[int]]:
    """(chat session ids, interaction ids) of a user; anonymous turns of a session that became theirs count."""
    session_ids = list(s.scalars(select(ChatSession.id).where(ChatSession.user_id == user_id)))
    where = Interaction.user_id == user_id
    if session_ids:
        where = or_(where, *[Interaction.session_id.in_(c) for c in _chunks(session_ids)])
    return session_ids, list(s.scalars(select(Interaction.id).where(where)))


def log_privacy_event(s: Session, action: str, user_id: int, details: dict[str, Any] | None, source: str) -> None:
    """One line of the operator's privacy log (counts and dates only), in the caller's transaction."""
    s.add(PrivacyEvent(action=action, user_id=user_id, details=details, source=source, created_at=utcnow()))
    log.info("privacy %s for user %s (%s): %s", action, user_id, source, details)


def erase_user_data(engine: Engine, user_id: int, *, source: str = "api") -> Erased:
    """Delete every conversation, dialogue state and feedback event of ``user_id`` (one transaction).

    The privacy log records that it happened with the counts; from then on no training set, fitted model
    or learning export reads the user's events, in the operator's tables either."""
    with session_scope(engine) as s:
        session_ids, interaction_ids = _user_rows(s, user_id)
        feedback = s.execute(delete(FeedbackEvent).where(FeedbackEvent.user_id == user_id)).rowcount or 0
        interactions = _delete_interactions(s, interaction_ids)
        sessions = 0
        for chunk in _chunks(session_ids):
            sessions += s.execute(delete(ChatSession).where(ChatSession.id.in_(chunk))).rowcount or 0
        erased = Erased(interactions, sessions, feedback)
        log_privacy_event(s, "erase", user_id, erased.to_dict(), source)
        bump(s.connection(), (PRIVACY,), f"erase:{source}")
    return erased


# --------------------------------------------------------------------------- guardian consent


class ConsentError(ValueError):
    """A consent change that cannot be made (unknown user, impossible date); the message is Korean."""


class UnknownUser(ConsentError):
    pass


@dataclass(frozen=True)
class ConsentChange:
    user_id: int
    guardian_consent: dt.date | None
    #: the consent date that was there before (None: none)
    previous: dt.date | None
    #: rows made minimised by a withdrawal
    interactions: int = 0
    chat_sessions: int = 0
    feedback_events: int = 0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("guardian_consent", "previous"):
            out[key] = out[key].isoformat() if out[key] else None
        return out


def _user(s: Session, user_id: int) -> User:
    user = s.get(User, user_id)
    if user is None:
        raise UnknownUser(f"사용자 {user_id}번이 없어요. 운영 DB(user 시트)에 있는 사용자만 동의를 기록할 수 있어요.")
    return user


def set_guardian_consent(engine: Engine, user_id: int, day: dt.date | None = None, *,
                         source: str = "api") -> ConsentChange:
    """Record that a legal guardian consented on ``day`` (default: today in the service's time zone)."""
    today = local_today()
    day = day or today
    with session_scope(engine) as s:
        user = _user(s, user_id)
        if day > today:
            raise ConsentError(f"동의 날짜({day.isoformat()})가 오늘({today.isoformat()})보다 뒤예요.")
        if user.birthday is not None and day < user.birthday:
            raise ConsentError(f"동의 날짜({day.isoformat()})가 생일({user.birthday.isoformat()})보다 앞이에요.")
        previous = user.guardian_consent
        user.guardian_consent = day
        change = ConsentChange(user_id, day, previous)
        log_privacy_event(s, "consent", user_id, {"guardian_consent": day.isoformat(),
                                                  "previous": previous.isoformat() if previous else None}, source)
        bump(s.connection(), (PRIVACY,), f"consent:{source}")
    return change


def withdraw_guardian_consent(engine: Engine, user_id: int, *, source: str = "api") -> ConsentChange:
    """Clear the consent and minimise everything already stored about the user (one transaction)."""
    with session_scope(engine) as s:
        user = _user(s, user_id)
        previous = user.guardian_consent
        user.guardian_consent = None
        counts = minimise_user_data(s, user_id)
        change = ConsentChange(user_id, None, previous, **counts)
        log_privacy_event(s, "withdraw", user_id, {"previous": previous.isoformat() if previous else None,
                                                   **counts}, source)
        bump(s.connection(), (PRIVACY,), f"withdraw:{source}")
    return change


def consent_snapshot(engine: Engine) -> dict[int, dt.date]:
    """user id → consent day, for every user with one (taken before an import of the user sheet)."""
    with engine.connect() as conn:
        return {int(u): d for u, d in conn.execute(select(User.id, User.guardian_consent)
                                                   .where(User.guardian_consent.is_not(None)))}


def record_imported_consents(engine: Engine, before: dict[int, dt.date]) -> tuple[list[int], list[int]]:
    """After an import of the user sheet: log the consents it set, and treat the consents it emptied as
    withdrawals (what is stored about those users is minimised). Returns (given, withdrawn) user ids."""
    after = consent_snapshot(engine)
    given = sorted(u for u, d in after.items() if before.get(u) != d)
    with session_scope(engine) as s:
        existing = set(s.scalars(select(User.id).where(User.id.in_(sorted(before))))) if before else set()
        withdrawn = sorted(u for u in before if u not in after and u in existing)
        for u in given:
            log_privacy_event(s, "consent", u, {"guardian_consent": after[u].isoformat(),
                                                "previous": before[u].isoformat() if u in before else None},
                              "import")
        for u in withdrawn:
            counts = minimise_user_data(s, u)
            log_privacy_event(s, "withdraw", u, {"previous": before[u].isoformat(), **counts}, "import")
        if given or withdrawn:
            bump(s.connection(), (PRIVACY,), "import")
    return given, withdrawn


def minimise_user_data(s: Session, user_id: int) -> dict[str, int]:
    """Make what is stored about a user what a minimised child's turns keep (in the caller's transaction):
    no message or answer text, the NLU without the message, coarse locations and dialogue states, and every
    conversation and feedback event marked never to be trained on."""
    session_ids, interaction_ids = _user_rows(s, user_id)
    interactions = 0
    for chunk in _chunks(interaction_ids):
        for it in s.scalars(select(Interaction).where(Interaction.id.in_(chunk))):
            it.message = ""
            it.response = None
            it.nlu = minimise_nlu(it.nlu)
            it.location = coarse_location(it.location)
            it.minimised = True
            interactions += 1
    sessions = 0
    for chunk in _chunks(session_ids):
        for row in s.scalars(select(ChatSession).where(ChatSession.id.in_(chunk))):
            row.state = minimise_state(row.state)
            sessions += 1
    feedback = 0
    feedback_where = FeedbackEvent.user_id == user_id
    if interaction_ids:
        feedback_where = or_(feedback_where, *[FeedbackEvent.interaction_id.in_(c) for c in _chunks(interaction_ids)])
    feedback += s.execute(update(FeedbackEvent).where(feedback_where).values(minimised=True)).rowcount or 0
    s.flush()
    return {"interactions": interactions, "chat_sessions": sessions, "feedback_events": feedback}


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
