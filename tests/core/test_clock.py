"""The service's clock and everything that depends on the hour, swept over the day and the week.

Each instant is a moment in Seoul; every check runs with the server machine's own zone set to UTC,
to Los Angeles (the previous calendar day for most of the Seoul day) and to Kiritimati (UTC+14), so
code that read the machine's clock or zone instead of ``naviyam.core.clock`` would fail here.
Expected values are written out by hand, not recomputed with the code under test.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from naviyam.config import Settings
from naviyam.core import clock
from naviyam.db.models import Interaction, Shop
from naviyam.db.session import session_scope
from naviyam.hours import meal_time

SEOUL = dt.timezone(dt.timedelta(hours=9))


@dataclass(frozen=True)
class Moment:
    name: str
    local: dt.datetime  # wall clock in Seoul
    meal: str
    weekend: bool
    open_ids: frozenset[int]  # which of SHOPS are open


#: id → (open, close, closed days). 1: daytime, closed Sundays; 2: 17:00–02:00, closed Mondays;
#: 3: round the clock; 4: weekday lunch only.
SHOPS = {1: (dt.time(10), dt.time(21), "일"), 2: (dt.time(17), dt.time(2), "월"), 3: (dt.time(0), dt.time(0), None),
         4: (dt.time(11), dt.time(15), "토,일")}

MOMENTS = [
    Moment("early_morning_monday", dt.datetime(2026, 11, 23, 6, 30), "breakfast", False, frozenset({3})),
    Moment("noon_wednesday", dt.datetime(2026, 11, 25, 12, 0), "lunch", False, frozenset({1, 3, 4})),
    Moment("evening_friday", dt.datetime(2026, 11, 27, 19, 0), "dinner", False, frozenset({1, 2, 3})),
    Moment("late_saturday", dt.datetime(2026, 11, 28, 23, 50), "late_night", True, frozenset({2, 3})),
    Moment("sunday_lunch", dt.datetime(2026, 11, 29, 13, 0), "lunch", True, frozenset({3})),
    # Sunday night after midnight: shop 2 (closed Mondays) still serves Sunday's night.
    Moment("just_after_midnight_monday", dt.datetime(2026, 11, 30, 0, 10), "late_night", False,
           frozenset({2, 3})),
    # Monday night after midnight belongs to Monday, when shop 2 is closed.
    Moment("after_midnight_tuesday", dt.datetime(2026, 12, 1, 1, 30), "late_night", False, frozenset({3})),
]

SERVER_ZONES = ["UTC", "America/Los_Angeles", "Pacific/Kiritimati"]


@pytest.fixture(params=SERVER_ZONES)
def server_zone(request, monkeypatch):
    """The machine's own zone (TZ) for the test; the service must not care."""
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


def _aware(m: Moment) -> dt.datetime:
    return m.local.replace(tzinfo=SEOUL)


def _add_shops(engine) -> None:
    with session_scope(engine) as s:
        for sid, (o, c, closed) in SHOPS.items():
            s.add(Shop(id=sid, name=f"가게{sid}", category="분식", district="관악구", dong="서원동", lat=37.48,
                       lon=126.93 + 0.001 * sid, open_time=o, close_time=c, closed_days=closed,
                       is_good_shop=False, accepts_meal_card=True))


def test_pinned_clock_gives_seoul_wall_time_and_utc_storage_time(server_zone):
    m = MOMENTS[5]  # Monday 00:10 in Seoul is still Sunday 15:10 in UTC
    with clock.pinned(_aware(m)):
        assert clock.local_now() == m.local
        assert clock.local_today() == dt.date(2026, 11, 30)
        assert clock.utcnow() == dt.datetime(2026, 11, 29, 15, 10)
        assert clock.now().tzinfo is not None and clock.now() == _aware(m)
    # a naive instant is read as Seoul wall time, not as the machine's time
    with clock.pinned(dt.datetime(2026, 11, 30, 0, 10)):
        assert clock.utcnow() == dt.datetime(2026, 11, 29, 15, 10)


