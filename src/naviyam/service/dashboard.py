"""What the operator's dashboard shows, gathered from the database in one call (no network, no files).

* daily metrics (``daily_metric``, written by the nightly ``naviyam monitor daily``) for the last
  ``days`` days, and today computed live from the interactions when not stored yet;
* charts of them (PNG bytes, drawn here): CTR and conversion, satisfaction, latency p50/p95, error
  rate, active users, with dotted lines at model promotions;
* the models this server serves, when each was promoted, and the recent promotions;
* open alerts (``alert.resolved_at`` empty);
* the current online A/B test by the unit of assignment (:mod:`naviyam.learning.ab_report`) with its
  interval chart.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select

from naviyam.core.clock import local_today, to_local
from naviyam.db.models import Alert, ModelVersion
from naviyam.db.session import session_scope
from naviyam.learning.ab_report import ABDesign, ABReport, ab_report, plot_intervals
from naviyam.monitor.daily import compute_day, load_history
from naviyam.monitor.report import plot_series_png, promotions

#: Charts of the dashboard: (key, title, metrics drawn together).
CHARTS: list[tuple[str, str, list[str]]] = [
    ("ctr", "클릭률과 전환율", ["ctr", "conversion_rate"]),
    ("satisfaction", "응답 만족도 (1~5)", ["response_satisfaction"]),
    ("latency", "응답 시간 (ms)", ["latency_p50_ms", "latency_p95_ms"]),
    ("errors", "오류 비율", ["error_rate"]),
    ("users", "일일 활성 사용자", ["daily_active_users"]),
]
#: The numbers of the summary row, in order.
SUMMARY = ["ctr", "conversion_rate", "response_satisfaction", "latency_p50_ms", "latency_p95_ms", "error_rate",
           "daily_active_users"]


@dataclass(frozen=True)
class ServingModel:
    kind: str
    version: str
    promoted_at: dt.datetime | None  # local time


@dataclass(frozen=True)
class OpenAlert:
    created_at: dt.datetime  # local time
    kind: str
    severity: str
    message: str


@dataclass
class Dashboard:
    start: dt.date
    end: dt.date
    history: dict[dt.date, dict[str, float | None]]
    #: Today when its numbers were computed live (not yet stored by the nightly job).
    live_day: dt.date | None
    charts: dict[str, bytes]
    serving: list[ServingModel]
    candidates: dict[str, str]
    promotions: list[tuple[dt.date, str, str]]
    alerts: list[OpenAlert]
    ab: ABReport
    ab_chart: bytes | None
    ab_share: float

    def latest(self) -> tuple[dt.date | None, dict[str, float | None]]:
        """The most recent day with any activity and its metrics."""
        for day in sorted(self.history, reverse=True):
            if self.history[day].get("interactions"):
                return day, self.history[day]
        return None, {}


def _local(ts: dt.datetime | None) -> dt.datetime | None:
    """A stored (naive UTC) timestamp as naive local time."""
    return to_local(ts.replace(tzinfo=dt.UTC)) if ts is not None else None


def build_dashboard(engine: Engine, *, serving: dict[str, str], candidates: dict[str, str] | None, settings: Any,
                    days: int = 28) -> Dashboard:
    """Everything the dashboard shows for the last ``days`` days up to today (service time zone)."""
    end = local_today()
    start = end - dt.timedelta(days=days - 1)
    history = load_history(engine, start, end)
    live_day = None
    if end not in history:
        history[end] = compute_day(engine, end, settings.timezone)
        live_day = end
    marks = promotions(engine, start, end)
    charts = {key: plot_series_png(history, names, title, start=start, end=end, marks=marks, live=live_day)
              for key, title, names in CHARTS}
    with session_scope(engine) as s:
        promoted = {v: t for v, t in s.execute(select(ModelVersion.version, ModelVersion.promoted_at)
                                               .where(ModelVersion.version.in_(list(serving.values()))))}
        alerts = [OpenAlert(_local(a.created_at), a.kind, a.severity, a.message) for a in s.scalars(
            select(Alert).where(Alert.resolved_at.is_(None)).order_by(Alert.id.desc()).limit(50))]
    models = [ServingModel(kind, version, _local(promoted.get(version))) for kind, version in serving.items()]
    report = ab_report(engine, design=ABDesign.from_settings(settings))
    ab_chart = plot_intervals(report) if report.has_data else None
    return Dashboard(start, end, history, live_day, charts, models, dict(candidates or {}),
                     sorted(marks, reverse=True), alerts, report, ab_chart, settings.ab_share)
