"""Sampling users: segment, age, home, hidden taste, meal card, guardian consent."""

from __future__ import annotations

import datetime as dt

import numpy as np

from naviyam.core import geo
from naviyam.data.world.catalogue import (
    ADULT_TEEN_CARD,
    CATEGORIES,
    COLD_USER_RATE,
    CONSENT_SHARE,
    SEGMENT_AGES,
    SEGMENT_PARAMS,
    SEGMENT_SHARES,
    SEGMENTS,
    SLOTS,
    TASTE_CONCENTRATION,
    TASTE_PROFILES,
)
from naviyam.data.world.helpers import _place_points, _report
from naviyam.progress import Reporter


def _birthday(end: dt.date, age: int, day_offset: int) -> dt.date:
    """A birthday giving exactly ``age`` at ``end`` (day_offset in [0, 365))."""
    latest = _years_before(end, age)
    earliest = _years_before(end, age + 1) + dt.timedelta(days=1)
    span = (latest - earliest).days + 1
    return earliest + dt.timedelta(days=day_offset % span)


def _years_before(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year - years)
    except ValueError:  # 29 February
        return d.replace(year=d.year - years, day=28)


def _make_users(rng: np.random.Generator, n: int, start: dt.datetime, end_date: dt.date, days: int,
                progress: Reporter | None):
    dongs = geo.dong_table()
    seg = rng.choice(len(SEGMENTS), size=n, p=SEGMENT_SHARES)
    ages = np.array([int(rng.integers(SEGMENT_AGES[SEGMENTS[s]][0], SEGMENT_AGES[SEGMENTS[s]][1] + 1)) for s in seg],
                    dtype=np.int64)
    card_p = np.array([SEGMENT_PARAMS[SEGMENTS[s]]["card"] for s in seg])
    card_p = np.where((seg == SEGMENTS.index("teen")) & (ages >= 18), ADULT_TEEN_CARD, card_p)
    card = rng.random(n) < card_p
    lat, lon, dong_idx = _place_points(rng, n, jitter_km=0.35)
    profiles = np.array([[TASTE_PROFILES[s][c] for c in CATEGORIES] for s in SEGMENTS])
    profiles = profiles / profiles.sum(axis=1, keepdims=True)
    taste = (np.vstack([rng.dirichlet(TASTE_CONCENTRATION * profiles[s]) for s in seg]) if n
             else np.zeros((0, len(CATEGORIES))))
    # a user created before the window has its whole history; others joined during it
    joined_before = rng.random(n) < 0.7
    created_day = np.where(joined_before, -rng.integers(1, 900, n), rng.integers(0, days, n))
    created_sec = rng.integers(0, 86400, n)
    birthday_off = rng.integers(0, 366, n)
    gender = np.where(rng.random(n) < 0.5, "M", "F")
    params = {k: np.array([SEGMENT_PARAMS[SEGMENTS[s]][k] for s in seg]) for k in ("budget", "price", "travel",
                                                                                   "orders", "review")}
    budget = params["budget"] * np.exp(rng.normal(0, 0.2, n))
    price_sens = params["price"] + np.where(card, 0.5, 0.0)
    travel = params["travel"] * np.exp(rng.normal(0, 0.3, n))
    slot_gain = rng.gamma(3.0, 1 / 3.0, size=(n, len(SLOTS)))
    review_rate = np.clip(rng.beta(1.5, 6.0, n) * params["review"], 0, 0.9)
    active = rng.random(n) >= COLD_USER_RATE
    activity = rng.gamma(1.3, 1 / 1.3, n)
    rows = []
    for i in range(n):
        d = dongs[dong_idx[i]]
        rows.append({
            "id": i + 1,
            "birthday": _birthday(end_date, int(ages[i]), int(birthday_off[i])),
            "gender": str(gender[i]),
            "district": d.district,
            "dong": d.name,
            "is_meal_card_holder": bool(card[i]),
            "created_at": start + dt.timedelta(days=int(created_day[i]), seconds=int(created_sec[i])),
        })
        _report(progress, "users", i + 1, n)
    arr = {
        "segment": np.array([SEGMENTS[s] for s in seg]), "seg": seg, "age": ages, "card": card, "lat": lat,
        "lon": lon, "taste": taste, "created_day": created_day, "budget": budget, "price": price_sens,
        "travel": travel, "slot_gain": slot_gain, "review_rate": review_rate, "active": active,
        "activity": activity, "orders_mean": params["orders"],
    }
    return rows, arr


def _guardian_consents(rng: np.random.Generator, user_rows: list[dict], ages: np.ndarray) -> None:
    """``guardian_consent`` for each user row: the day they joined for most children, empty for the rest."""
    given = rng.random(len(user_rows)) < CONSENT_SHARE
    for row, age, yes in zip(user_rows, ages, given, strict=True):
        row["guardian_consent"] = row["created_at"].date() if age < 15 and yes else None