def test_a_ticking_pin_runs_on_and_a_frozen_one_does_not():
    with clock.pinned("2026-11-27T19:00:00+09:00", tick=True):
        a = clock.now()
        time.sleep(0.02)
        assert clock.now() > a
        assert clock.now() - a < dt.timedelta(minutes=1)
    with clock.pinned("2026-11-27T19:00:00+09:00"):
        a = clock.now()
        time.sleep(0.01)
        assert clock.now() == a


def test_the_environment_setting_pins_a_process(monkeypatch):
    from naviyam.config import get_settings

    monkeypatch.setenv("NAVIYAM_CLOCK", "2026-12-06T23:50:00+00:00")
    get_settings.cache_clear()
    before = clock._pin
    clock.unpin()  # what a fresh server process sees: no in-process pin, only the setting
    try:
        assert clock.local_now() - dt.datetime(2026, 12, 7, 8, 50) < dt.timedelta(minutes=1)
        assert clock.local_today() == dt.date(2026, 12, 7)
        first = clock.now()
        time.sleep(0.01)
        assert clock.now() > first  # it ticks, and reading it again never restarts it
    finally:
        clock._pin = before
        get_settings.cache_clear()


def test_the_service_hands_its_settings_to_the_clock():
    """The app's settings (time zone, NAVIYAM_CLOCK) decide, not get_settings(), until they are taken back."""
    before = clock._pin
    clock.unpin()
    restore = clock.use_settings(Settings(timezone="UTC", clock="2026-12-06T23:50:00+00:00"))
    try:
        assert clock.zone().key == "UTC"
        assert clock.local_today() == dt.date(2026, 12, 6)  # in Seoul it is already the 7th
        assert dt.timedelta(0) <= clock.local_now() - dt.datetime(2026, 12, 6, 23, 50) < dt.timedelta(minutes=1)
    finally:
        restore()
        clock._pin = before
    assert clock.zone().key == "Asia/Seoul"


def test_the_real_clock_when_nothing_is_pinned(monkeypatch):
    """The one test that asks for the current time: Seoul is UTC+9 whatever the hour."""
    from naviyam.config import get_settings

    monkeypatch.delenv("NAVIYAM_CLOCK", raising=False)
    get_settings.cache_clear()
    try:
        with clock.pinned(None):
            real = dt.datetime.now(dt.UTC)
            assert abs(clock.now() - real) < dt.timedelta(seconds=5)
            assert round((clock.local_now() - clock.utcnow()).total_seconds() / 3600) == 9
            assert clock.pinned_instant() is None
        assert clock.pinned_instant() is not None  # the suite's pin is back after the block
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize("m", MOMENTS, ids=lambda m: m.name)
def test_meal_time_and_weekend_follow_seoul(m, server_zone):
    with clock.pinned(_aware(m)):
        now = clock.local_now()
        assert meal_time(now) == m.meal
        assert (now.weekday() >= 5) is m.weekend


@pytest.mark.parametrize("m", MOMENTS, ids=lambda m: m.name)
def test_open_now_across_midnight_and_closed_days(m, server_zone, sqlite_engine):
    from naviyam.retrieval.catalog import ShopCatalog
    from naviyam.shops import get_shop, list_shops

    _add_shops(sqlite_engine)
    with clock.pinned(_aware(m)):
        with session_scope(sqlite_engine) as s:
            assert {sid for sid in SHOPS if get_shop(s, sid).open_now} == m.open_ids
            records, _total = list_shops(s)
            assert {r.id for r in records if r.open_now} == m.open_ids
        catalog = ShopCatalog.load(sqlite_engine)
        mask = catalog.open_at(clock.local_now())
        assert {int(catalog.ids[i]) for i in mask.nonzero()[0]} == m.open_ids


