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


#: Every operation of the API; a new route must be added here so that it is fuzzed too.
OPERATIONS = [
    "GET /health", "GET /shops/{shop_id}", "GET /shops", "POST /feedback", "POST /chat", "POST /recommendations",
    "DELETE /users/{user_id}/data", "GET /users/{user_id}/data", "PUT /users/{user_id}/consent",
    "DELETE /users/{user_id}/consent", "GET /admin/models", "POST /admin/models/{version}/promote",
    "POST /admin/models/{kind}/rollback", "POST /admin/reload", "GET /admin/dashboard",
]
def test_every_operation_of_the_schema_is_fuzzed(api_schema):
    labels = {result.ok().label for result in api_schema.get_all_operations()}
    assert labels <= set(OPERATIONS), f"add to OPERATIONS: {sorted(labels - set(OPERATIONS))}"


@pytest.mark.parametrize("label", OPERATIONS)
def test_the_api_answers_every_generated_request_as_documented(api_schema, label):
    ops = [r.ok() for r in api_schema.get_all_operations() if r.ok().label == label]
    if not ops:
        pytest.skip(f"{label} is not in this app's schema")
    failures, counts = {}, collections.Counter()
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        try:
            _runner(ops[0], mode, counts)()
        except Unsatisfiable:
            continue  # nothing in this operation can be made invalid
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - report both modes
            parts = [str(exc), *(str(e) for e in getattr(exc, "exceptions", ()))]
            failures[mode.value] = "\n".join(parts)[:3000]
    assert not failures, "\n\n".join(f"{label} [{k}]:\n{v}" for k, v in failures.items())
    assert counts and not [code for code in counts if code >= 500]


@pytest.mark.parametrize("method, path, body", [
    # an id past the 32-bit id columns: PostgreSQL refused it with a 500 before the schema capped it
    ("POST", "/feedback", {"shop_id": 1, "feedback_type": "clicked", "interaction_id": 7683712728}),
    # booleans and strings are not ids or coordinates (pydantic's lax mode took true as 1)
    ("POST", "/feedback", {"shop_id": True, "feedback_type": "clicked"}),
    ("POST", "/feedback", {"shop_id": 1, "feedback_type": "rated", "satisfaction_score": True}),
    ("POST", "/chat", {"message": "0", "user_id": True}),
    ("POST", "/chat", {"message": "떡볶이", "user_id": ""}),  # "3" and "user_3" name user 3 now (original API)
    ("POST", "/chat", {"message": "떡볶이", "context": {"lat": True, "lon": 127.0}}),
    ("POST", "/chat", {"message": "떡볶이", "context": {"now": -0.99999}}),  # a number is not an ISO time
    # a body that is not UTF-8 was a 400 in English, undocumented
    ("POST", "/chat", b'{"message": "\xff\xfe"}'),
])
def test_fuzzing_findings_are_refused_with_a_documented_422(fuzz_app, method, path, body):
    from fastapi.testclient import TestClient

    client = TestClient(fuzz_app)
    kw = {"content": body, "headers": {"Content-Type": "application/json"}} if isinstance(body, bytes) \
        else {"json": body}
    r = client.request(method, path, **kw)
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith("요청 값이 올바르지 않아요")
