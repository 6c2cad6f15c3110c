"""Opening hours: parsing weekday lists and asking whether a shop is open."""

from __future__ import annotations

import datetime as dt

from naviyam.core.text import WEEKDAYS_KO

#: Korean weekday letters, Monday first (datetime.weekday() order).
WEEKDAYS = WEEKDAYS_KO


def parse_closed_days(value: str | None) -> frozenset[int]:
    """"월,토" → {0, 5}. Empty or None → no closed day. Unknown letters are ignored."""
    if not value:
        return frozenset()
    return frozenset(WEEKDAYS.index(p.strip()[0]) for p in value.split(",") if p.strip() and p.strip()[0] in WEEKDAYS)


def is_open(open_time: dt.time, close_time: dt.time, closed_days: str | None, when: dt.datetime) -> bool:
    """Whether a shop is open at ``when``.

    ``close_time <= open_time`` means the shop closes after midnight (or is
    open round the clock when equal); the hours after midnight belong to the
    previous day's opening, so a shop closed on 월 is still open at 01:00 on
    월 if it opened on 일 evening.
    """
    closed = parse_closed_days(closed_days)
    t = when.time()
    today = when.weekday()
    yesterday = (today - 1) % 7
    if open_time == close_time:  # round the clock
        return today not in closed
    if open_time < close_time:
        return today not in closed and open_time <= t < close_time
    # Crosses midnight: evening part belongs to today, early-morning part to yesterday.
    if t >= open_time:
        return today not in closed
    return t < close_time and yesterday not in closed


def format_hours(open_time: dt.time, close_time: dt.time, closed_days: str | None) -> str:
    """Human-readable Korean hours, e.g. "10:00~02:00 (다음 날), 월요일 휴무"."""
    text = f"{open_time:%H:%M}~{close_time:%H:%M}"
    if open_time == close_time:
        text = "24시간 영업"
    elif close_time < open_time:
        text += " (다음 날)"
    days = sorted(parse_closed_days(closed_days))
    if days:
        text += ", " + "·".join(WEEKDAYS[d] for d in days) + "요일 휴무"
    return text


#: Meal times in the NLU's time_of_day values, in the order of the day.
MEAL_TIMES = ("breakfast", "lunch", "snack", "dinner", "late_night")


def meal_time(when: dt.datetime) -> str:
    """breakfast 05-10, lunch 10-14, snack 14-17, dinner 17-21, late_night 21-05 (NLU time_of_day values)."""
    h = when.hour
    if 5 <= h < 10:
        return "breakfast"
    if 10 <= h < 14:
        return "lunch"
    if 14 <= h < 17:
        return "snack"
    if 17 <= h < 21:
        return "dinner"
    return "late_night"
