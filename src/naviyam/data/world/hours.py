"""Opening hours of generated shops: closed weekdays and open masks."""

from __future__ import annotations

import datetime as dt

import numpy as np

from naviyam.hours import is_open, parse_closed_days


def _minutes(t: dt.time) -> int:
    return t.hour * 60 + t.minute


def closed_weekdays(closed_days: str | None) -> set[int]:
    """Weekday numbers (Monday 0) in a comma-separated Korean closed_days value ("토,일")."""
    return set(parse_closed_days(closed_days))


#: The one definition of "open at a time" (after-midnight hours belong to the previous day).
is_open_at = is_open


def _open_mask(open_m: np.ndarray, close_m: np.ndarray, closed_bits: np.ndarray,
               weekday: np.ndarray, minute: np.ndarray) -> np.ndarray:
    """Vectorised :func:`is_open_at`: shops (last axis) x times (first axis)."""
    w = weekday[:, None]
    m = minute[:, None]
    closed_today = (closed_bits[None, :] >> w) & 1
    closed_yesterday = (closed_bits[None, :] >> ((w - 1) % 7)) & 1
    wrap = close_m <= open_m
    same_day = (m >= open_m) & (m < close_m) & (closed_today == 0)
    overnight = ((m >= open_m) & (closed_today == 0)) | ((m < close_m) & (closed_yesterday == 0))
    return np.where(wrap[None, :], overnight, same_day)
