"""Charts of the daily metrics (matplotlib PNG) and a small HTML page around them.

Vertical dotted lines mark model promotions (from the registry). Labels are
Korean; the NanumGothic font (fonts-nanum) is used when installed, so Hangul
renders instead of empty boxes.
"""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path

from sqlalchemy import Engine, select

from naviyam.core.charts import figure_png, new_figure, use_korean_font
from naviyam.core.clock import local_today
from naviyam.db.models import Alert, ModelVersion
from naviyam.db.session import session_scope
from naviyam.monitor.daily import METRICS, load_history

#: Panels of the chart: (title, metrics drawn together).
PANELS: list[tuple[str, list[str]]] = [
    ("추천 성과", ["ctr", "conversion_rate", "conversation_success_rate"]),
    ("챗봇 이해와 만족", ["nlu_confidence", "clarification_rate", "response_satisfaction"]),
    ("추천 품질", ["recommendation_diversity", "avg_recommendation_score", "error_rate"]),
    ("시스템", ["latency_p50_ms", "latency_p95_ms"]),
    ("사용량", ["daily_active_users", "interactions"]),
]


def promotions(engine: Engine, start: dt.date, end: dt.date) -> list[tuple[dt.date, str, str]]:
    """(day, kind, version) of every version promoted in the range (still or once in production)."""
    with session_scope(engine) as s:
        rows = s.execute(select(ModelVersion.promoted_at, ModelVersion.kind, ModelVersion.version)
                         .where(ModelVersion.promoted_at.is_not(None)))
        return sorted((t.date(), k, v) for t, k, v in rows if start <= t.date() <= end)


def plot_metrics(history: dict[dt.date, dict[str, float | None]], path: Path,
                 marks: list[tuple[dt.date, str, str]] | None = None) -> Path:
    """One PNG with a panel per metric group over the days of ``history``."""
    import matplotlib  # lazy: charts only; matplotlib takes about a second to import

    matplotlib.use("Agg")
    import matplotlib.dates as mdates  # lazy: charts only; matplotlib takes about a second to import
    import matplotlib.pyplot as plt  # lazy: charts only; matplotlib takes about a second to import

    use_korean_font()
    days = sorted(history)
    fig, axes = plt.subplots(len(PANELS), 1, figsize=(10, 2.6 * len(PANELS)), sharex=True)
    for ax, (title, names) in zip(axes, PANELS, strict=True):
        for name in names:
            xs = [d for d in days if history[d].get(name) is not None]
            if xs:
                ax.plot(xs, [history[d][name] for d in xs], marker="o", markersize=3, label=METRICS[name])
        for day, _kind, _version in marks or []:
            ax.axvline(day, color="grey", linestyle=":", linewidth=1)
        ax.set_title(title, fontsize=11)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8, loc="upper left")
        ax.grid(alpha=0.3)
    if marks:
        top = axes[0]
        for day, kind, _version in marks:
            top.annotate(f"{kind} 승격", (mdates.date2num(day), 1.0), xycoords=("data", "axes fraction"),
                         fontsize=7, rotation=90, va="top", ha="right", color="grey")
    axes[-1].xaxis.set_major_formatter(mdates.DateFormatter("%m-%d"))
    fig.suptitle("나비얌 일일 지표", fontsize=13)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_series_png(history: dict[dt.date, dict[str, float | None]], names: list[str], title: str, *,
                    start: dt.date, end: dt.date, marks: list[tuple[dt.date, str, str]] | None = None,
                    live: dt.date | None = None) -> bytes:
    """One small chart (PNG bytes) of ``names`` over [start, end]; grey dotted lines at promotions.

    ``live`` marks a day whose values are still being collected (drawn hollow). Drawn without pyplot, so
    a server may draw in several threads at once.
    """
    import matplotlib.dates as mdates  # lazy: charts only; matplotlib takes about a second to import

    fig = new_figure(6.4, 2.6)
    ax = fig.subplots()
    days = sorted(d for d in history if start <= d <= end)
    drawn = False
    for name in names:
        xs = [d for d in days if history[d].get(name) is not None]
        if not xs:
            continue
        drawn = True
        line, = ax.plot(xs, [history[d][name] for d in xs], marker="o", markersize=3, label=METRICS[name])
        if live is not None and live in xs:
            ax.plot([live], [history[live][name]], marker="o", markersize=7, markerfacecolor="white",
                    color=line.get_color())
    for day, _kind, _version in marks or []:
        ax.axvline(day, color="grey", linestyle=":", linewidth=1)
    if not drawn:
        ax.text(0.5, 0.5, "아직 데이터가 없어요", ha="center", va="center", transform=ax.transAxes, color="grey")
    else:
        ax.legend(fontsize=8, loc="upper left")
    half = dt.timedelta(hours=12)
    ax.set_xlim(dt.datetime.combine(start, dt.time()) - half, dt.datetime.combine(end, dt.time()) + half)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d"))
    ax.set_title(title, fontsize=11)
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    fig.tight_layout()
    return figure_png(fig)


def write_report(engine: Engine, out_dir: Path, *, days: int = 28, end: dt.date | None = None) -> Path:
    """``index.html`` + ``metrics.png`` for the last ``days`` days in ``out_dir``; returns the HTML path."""
    end = end or max(load_history(engine) or {local_today(): {}})
    start = end - dt.timedelta(days=days - 1)
    history = load_history(engine, start, end)
    marks = promotions(engine, start, end)
    out_dir = Path(out_dir)
    png = plot_metrics(history, out_dir / "metrics.png", marks)
    with session_scope(engine) as s:
        alerts = list(s.execute(select(Alert.created_at, Alert.kind, Alert.message)
                                .order_by(Alert.id.desc()).limit(20)))
    rows = "".join(
        f"<tr><td>{d.isoformat()}</td>" + "".join(
            f"<td>{'' if history[d].get(m) is None else f'{history[d][m]:.3f}'}</td>" for m in METRICS) + "</tr>"
        for d in sorted(history, reverse=True))
    alert_rows = "".join(f"<li>{t:%Y-%m-%d %H:%M} [{html.escape(k)}] {html.escape(m)}</li>" for t, k, m in alerts)
    mark_rows = "".join(f"<li>{d.isoformat()} {html.escape(k)} → {html.escape(v)}</li>" for d, k, v in marks)
    page = f"""<!doctype html><html lang="ko"><head><meta charset="utf-8"><title>나비얌 모니터링</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;font-size:12px}}
td,th{{border:1px solid #ccc;padding:2px 6px;text-align:right}}</style></head><body>
<h1>나비얌 모니터링 ({start.isoformat()} ~ {end.isoformat()})</h1>
<img src="{png.name}" alt="일일 지표 차트" style="max-width:100%">
<h2>모델 승격</h2><ul>{mark_rows or '<li>없음</li>'}</ul>
<h2>최근 알림</h2><ul>{alert_rows or '<li>없음</li>'}</ul>
<h2>일일 지표</h2><table><tr><th>날짜</th>{''.join(f'<th>{html.escape(v)}</th>' for v in METRICS.values())}</tr>
{rows}</table></body></html>"""
    path = out_dir / "index.html"
    path.write_text(page, encoding="utf-8")
    return path
