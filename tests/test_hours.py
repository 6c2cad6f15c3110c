import datetime as dt

import pytest

from naviyam.hours import format_hours, is_open, parse_closed_days

T = dt.time
# 2026-11-23 is a Monday (월).
MON = dt.date(2026, 11, 23)


def at(day_offset: int, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime.combine(MON + dt.timedelta(days=day_offset), T(hh, mm))


@pytest.mark.parametrize("when,expected", [(at(1, 9, 59), False), (at(1, 10), True), (at(1, 20, 59), True),
                                           (at(1, 21), False)])
def test_daytime_shop(when, expected):
    assert is_open(T(10), T(21), None, when) is expected


def test_closed_day_is_respected():
    assert not is_open(T(10), T(21), "월", at(0, 12))
    assert is_open(T(10), T(21), "월", at(1, 12))


def test_after_midnight_hours_belong_to_the_previous_day():
    # Open 17:00-02:00, closed on Monday: Monday 01:00 is still Sunday's night.
    assert is_open(T(17), T(2), "월", at(0, 1))
    assert not is_open(T(17), T(2), "월", at(0, 18))
    # Tuesday 01:00 belongs to Monday's (closed) night.
    assert not is_open(T(17), T(2), "월", at(1, 1))
    assert not is_open(T(17), T(2), None, at(1, 2, 30))


def test_round_the_clock():
    assert is_open(T(0), T(0), None, at(2, 4))


def test_closed_days_parsing_and_formatting():
    assert parse_closed_days("토,일") == {5, 6}
    assert parse_closed_days("") == frozenset()
    assert format_hours(T(17), T(2), "월") == "17:00~02:00 (다음 날), 월요일 휴무"
    assert format_hours(T(0), T(0), None) == "24시간 영업"


def test_to_local_converts_aware_times_and_keeps_naive_ones():
    from naviyam.core.clock import to_local

    assert to_local(dt.datetime(2026, 11, 2, 3, 0, tzinfo=dt.UTC)) == dt.datetime(2026, 11, 2, 12, 0)
    assert to_local(dt.datetime(2026, 11, 2, 3, 0)) == dt.datetime(2026, 11, 2, 3, 0)
