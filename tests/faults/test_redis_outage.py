"""Redis unavailable: the service keeps answering with per-process rate limits and says so in its log."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from support.faults import USER_LIMIT, WORKERS, fresh_get, fresh_post


def _fresh_user() -> int:
    return 2_000_000 + uuid.uuid4().int % 1_000_000


def test_without_redis_the_service_degrades_to_per_process_limits_and_returns_to_redis(served):
    served.redis.kill()
    try:
        chat = fresh_post(served.base + "/chat", json={"user_id": 1, "message": "떡볶이 먹고 싶어"})
        assert chat.status_code == 200, chat.text
        assert fresh_get(served.base + "/shops/1").status_code == 200
        user = _fresh_user()
        codes = [fresh_post(served.base + "/feedback", json={"user_id": user, "shop_id": 1,
                                                             "feedback_type": "clicked"}, timeout=10).status_code
                 for _ in range(USER_LIMIT * WORKERS + 4)]
        # Still limited, but each worker counts alone: between one and WORKERS times the limit get through.
        assert set(codes) <= {202, 429}, codes
        assert USER_LIMIT <= codes.count(202) <= USER_LIMIT * WORKERS, codes
        assert codes.count(429) >= len(codes) - USER_LIMIT * WORKERS
        log = served.log()
        assert "is unavailable" in log and "per-process" in log
    finally:
        served.redis.start()

    # Each worker that noticed the outage tries Redis again a few seconds later (on a rate-limited request) and
    # logs that it is back. Requests go eight at a time, so that every worker gets some (one idle worker could
    # otherwise accept every fresh connection in turn).
    went_down = served.log().count("is unavailable")
    assert 1 <= went_down <= WORKERS

    def poke(_):
        return fresh_post(served.base + "/feedback", json={"user_id": _fresh_user(), "shop_id": 1,
                                                           "feedback_type": "clicked"}).status_code

    deadline = time.monotonic() + 45
    with ThreadPoolExecutor(8) as pool:
        while served.log().count("is back after") < went_down and time.monotonic() < deadline:
            list(pool.map(poke, range(8)))
            time.sleep(0.2)
    assert served.log().count("is back after") >= went_down, served.log()[-2000:]
    user = _fresh_user()
    codes = [fresh_post(served.base + "/feedback", json={"user_id": user, "shop_id": 1,
                                                         "feedback_type": "clicked"}).status_code
             for _ in range(USER_LIMIT + 3)]
    assert codes.count(202) == USER_LIMIT, codes
