"""Who needs a guardian's consent: ages counted on the service's date (Seoul), consent from its day on."""

import datetime as dt

from naviyam.core import clock
from naviyam.core.privacy import (
    CONSENT_AGE,
    age_on,
    children_without_consent,
    has_guardian_consent,
    must_minimise,
    training_exclusions,
)
from naviyam.db.models import PrivacyEvent, User
from naviyam.db.session import session_scope


def test_a_child_turns_14_at_midnight_in_seoul_not_in_utc():
    birthday = dt.date(2012, 11, 28)
    # 2026-11-27 23:30 UTC is already the 28th in Seoul: 14 today, no consent needed any more
    with clock.pinned("2026-11-27T23:30:00+00:00"):
        assert clock.local_today() == dt.date(2026, 11, 28)
        assert not must_minimise(birthday, None)
    # 2026-11-27 14:30 UTC is still the 27th in Seoul: 13
    with clock.pinned("2026-11-27T14:30:00+00:00"):
        assert must_minimise(birthday, None)
    assert age_on(birthday, dt.date(2026, 11, 27)) == CONSENT_AGE - 1


def test_consent_counts_from_its_day_on():
    today = dt.date(2026, 11, 27)
    child = dt.date(2016, 3, 1)
    assert must_minimise(child, None, today)
    assert not must_minimise(child, dt.date(2026, 11, 27), today)
    assert must_minimise(child, dt.date(2026, 11, 28), today)  # a date still to come is not consent yet
    assert not has_guardian_consent(None, today)
    assert not must_minimise(dt.date(2000, 1, 1), None, today)  # an adult needs none
    assert not must_minimise(None, None, today)  # no birthday: not known to be a child


def test_training_leaves_out_children_without_consent_and_erased_users(engine):
    today = clock.local_today()
    with session_scope(engine) as s:
        s.add_all([
            User(id=1, birthday=dt.date(2016, 3, 1), district="관악구"),  # 10, no consent
            User(id=2, birthday=dt.date(2016, 3, 1), district="관악구", guardian_consent=dt.date(2026, 1, 5)),
            User(id=3, birthday=dt.date(1990, 3, 1), district="관악구"),  # adult
            User(id=4, birthday=dt.date(2012, today.month, today.day), district="관악구"),  # 14 today
        ])
        s.add(PrivacyEvent(action="erase", user_id=3, details={"interactions": 0}, source="cli"))
    assert children_without_consent(engine) == {1}
    assert training_exclusions(engine) == frozenset({1, 3})
