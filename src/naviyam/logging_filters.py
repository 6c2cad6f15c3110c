"""Keep children's personal data out of the logs.

:func:`redact` replaces phone numbers, resident registration numbers,
birthdays (dates without a time of day) and exact coordinates in a text.
:func:`install_log_redaction` applies it to every log record of the process
when the record is made (message, arguments, traceback), so no handler,
including uvicorn's and pytest's, ever sees the raw values.
:class:`RedactingFilter` does the same as a filter for one handler.

Dates *with* a time of day (``2026-10-01 12:00``) are kept: they are event
times, not birthdays. Coordinates are numbers of two or three integer digits
with four or more decimals (about 10 m, e.g. 37.4842 or 126.9297); coarser
numbers and small ones (latencies, scores such as 0.8123) are kept.
"""

from __future__ import annotations

import logging
import re
import threading

PHONE = "[전화번호]"
RRN = "[주민번호]"
BIRTHDAY = "[생년월일]"
COORD = "[좌표]"

_RRN = re.compile(r"(?<!\d)\d{6}\s?-\s?[1-8]\d{6}(?!\d)")
_PHONE = re.compile(
    r"(?<![\d.])(?:\+\s?82[\s.-]?|\(?0)(?:1[016789]|2|[3-6][1-5]|70|50\d?)\)?[\s.-]?\d{3,4}[\s.-]?\d{4}(?![\d.])"
)
_TIME_AFTER = r"(?![\d.]|[T ]\d{1,2}:\d{2}|\s*\d{1,2}\s*시)"
_DATE = re.compile(
    r"(?<![\d.])(?:19|20)\d{2}\s*(?:[-./]\s*\d{1,2}\s*[-./]\s*\d{1,2}\.?|년\s*\d{1,2}\s*월\s*\d{1,2}\s*일)" + _TIME_AFTER
)
#: 20130407, but not inside a version or file name (nlu-20261125T2029…, export_20260101_20260201).
_COMPACT_DATE = re.compile(r"(?<![\w.-])(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(?![\w.])")
_MONTH_DAY_BIRTHDAY = re.compile(r"(생일|생년월일|태어난\s*날)(\S*\s*)\d{1,2}\s*월\s*\d{1,2}\s*일")
_COORD = re.compile(r"(?<![\w.])-?\d{2,3}\.\d{4,}(?![\d.])")


def redact(text: str) -> str:
    """``text`` with phone numbers, resident numbers, birthdays and exact coordinates replaced."""
    if not text:
        return text
    text = _RRN.sub(RRN, text)
    text = _PHONE.sub(PHONE, text)
    text = _MONTH_DAY_BIRTHDAY.sub(lambda m: f"{m.group(1)}{m.group(2)}{BIRTHDAY}", text)
    text = _DATE.sub(BIRTHDAY, text)
    text = _COMPACT_DATE.sub(BIRTHDAY, text)
    return _COORD.sub(COORD, text)


_UNCHANGED = object()


def _redact_arg(value):
    """A redacted log argument; ``_UNCHANGED`` when a non-text value would have to become text."""
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, bool):
        return value
    text = str(value)
    return value if redact(text) == text else _UNCHANGED


def _redact_args(args):
    """Arguments redacted one by one (so formatters that unpack them keep working), or None if impossible."""
    if isinstance(args, tuple):
        out = tuple(_redact_arg(a) for a in args)
        return None if any(a is _UNCHANGED for a in out) else out
    if isinstance(args, dict):
        out = {k: _redact_arg(v) for k, v in args.items()}
        return None if any(v is _UNCHANGED for v in out.values()) else out
    return None


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Redact one record in place: the message and its arguments, the traceback and the stack.

    Arguments stay arguments where they can (uvicorn's access formatter unpacks them); a number that
    is itself personal data (a coordinate passed to ``%f``) makes the message formatted and redacted
    as a whole instead.
    """
    args = record.args
    redacted_args = _redact_args(args) if args else args
    if args and redacted_args is None:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string must not break logging
            message = str(record.msg)
        record.msg, record.args = redact(message), None
    else:
        record.msg = redact(record.msg) if isinstance(record.msg, str) else redact(str(record.msg))
        record.args = redacted_args
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


class RedactingFilter(logging.Filter):
    """A handler/logger filter that redacts and never drops."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


_installed = threading.Lock()
_factory_installed = False


def install_log_redaction() -> None:
    """Redact every log record of this process when it is created (idempotent)."""
    global _factory_installed
    with _installed:
        if _factory_installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args, **kwargs):
            return redact_record(previous(*args, **kwargs))

        logging.setLogRecordFactory(factory)
        _factory_installed = True
