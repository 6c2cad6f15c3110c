"""Daily metrics from stored interactions, degradation alerts (seed 47.C) and the chart."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from naviyam.core.clock import day_bounds_utc
from naviyam.db.models import Alert, FeedbackEvent, Interaction, Shop
from naviyam.db.session import session_scope
from naviyam.monitor.alerts import ALERT_DEGRADATION, check_and_alert, detect_degradation
from naviyam.monitor.daily import compute_day, load_history, run_daily

DAY = dt.date(2026, 10, 1)


def _shops(s):
    for i, cat in enumerate(["분식", "치킨", "한식"], start=1):
        s.add(Shop(id=i, name=f"가게{i}", category=cat, district="관악구", lat=37.48, lon=126.95,
                   open_time=dt.time(9), close_time=dt.time(21)))
    s.flush()


def _turn(s, day, *, user, session, intent="FOOD_RECOMMENDATION", shown=(1, 2, 3), conf=0.9, latency=100.0,
          feedback=(), filters=None, hour=12):
    local_noon = dt.datetime.combine(day, dt.time(hour)) - dt.timedelta(hours=9)  # KST → UTC
    it = Interaction(session_id=session, user_id=user, message="떡볶이 먹고 싶어", intent=intent,
                     nlu={"intent": intent, "confidence": conf, "filters": filters if filters is not None
                          else {"menu": "떡볶이"}},
                     recommendations=[{"shop_id": sid, "rank": k + 1, "score": 0.5} for k, sid in enumerate(shown)],
                     response="…", latency_ms=latency, created_at=local_noon)
    s.add(it)
    s.flush()
    for kind in feedback:
        s.add(FeedbackEvent(interaction_id=it.id, user_id=user, shop_id=shown[0], feedback_type=kind,
                            created_at=local_noon + dt.timedelta(minutes=5),
                            satisfaction_score=4.0 if kind == "rated" else None))


def test_day_bounds_are_local_days_in_utc():
    assert day_bounds_utc(DAY, "Asia/Seoul") == (dt.datetime(2026, 9, 30, 15), dt.datetime(2026, 10, 1, 15))


def test_daily_metrics_have_the_documented_definitions(engine):
    with session_scope(engine) as s:
        _shops(s)
        _turn(s, DAY, user=1, session="a", feedback=("clicked",), latency=100)
        _turn(s, DAY, user=1, session="a", feedback=("ordered", "rated"), latency=200, shown=(1, 1, 2))
        _turn(s, DAY, user=2, session="b", latency=300)
        _turn(s, DAY, user=None, session="c", latency=400)
        _turn(s, DAY, user=3, session="d", shown=(), conf=0.2, latency=50)  # clarified
        _turn(s, DAY, user=3, session="d", intent="GREETING", shown=(), filters={}, latency=10)
        _turn(s, DAY + dt.timedelta(days=1), user=9, session="z", feedback=("clicked",))  # another day
    m = compute_day(engine, DAY)
    assert m["interactions"] == 6 and m["daily_active_users"] == 4
    assert m["ctr"] == pytest.approx(2 / 4) and m["conversion_rate"] == pytest.approx(1 / 4)
    assert m["conversation_success_rate"] == pytest.approx(1 / 4)
    assert m["clarification_rate"] == pytest.approx(1 / 5) and m["error_rate"] == 0.0
    assert m["response_satisfaction"] == 4.0
    assert m["recommendation_diversity"] == pytest.approx((1 + 2 / 3 + 1 + 1) / 4)  # (1, 1, 2): 2 of 3 pairs differ
    assert m["latency_p50_ms"] == pytest.approx(150.0)
    assert m["nlu_confidence"] == pytest.approx((0.9 * 4 + 0.2 + 0.9) / 6)
    empty = compute_day(engine, DAY - dt.timedelta(days=30))
    assert empty["interactions"] == 0 and empty["ctr"] is None


def test_detection_compares_seven_day_means():
    hist = {DAY - dt.timedelta(days=k): {"ctr": 0.50, "latency_p95_ms": 100.0} for k in range(7, 14)}
    hist.update({DAY - dt.timedelta(days=k): {"ctr": 0.48, "latency_p95_ms": 120.0} for k in range(7)})
    found = {d.metric: d for d in detect_degradation(hist, DAY)}
    assert "ctr" not in found  # -4 % is within the 5 % tolerance
    assert found["latency_p95_ms"].change == pytest.approx(0.2)
    for k in range(7):
        hist[DAY - dt.timedelta(days=k)]["ctr"] = 0.40
    assert "ctr" in {d.metric for d in detect_degradation(hist, DAY)}


def test_a_planted_ctr_drop_raises_one_alert_and_the_report_draws_it(sqlite_engine, tmp_path, monkeypatch):
    engine = sqlite_engine
    with session_scope(engine) as s:
        _shops(s)
        for k in range(14):
            day = DAY - dt.timedelta(days=13 - k)
            clicks = 5 if k < 7 else 2  # CTR 0.5 → 0.2 in the last week
            for j in range(10):
                _turn(s, day, user=j + 1, session=f"{k}-{j}", feedback=("clicked",) if j < clicks else ())
    run_daily(engine, DAY, days=14)
    hist = load_history(engine)
    assert len(hist) == 14 and hist[DAY]["ctr"] == pytest.approx(0.2)
    found = check_and_alert(engine, DAY)
    assert {d.metric for d in found} >= {"ctr", "conversation_success_rate"}
    check_and_alert(engine, DAY)  # a rerun of the same night does not repeat alerts
    with session_scope(engine) as s:
        alerts = list(s.scalars(select(Alert).where(Alert.kind == ALERT_DEGRADATION)))
    ctr_alerts = [a for a in alerts if a.details["metric"] == "ctr"]
    assert len(ctr_alerts) == 1 and "클릭률(CTR) 저하 감지" in ctr_alerts[0].message
    assert ctr_alerts[0].details["previous"] == pytest.approx(0.5) and ctr_alerts[0].details["recent"] == pytest.approx(0.2)

    from naviyam.monitor.report import use_korean_font, write_report

    page = write_report(engine, tmp_path / "report", days=14, end=DAY)
    png = tmp_path / "report" / "metrics.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    html = page.read_text(encoding="utf-8")
    assert "클릭률(CTR) 저하 감지" in html and "metrics.png" in html
    from matplotlib import font_manager

    if any(f.name == "NanumGothic" for f in font_manager.fontManager.ttflist):
        assert use_korean_font() == "NanumGothic"


def test_monitor_cli_computes_a_day_and_writes_the_report(tmp_path, monkeypatch):
    from naviyam.cli import app
    from naviyam.config import get_settings
    from naviyam.db.session import get_engine, migrate

    monkeypatch.setenv("NAVIYAM_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("NAVIYAM_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    get_engine.cache_clear()
    try:
        engine = get_engine()
        migrate(engine)
        with session_scope(engine) as s:
            _shops(s)
            _turn(s, DAY, user=1, session="a", feedback=("clicked",))
        runner = CliRunner()
        res = runner.invoke(app, ["monitor", "daily", "--day", DAY.isoformat()], env={"COLUMNS": "160"})
        assert res.exit_code == 0, res.output
        assert "클릭률(CTR)" in res.output and "1.000" in res.output and "성능 저하 없음" in res.output
        res = runner.invoke(app, ["monitor", "report", "--out", str(tmp_path / "r"), "--end", DAY.isoformat()])
        assert res.exit_code == 0, res.output
        assert (tmp_path / "r" / "index.html").exists() and (tmp_path / "r" / "metrics.png").exists()
    finally:
        get_engine().dispose()
        get_settings.cache_clear()
        get_engine.cache_clear()
