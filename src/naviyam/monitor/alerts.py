"""Degradation detection and alerts: a database row, a log line and an optional webhook.

For each watched metric, the mean of the last ``window`` days (ending with
the checked day) is compared with the mean of the ``window`` days before:

* higher is better (CTR, conversion, satisfaction, …): alert when
  ``recent < previous * (1 - drop)``;
* lower is better (latency, error rate): alert when ``recent > previous * (1 + drop)``.

Days without a value are left out of a mean; each window needs at least
``min_days`` values. One alert per metric and checked day (a rerun does not
repeat it).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import urllib.request
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from sqlalchemy import Engine, select

from naviyam.db.models import Alert
from naviyam.db.session import session_scope
from naviyam.monitor.daily import METRICS, load_history

log = logging.getLogger(__name__)

ALERT_DEGRADATION = "performance_degradation"
#: Watched metrics and whether higher is better.
WATCHED: dict[str, bool] = {
    "ctr": True,
    "conversion_rate": True,
    "response_satisfaction": True,
    "conversation_success_rate": True,
    "nlu_confidence": True,
    "latency_p95_ms": False,
    "error_rate": False,
}


@dataclass
class Degradation:
    metric: str
    label: str
    previous: float
    recent: float
    change: float  # relative, e.g. -0.12
    day: dt.date

    @property
    def message(self) -> str:
        return (f"{self.label} 저하 감지: 이전 7일 {self.previous:.3f} → 최근 7일 {self.recent:.3f} "
                f"({self.change:+.1%})")

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["day"] = self.day.isoformat()
        return d


def detect_degradation(history: dict[dt.date, dict[str, float | None]], day: dt.date, *, window: int = 7,
                       drop: float = 0.05, min_days: int = 3,
                       watched: dict[str, bool] | None = None) -> list[Degradation]:
    """Metrics whose last-``window``-days mean is more than ``drop`` worse than the ``window`` days before."""
    out = []
    recent_days = [day - dt.timedelta(days=k) for k in range(window)]
    previous_days = [day - dt.timedelta(days=window + k) for k in range(window)]
    for metric, higher_better in (watched or WATCHED).items():
        recent = [history.get(d, {}).get(metric) for d in recent_days]
        previous = [history.get(d, {}).get(metric) for d in previous_days]
        recent = [v for v in recent if v is not None]
        previous = [v for v in previous if v is not None]
        if len(recent) < min_days or len(previous) < min_days:
            continue
        r, p = float(np.mean(recent)), float(np.mean(previous))
        if p == 0:
            continue
        worse = r < p * (1 - drop) if higher_better else r > p * (1 + drop)
        if worse:
            out.append(Degradation(metric, METRICS.get(metric, metric), p, r, (r - p) / abs(p), day))
    return out


def raise_alert(engine: Engine, kind: str, message: str, details: dict[str, Any] | None = None, *,
                severity: str = "warning", webhook_url: str | None = None) -> int:
    """Store an alert, log it and POST it to ``webhook_url`` (failures of the webhook are only logged)."""
    with session_scope(engine) as s:
        row = Alert(kind=kind, severity=severity, message=message, details=details)
        s.add(row)
        s.flush()
        alert_id = row.id
    log.warning("ALERT %s: %s", kind, message)
    if webhook_url:
        body = json.dumps({"id": alert_id, "kind": kind, "severity": severity, "message": message,
                           "details": details}, ensure_ascii=False, default=str).encode("utf-8")
        req = urllib.request.Request(webhook_url, data=body, headers={"Content-Type": "application/json"},
                                     method="POST")
        try:
            with urllib.request.urlopen(req, timeout=5):  # noqa: S310 - an operator-configured URL
                pass
        except OSError as exc:
            log.error("alert webhook %s failed: %s", webhook_url, exc)
    return alert_id


def check_and_alert(engine: Engine, day: dt.date, *, window: int = 7, drop: float = 0.05,
                    webhook_url: str | None = None) -> list[Degradation]:
    """Detect degradation as of ``day`` from the stored daily metrics and raise one alert per new finding."""
    history = load_history(engine, day - dt.timedelta(days=2 * window), day)
    found = detect_degradation(history, day, window=window, drop=drop)
    with session_scope(engine) as s:
        done = {(a.details or {}).get("metric") for a in s.scalars(select(Alert).where(
            Alert.kind == ALERT_DEGRADATION)) if (a.details or {}).get("day") == day.isoformat()}
    for d in found:
        if d.metric in done:
            continue
        raise_alert(engine, ALERT_DEGRADATION, d.message,
                    {**d.to_json(), "action_required": "모델 재학습 또는 최근 배포 되돌리기를 검토하세요."},
                    webhook_url=webhook_url)
    return found
