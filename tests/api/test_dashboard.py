"""/admin/dashboard: behind the admin key (header or login cookie), drawn from the database, self-contained."""

from __future__ import annotations

import base64
import datetime as dt
import re

from naviyam.core.clock import day_bounds_utc, local_today
from naviyam.db.models import Alert, DailyMetric
from naviyam.db.session import session_scope

KEY = {"X-API-Key": "test-admin-key"}


def _seed(engine, write_ab_log) -> None:
    """Two stored days of metrics, an open and a resolved alert, and an A/B test's turns yesterday."""
    today = local_today()
    with session_scope(engine) as s:
        for k, ctr in ((3, 0.21), (2, 0.34)):
            day = today - dt.timedelta(days=k)
            s.add_all([DailyMetric(day=day, name="interactions", value=50.0),
                       DailyMetric(day=day, name="ctr", value=ctr),
                       DailyMetric(day=day, name="latency_p95_ms", value=420.0)])
        s.add(Alert(kind="performance_degradation", message="클릭률(CTR) 저하 감지: 테스트 알림"))
        s.add(Alert(kind="model_load_failed", message="이미 해결된 알림", resolved_at=dt.datetime(2026, 11, 1)))
    # six users per arm, three turns each: the candidate's users click two, production's one
    write_ab_log(engine, [[3, 2, 0]] * 6, [[3, 1, 0]] * 6, "ranker-cand", "ranker-prod",
                 start=day_bounds_utc(today - dt.timedelta(days=1))[0])


def _images(page: str) -> dict[str, bytes]:
    return {m.group(1): base64.b64decode(m.group(2))
            for m in re.finditer(r'<img id="([\w-]+)" src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)}


def test_without_the_key_the_dashboard_is_refused_in_korean(client):
    r = client.get("/admin/dashboard")
    assert r.status_code == 401 and "관리자 키가 필요해요" in r.text and 'name="key"' in r.text
    assert "일일 지표" not in r.text
    r = client.get("/admin/dashboard", headers={"X-API-Key": "wrong"})
    assert r.status_code == 401 and "관리자 키가 맞지 않아요" in r.text
    r = client.post("/admin/dashboard/login", data={"key": "wrong"}, follow_redirects=False)
    assert r.status_code == 401 and "맞지 않아요" in r.text and "set-cookie" not in r.headers
    client.cookies.set("naviyam_admin", "forged")
    assert client.get("/admin/dashboard").status_code == 401
    client.cookies.clear()
    assert client.get("/admin/dashboard", params={"days": 0}, headers=KEY).status_code == 422


def test_login_sets_a_cookie_that_is_not_the_key(client):
    r = client.post("/admin/dashboard/login", data={"key": "test-admin-key"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/admin/dashboard"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/admin" in cookie
    assert "test-admin-key" not in cookie
    page = client.get("/admin/dashboard")  # the client keeps the cookie
    assert page.status_code == 200 and "일일 지표" in page.text
    client.post("/admin/dashboard/logout", follow_redirects=False)
    assert client.get("/admin/dashboard").status_code == 401


def test_dashboard_shows_the_databases_numbers_charts_models_alerts_and_ab_test(client, world, write_ab_log):
    _seed(world, write_ab_log)
    chat = client.post("/chat", json={"message": "떡볶이 먹고 싶어", "user_id": 1})
    assert chat.status_code == 200
    r = client.get("/admin/dashboard", headers=KEY)
    assert r.status_code == 200
    assert r.headers["content-security-policy"].startswith("default-src 'none'")
    page = r.text
    for section in ("summary", "daily", "models", "alerts", "ab"):
        assert f'<section id="{section}">' in page
    # no resource from anywhere: every image is inline, no script, no external link
    assert "<script" not in page and "http://" not in page and "https://" not in page
    images = _images(page)
    assert {"chart-ctr", "chart-satisfaction", "chart-latency", "chart-errors", "chart-users", "chart-ab"} <= set(images)
    assert all(png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000 for png in images.values())
    # stored days in the table, today's live numbers marked as such
    assert "34.0%" in page and "21.0%" in page and "420 ms" in page
    assert "(오늘, 집계 중)" in page
    # the model this server serves (rules NLU in this world), the open alert only
    assert "rules" in page
    assert "테스트 알림" in page and "이미 해결된 알림" not in page
    # the A/B test by user: 6 users per arm, far below the planned sample: keep collecting
    assert "ranker-cand" in page and "계속 수집" in page
    planned = int(re.search(r"계획 표본 그룹당 (\d+)명", page).group(1))
    assert planned >= 100  # NAVIYAM_AB_MIN_USERS's default at least
