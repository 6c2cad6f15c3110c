"""The service's one clock: every "now" in the package is read here.

Shop hours, meal times, "open now", learning windows, retention and the
daily monitoring all ask this module, never ``datetime.now()`` directly, so
that one switch pins time for a whole process:

* :func:`pin` / :func:`pinned` set the clock to an instant, either frozen or
  ticking forward from it with the real elapsed time (``tick=True``);
* the setting ``NAVIYAM_CLOCK`` (an ISO instant, e.g.
  ``2026-11-27T19:00:00+09:00``) pins a process from its environment, so a
  server started by a test, or a demo, runs at a chosen moment. It ticks.

Three views of the same instant:

* :func:`now` – aware, in UTC;
* :func:`utcnow` – naive UTC, what the database stores;
* :func:`local_now` – naive wall-clock time in the service's time zone
  (``NAVIYAM_TIMEZONE``, Asia/Seoul by default), what shop hours mean,
  whatever zone the server machine runs in;
* :func:`local_today` – the local date.

The time zone and ``NAVIYAM_CLOCK`` come from the settings the service was
started with: the app hands them in at start-up (:func:`use_settings`); a
caller that started nothing (a library call, a test, a CLI command) gets
those of :func:`naviyam.config.get_settings`.

Durations (``time.perf_counter``/``monotonic``) are not "now" and need no clock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

from naviyam.config import Settings, get_settings

__all__ = ["now", "utcnow", "local_now", "local_today", "to_local", "zone", "pin", "unpin", "pinned",
           "parse_instant", "pinned_instant", "day_bounds_utc", "use_settings"]


@dataclass(frozen=True)
class _Pin:
    instant: dt.datetime  # aware
    started: float  # time.monotonic() when pinned
    tick: bool

    def read(self) -> dt.datetime:
        if not self.tick:
            return self.instant
        return self.instant + dt.timedelta(seconds=time.monotonic() - self.started)


_lock = threading.Lock()
_pin: _Pin | object | None = None  # _FREE inside ``pinned(None)``
_env_pins: dict[str, _Pin] = {}  # one ticking pin per NAVIYAM_CLOCK text, so time never runs backwards
_FREE = object()  # ``pinned(None)``: the real clock inside the block
_settings: Settings | None = None  # handed in by the service at start-up (use_settings)


def use_settings(settings: Settings | None) -> Callable[[], None]:
    """Read the time zone and ``NAVIYAM_CLOCK`` from ``settings`` (None: from ``get_settings()``).

    The app calls it at start-up with the settings it was created with; returns a function that
    puts the previous settings back (at shut-down).
    """
    global _settings
    with _lock:
        before, _settings = _settings, settings

    def restore() -> None:
        global _settings
        with _lock:
            _settings = before

    return restore


def _current_settings() -> Settings:
    return _settings if _settings is not None else get_settings()


@lru_cache(maxsize=16)
def _zone_named(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def zone() -> ZoneInfo:
    """The service's time zone (``NAVIYAM_TIMEZONE``)."""
    return _zone_named(_current_settings().timezone)


def parse_instant(value: str | dt.datetime) -> dt.datetime:
    """An aware instant from ISO text or a datetime; naive values are read as the service's local time."""
    when = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    if when.tzinfo is None:
        when = when.replace(tzinfo=zone())
    return when.astimezone(dt.UTC)


def _from_settings() -> _Pin | None:
    text = _current_settings().clock
    if not text:
        return None
    p = _env_pins.get(text)
    if p is None:
        p = _env_pins.setdefault(text, _Pin(parse_instant(text), time.monotonic(), True))
    return p


def _active() -> _Pin | None:
    if _pin is _FREE:
        return None
    return _pin if isinstance(_pin, _Pin) else _from_settings()


def now() -> dt.datetime:
    """The current instant, aware, in UTC (pinned when a pin is set)."""
    p = _active()
    return p.read() if p is not None else dt.datetime.now(dt.UTC)


def utcnow() -> dt.datetime:
    """Naive UTC: what the database stores in its timestamp columns."""
    return now().replace(tzinfo=None)


def local_now() -> dt.datetime:
    """The service's wall clock as a naive datetime in its time zone (Asia/Seoul by default)."""
    return now().astimezone(zone()).replace(tzinfo=None)


def local_today() -> dt.date:
    """Today's date in the service's time zone."""
    return local_now().date()


def to_local(when: dt.datetime) -> dt.datetime:
    """A datetime as naive local time: aware values are converted, naive ones are taken as local already."""
    return when.astimezone(zone()).replace(tzinfo=None) if when.tzinfo is not None else when


def day_bounds_utc(day: dt.date, timezone: str | None = None) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a local calendar day (the service's zone unless named) as naive UTC datetimes."""
    tz = _zone_named(timezone) if timezone else zone()
    start = dt.datetime.combine(day, dt.time(0), tzinfo=tz).astimezone(dt.UTC)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=tz).astimezone(dt.UTC)
    return start.replace(tzinfo=None), end.replace(tzinfo=None)


def pin(instant: str | dt.datetime, *, tick: bool = False) -> None:
    """Set the clock to ``instant`` (naive = local time); with ``tick`` it runs on from there."""
    global _pin
    with _lock:
        _pin = _Pin(parse_instant(instant), time.monotonic(), tick)


def unpin() -> None:
    """Back to the real clock (or to ``NAVIYAM_CLOCK`` when that is set)."""
    global _pin
    with _lock:
        _pin = None


def pinned_instant() -> dt.datetime | None:
    """The instant the clock is pinned at (aware UTC), or None when it runs free."""
    p = _active()
    return p.instant if p is not None else None


@contextlib.contextmanager
def pinned(instant: str | dt.datetime | None, *, tick: bool = False) -> Iterator[None]:
    """Run a block at ``instant`` (None: on the real clock); the previous clock comes back afterwards."""
    global _pin
    with _lock:
        before = _pin
    if instant is None:
        with _lock:
            _pin = _FREE
    else:
        pin(instant, tick=tick)
    try:
        yield
    finally:
        with _lock:
            _pin = before
