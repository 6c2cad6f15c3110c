"""Fuzz every API operation from the app's own OpenAPI schema: no 5xx, every response as documented.

A few cases per operation and generation mode here (valid and invalid
requests); `benchmarks/fuzz_api.py` runs thousands. Schemathesis' own pytest
loader does not run under this pytest, so each operation's strategy is driven
by hypothesis directly.
"""

from __future__ import annotations

import collections

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

pytest.importorskip("schemathesis")
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import positive_data_acceptance  # noqa: E402

CASES_PER_OPERATION_AND_MODE = 10
FUZZ_ADMIN_KEY = "fuzz-admin-key"  # the fuzz_app fixture's key


def _runner(op, mode, counter):
    @settings(max_examples=CASES_PER_OPERATION_AND_MODE, deadline=None, suppress_health_check=list(HealthCheck),
              database=None)
    @given(case=op.as_strategy(generation_mode=mode))
    def fuzz(case):
        # positive_data_acceptance is left out: a well-formed request for a missing shop is a 404/422.
        response = case.call_and_validate(headers={"X-API-Key": FUZZ_ADMIN_KEY},
                                          excluded_checks=[positive_data_acceptance])
        counter[response.status_code] += 1

    return fuzz


def test_the_api_answers_every_generated_request_as_documented(api_schema):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {"POST /chat", "POST /feedback", "GET /shops", "GET /shops/{shop_id}", "GET /health",
            "DELETE /users/{user_id}/data"} <= {op.label for op in operations}
    failures, counts = {}, collections.Counter()
    for op in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _runner(op, mode, counts)()
            except Unsatisfiable:
                continue  # nothing in this operation can be made invalid
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collect every operation's failure
                parts = [str(exc), *(str(e) for e in getattr(exc, "exceptions", ()))]
                failures[f"{op.label} [{mode.value}]"] = "\n".join(parts)[:3000]
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())
    assert not [code for code in counts if code >= 500]
    assert sum(counts.values()) >= 100
