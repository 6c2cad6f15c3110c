"""``naviyam monitor daily | report``: nightly metrics, degradation alerts and charts (seed 47.C)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

console = Console()
err_console = Console(stderr=True)
app = typer.Typer(no_args_is_help=True, help="Monitoring: daily metrics, degradation alerts, charts.")


def _engine():
    from naviyam.db.session import get_engine, migrate

    engine = get_engine()
    migrate(engine)
    return engine


def _parse_day(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        err_console.print(f"[red]날짜는 YYYY-MM-DD 형식이어야 해요 ({value!r}).[/red]")
        raise typer.Exit(2) from None


@app.command("daily")
def daily(
    day: str = typer.Option(None, help="Day to compute (YYYY-MM-DD, local time; default: yesterday)."),
    days: int = typer.Option(1, help="Compute this many days ending with DAY (backfill)."),
    drop: float = typer.Option(0.05, help="Alert when a 7-day mean is this much worse than the 7 days before."),
) -> None:
    """Compute and store the day's metrics, then check for degradation (alert rows, log, webhook)."""
    from naviyam.config import get_settings
    from naviyam.monitor.alerts import check_and_alert
    from naviyam.monitor.daily import METRICS, run_daily, yesterday

    settings = get_settings()
    target = _parse_day(day) or yesterday()
    engine = _engine()
    results = run_daily(engine, target, timezone=settings.timezone, days=max(1, days))
    metrics = results[target]
    table = Table(title=f"{target.isoformat()} 일일 지표")
    table.add_column("지표")
    table.add_column("값", justify="right")
    for name, label in METRICS.items():
        v = metrics.get(name)
        table.add_row(label, "-" if v is None else f"{v:.3f}")
    console.print(table)
    found = check_and_alert(engine, target, drop=drop, webhook_url=settings.alert_webhook_url)
    if found:
        for d in found:
            console.print(f"[red]🚨 {d.message}[/red]")
    else:
        console.print("성능 저하 없음.")


@app.command("report")
def report(
    out: Path = typer.Option(Path("outputs/monitoring"), "--out", help="Output folder (index.html, metrics.png)."),
    days: int = typer.Option(28, help="Days shown."),
    end: str = typer.Option(None, help="Last day shown (default: the newest stored day)."),
) -> None:
    """Write an HTML page with a PNG chart of the stored daily metrics and model promotions."""
    from naviyam.monitor.report import write_report

    engine = _engine()
    path = write_report(engine, out, days=days, end=_parse_day(end))
    console.print(f"모니터링 보고서 → {path}")
