"""Redaction keeps log records formattable: uvicorn's access formatter unpacks the arguments."""

import logging

from uvicorn.logging import AccessFormatter

from naviyam.logging_filters import COORD, PHONE, redact_record


def _record(msg, args):
    return logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, msg, args, None)


def test_access_log_records_keep_their_arguments_and_format():
    rec = redact_record(_record('%s - "%s %s HTTP/%s" %d',
                                ("127.0.0.1:5123", "GET", "/shops/3?tel=010-1234-5678", "1.1", 200)))
    line = AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s', use_colors=False).format(rec)
    assert line.startswith('127.0.0.1:5123 - "GET /shops/3?tel=') and "200" in line
    assert PHONE in line and "010-1234-5678" not in line


def test_a_number_that_is_personal_data_is_redacted_in_the_formatted_message():
    rec = redact_record(_record("at %.4f,%.4f user %d", (37.48421, 126.92973, 7)))
    assert rec.getMessage() == f"at {COORD},{COORD} user 7"
    rec = redact_record(_record("took %.1f ms for %s", (12.5, "user 3")))
    assert rec.args == (12.5, "user 3") and rec.getMessage() == "took 12.5 ms for user 3"