@pytest.mark.parametrize("m", MOMENTS, ids=lambda m: m.name)
def test_retention_counts_days_back_from_now(m, server_zone, sqlite_engine):
    from naviyam.learning.store import store_interaction
    from naviyam.service.privacy import apply_retention

    t = _aware(m)
    ages = {"3 days": dt.timedelta(days=3), "1 day 1 min": dt.timedelta(days=1, minutes=1),
            "23 hours": dt.timedelta(hours=23), "now": dt.timedelta(0)}
    for label, age in ages.items():
        with clock.pinned(t - age), session_scope(sqlite_engine) as s:
            store_interaction(s, session_id="s", user_id=1, message=label, intent=None, nlu=None,
                              recommendations=None, response=None, latency_ms=None, model_versions=None)
    with clock.pinned(t):
        erased = apply_retention(sqlite_engine, days=1)
    assert erased.interactions == 2
    with session_scope(sqlite_engine) as s:
        assert set(s.scalars(select(Interaction.message))) == {"23 hours", "now"}


@pytest.mark.parametrize("m", MOMENTS, ids=lambda m: m.name)
def test_daily_monitoring_computes_yesterday_in_seoul(m, server_zone):
    from naviyam.monitor.daily import yesterday

    with clock.pinned(_aware(m)):
        day = yesterday()
    assert day == m.local.date() - dt.timedelta(days=1)
    start, end = clock.day_bounds_utc(day)
    # a Seoul day starts at 15:00 UTC the day before
    assert start == dt.datetime.combine(day - dt.timedelta(days=1), dt.time(15)) and end - start == dt.timedelta(1)


def test_daily_metrics_and_learning_export_split_days_at_seoul_midnight(server_zone, tmp_path, monkeypatch):
    """Turns at 23:50 Sunday and 00:05 Monday (Seoul) fall on two days, though both are Sunday in UTC."""
    from typer.testing import CliRunner

    from naviyam.cli import app
    from naviyam.config import get_settings
    from naviyam.db.session import get_engine, make_engine, migrate
    from naviyam.learning.store import store_interaction
    from naviyam.monitor.daily import compute_day

    monkeypatch.setenv("NAVIYAM_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("NAVIYAM_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    get_engine.cache_clear()
    engine = make_engine(get_settings().resolved_database_url)
    migrate(engine)
    try:
        for label, when in (("sunday", dt.datetime(2026, 11, 29, 23, 50)), ("monday", dt.datetime(2026, 11, 30, 0, 5))):
            with clock.pinned(when), session_scope(engine) as s:
                store_interaction(s, session_id=label, user_id=1, message=label, intent="FOOD_RECOMMENDATION",
                                  nlu={}, recommendations=[], response="", latency_ms=5.0, model_versions={})
        assert compute_day(engine, dt.date(2026, 11, 29))["interactions"] == 1
        assert compute_day(engine, dt.date(2026, 11, 30))["interactions"] == 1
        with clock.pinned(dt.datetime(2026, 11, 30, 0, 10)):
            res = CliRunner().invoke(app, ["learning", "export", "--start", "2026-11-29", "--end", "2026-11-29",
                                           "--out", str(tmp_path / "out")])
        assert res.exit_code == 0, res.output
        (conv,) = (tmp_path / "out").glob("conversations_20261129_20261130.jsonl")
        assert [line for line in conv.read_text(encoding="utf-8").splitlines() if '"sunday"' in line]
        assert len(conv.read_text(encoding="utf-8").splitlines()) == 1
    finally:
        engine.dispose()
        get_engine().dispose()
        get_settings.cache_clear()
        get_engine.cache_clear()


def test_no_module_reads_the_machine_clock():
    """Every "now" goes through naviyam.core.clock (durations use perf_counter/monotonic).

    The one kind of exception, marked ``real-clock:`` on its line, is wall time shared between
    processes that is not the service's "now" (rate-limit windows kept in Redis).
    """
    import re
    from pathlib import Path

    import naviyam

    root = Path(naviyam.__file__).parent
    pattern = re.compile(r"datetime\.now\(|datetime\.utcnow\(|date\.today\(|datetime\.today\(|time\.time\(\)"
                         r"|Timestamp\.(now|today)\(")
    offenders = [f"{p.relative_to(root)}:{i}" for p in root.rglob("*.py") if p.name != "clock.py"
                 for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
                 if pattern.search(line) and "real-clock:" not in line]
    assert offenders == []
    assert os.environ.get("NAVIYAM_CLOCK")  # the suite pins subprocesses too (tests/conftest.py)
