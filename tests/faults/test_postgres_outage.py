"""PostgreSQL unavailable for a while: requests fail fast with 503 and the service recovers by itself.

The real PostgreSQL is shared with other test runs, so the outage is made
by cutting the TCP proxy between the workers and the database.
"""

from __future__ import annotations

import time

import httpx

from support.faults import fresh_get, fresh_post

#: A request during the outage must be answered within this many seconds (no hanging on a dead database).
FAST_S = 4.0


def _timed(call, *args, **kwargs) -> tuple[httpx.Response, float]:
    t0 = time.perf_counter()
    r = call(*args, **kwargs)
    return r, time.perf_counter() - t0


def test_requests_fail_fast_with_503_while_the_database_is_away_and_recover_when_it_returns(served):
    assert fresh_get(served.base + "/shops/1").status_code == 200
    served.proxy.cut()
    try:
        outage = [
            _timed(fresh_get, served.base + "/shops/1"),
            _timed(fresh_get, served.base + "/shops", params={"limit": 5}),
            _timed(fresh_post, served.base + "/chat", json={"message": "떡볶이 먹고 싶어"}),
            _timed(fresh_post, served.base + "/feedback", json={"shop_id": 1, "feedback_type": "clicked"}),
            _timed(fresh_get, served.base + "/health"),
        ] + [_timed(fresh_get, served.base + "/shops/2") for _ in range(4)]
        for r, seconds in outage:
            assert r.status_code == 503, (r.request.url, r.status_code, r.text)
            assert seconds < FAST_S, (r.request.url, seconds)
        for r, _ in outage[:4]:
            assert "잠시 서비스를 이용할 수 없어요" in r.json()["detail"]
            assert int(r.headers["Retry-After"]) > 0
        assert outage[4][0].json()["database"] == "unavailable"
        # the workers are alive: they answer what needs no database
        assert fresh_get(served.base + "/metrics").status_code == 200
    finally:
        served.proxy.restore()

    deadline = time.monotonic() + 20
    codes: list[int] = []
    while time.monotonic() < deadline:
        codes = [fresh_get(served.base + "/shops/1").status_code for _ in range(4)]
        if codes == [200] * 4:
            break
        time.sleep(0.3)
    assert codes == [200] * 4, codes
    chat = fresh_post(served.base + "/chat", json={"message": "떡볶이 먹고 싶어"})
    assert chat.status_code == 200, chat.text
    fb = fresh_post(served.base + "/feedback", json={"shop_id": 1, "feedback_type": "clicked"})
    assert fb.status_code == 202, fb.text
    assert "database unavailable" in served.log()
