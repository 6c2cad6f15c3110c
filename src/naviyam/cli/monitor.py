"""``naviyam monitor daily | report``: nightly metrics, degradation alerts and charts."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from naviyam.cli.common import open_db
from naviyam.cli.days import parse_day
from naviyam.config import get_settings
from naviyam.monitor.alerts import check_and_alert
from naviyam.monitor.daily import METRICS, run_daily, yesterday
from naviyam.monitor.report import write_report

console = Console()
app = typer.Typer(no_args_is_help=True, help="모니터링: 일일 지표, 성능 저하 알림, 그래프.")


def _engine():

    engine = open_db()
    return engine


@app.command("daily")
def daily(
    day: str = typer.Option(None, help="계산할 날 (YYYY-MM-DD, 현지 시간; 기본: 어제)."),
    days: int = typer.Option(1, help="DAY로 끝나는 이만큼의 날을 계산해요 (backfill)."),
    drop: float = typer.Option(0.05, help="7일 평균이 그 전 7일보다 이만큼 나빠지면 알려요 (drop)."),
) -> None:
    """그날의 지표를 계산해 저장하고 성능 저하를 확인해요 (알림 행, 로그, webhook)."""
    settings = get_settings()
    target = parse_day(day) or yesterday()
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
    out: Path = typer.Option(Path("outputs/monitoring"), "--out", help="출력 폴더 (index.html, metrics.png)."),
    days: int = typer.Option(28, help="보여 줄 날짜 수."),
    end: str = typer.Option(None, help="보여 줄 마지막 날 (기본: 저장된 가장 최근 날)."),
) -> None:
    """저장된 일일 지표와 모델 승격을 PNG 그래프로 담은 HTML 보고서를 써요 (report)."""
    engine = _engine()
    path = write_report(engine, out, days=days, end=parse_day(end))
    console.print(f"모니터링 보고서 → {path}")
