"""Children's personal information as Korea's Personal Information Protection Act (PIPA) asks.

* Article 22-2: processing the personal information of a child under 14 needs a legal guardian's
  consent. The operator records it as ``user.guardian_consent`` (the day it was given).
* Without it the service still answers a child fully, but keeps the least it can
  (:mod:`naviyam.service.minimise`: no free text, no precise location) and never trains on the
  child's events.
* Article 36: a person's data is erased on request (:mod:`naviyam.service.privacy`), and an erased
  user's events never enter a later training set either.

Ages are counted in the service's time zone (``naviyam.core.clock.local_today``): a child turns 14 at
midnight in Seoul, whatever zone the server runs in. Privacy decisions never use a time the client sent.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, select

from naviyam.core.clock import local_today
from naviyam.db.models import PrivacyEvent, User

#: Under this age a guardian's consent is needed (PIPA Art. 22-2).
CONSENT_AGE = 14


def age_on(birthday: dt.date | None, today: dt.date) -> int | None:
    """Full years on ``today`` (None for an unknown birthday)."""
    if birthday is None:
        return None
    return today.year - birthday.year - ((today.month, today.day) < (birthday.month, birthday.day))


def has_guardian_consent(consent: dt.date | None, today: dt.date | None = None) -> bool:
    """A consent counts from its day on (a date in the future is not consent yet)."""
    return consent is not None and consent <= (today or local_today())


def must_minimise(birthday: dt.date | None, consent: dt.date | None, today: dt.date | None = None) -> bool:
    """A known child under 14 without a guardian's consent: keep the least, train on nothing."""
    today = today or local_today()
    age = age_on(birthday, today)
    return age is not None and age < CONSENT_AGE and not has_guardian_consent(consent, today)


def children_without_consent(engine: Engine, today: dt.date | None = None) -> set[int]:
    """Ids of the users who are under 14 today and have no guardian's consent."""
    today = today or local_today()
    # Everyone born within the last CONSENT_AGE + 1 years is a candidate; the exact rule decides.
    born_after = dt.date(today.year - CONSENT_AGE - 1, 1, 1)
    with engine.connect() as conn:
        rows = conn.execute(select(User.id, User.birthday, User.guardian_consent)
                            .where(User.birthday >= born_after)).all()
    return {int(uid) for uid, birthday, consent in rows if must_minimise(birthday, consent, today)}


def erased_users(engine: Engine) -> set[int]:
    """Ids of the users whose data was erased on request (the privacy log keeps that it happened)."""
    with engine.connect() as conn:
        return {int(u) for u in conn.execute(select(PrivacyEvent.user_id).where(PrivacyEvent.action == "erase")
                                             .distinct()).scalars()}


def training_exclusions(engine: Engine, today: dt.date | None = None) -> frozenset[int]:
    """Users none of whose events may enter a training set, a fitted model or a learning export:
    children under 14 without a guardian's consent, and every user erased on request."""
    return frozenset(children_without_consent(engine, today) | erased_users(engine))
