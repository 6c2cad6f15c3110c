"""The operator's dashboard in Chromium: refused without the key, then every section and chart after logging in.

The server runs over a copy of the trained test world's database with two weeks of stored daily metrics,
open and resolved alerts and an A/B test's turns, so the page has something in every section.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from urllib.parse import urlparse

import pytest
from sqlalchemy import func, select

from naviyam.api.app import create_app
from naviyam.core.clock import day_bounds_utc, local_today
from naviyam.db.models import Alert, DailyMetric, ModelVersion
from naviyam.db.session import make_engine, session_scope

SECTIONS = {"summary": "요약", "daily": "일일 지표", "models": "사용 중인 모델", "alerts": "열린 알림", "ab": "A/B 테스트"}


@pytest.fixture(scope="module")
def dashboard_world(trained_world, write_ab_log, tmp_path_factory):
    """A copy of the trained world's database (the shared one stays as it was) with a monitored history."""
    src = trained_world.settings.resolved_database_url.removeprefix("sqlite:///")
    path = tmp_path_factory.mktemp("dashboard") / "naviyam.db"
    with sqlite3.connect(src) as a, sqlite3.connect(path) as b:
        a.backup(b)
    engine = make_engine(f"sqlite:///{path}")
    today = local_today()
    with session_scope(engine) as s:
        for k in range(1, 15):
            day = today - dt.timedelta(days=k)
            values = {"interactions": 100.0 + k, "daily_active_users": 40.0 + k, "ctr": 0.20 + 0.005 * (14 - k),
                      "conversion_rate": 0.05 + 0.002 * (14 - k), "response_satisfaction": 4.0 + 0.03 * (k % 3),
                      "latency_p50_ms": 80.0 + k, "latency_p95_ms": 300.0 + 5 * k, "error_rate": 0.02}
            s.add_all([DailyMetric(day=day, name=n, value=v) for n, v in values.items()])
        s.add(Alert(kind="performance_degradation", message="응답 만족도 저하 감지: 브라우저 테스트 알림"))
        s.add(Alert(kind="performance_degradation", message="해결된 알림", resolved_at=dt.datetime(2026, 11, 2)))
        promoted = s.scalar(select(func.count()).select_from(ModelVersion).where(ModelVersion.promoted_at.is_not(None)))
    assert promoted >= 2  # the trained world's NLU and index
    # 20 users per arm yesterday, four turns each; the candidate's users click one turn more
    write_ab_log(engine, [[4, 2 + (i % 3 == 0), 0] for i in range(20)], [[4, 1 + (i % 3 == 0), 0] for i in range(20)],
                 "ranker-web-cand", "prod", start=day_bounds_utc(today - dt.timedelta(days=1))[0])
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def dashboard_server(trained_world, runtime, dashboard_world, serve_app):
    settings = trained_world.settings.model_copy(update={"database_url": str(dashboard_world.url)})
    with serve_app(create_app(settings, engine=dashboard_world, runtime=runtime)) as base:
        yield base


def test_dashboard_in_chromium_needs_the_key_then_shows_every_section(dashboard_server, browser, trained_world,
                                                                      tmp_path_factory):
    page = browser.new_page(locale="ko-KR")
    outside: list[str] = []

    def only_this_server(route):
        host = urlparse(route.request.url).hostname
        if route.request.url.startswith("data:") or host == "127.0.0.1":
            route.continue_()
        else:  # the page must work offline: nothing may be fetched from anywhere else
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_server)
    try:
        refused = page.goto(dashboard_server + "/admin/dashboard")
        assert refused.status == 401
        assert "관리자 키가 필요해요" in page.locator("#login-message").inner_text()
        assert page.locator("#daily").count() == 0

        page.fill("input[name=key]", "not-the-key")
        with page.expect_navigation():
            page.click("button[type=submit]")
        assert "관리자 키가 맞지 않아요" in page.locator("#login-message").inner_text()

        page.fill("input[name=key]", trained_world.settings.admin_api_key)
        with page.expect_navigation() as nav:
            page.click("button[type=submit]")
        assert nav.value.status == 200 and page.url.endswith("/admin/dashboard")

        for section_id, title in SECTIONS.items():
            assert title in page.locator(f"section#{section_id} h2").inner_text()
        images = page.eval_on_selector_all(
            "img", "els => els.map(e => ({id: e.id, complete: e.complete, w: e.naturalWidth, h: e.naturalHeight}))")
        ids = {img["id"] for img in images}
        assert {"chart-ctr", "chart-satisfaction", "chart-latency", "chart-errors", "chart-users", "chart-ab"} <= ids
        assert all(img["complete"] and img["w"] > 0 and img["h"] > 0 for img in images), images

        assert "브라우저 테스트 알림" in page.locator("#alerts").inner_text()
        assert "해결된 알림" not in page.locator("#alerts").inner_text()
        models = page.locator("#models-table").inner_text()
        assert trained_world.nlu_version in models and trained_world.index_version in models
        ab = page.locator("#ab").inner_text()
        assert "ranker-web-cand" in ab and "계속 수집" in page.locator("#ab-verdict").inner_text()
        assert page.locator("#daily-table tr").count() >= 15  # header + 14 stored days (+ today when active)
        page.screenshot(path=str(tmp_path_factory.mktemp("shots") / "dashboard.png"), full_page=True)

        # the cookie keeps the operator in; logging out does not
        assert page.goto(dashboard_server + "/admin/dashboard").status == 200
        with page.expect_navigation():
            page.click("header button[type=submit]")
        assert page.locator("#login-message").count() == 1
        assert outside == []
    finally:
        page.close()
