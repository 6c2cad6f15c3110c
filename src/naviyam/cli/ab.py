"""``naviyam ab report``: the online A/B test's CTR and conversion per arm, with significance."""

from __future__ import annotations

import datetime as dt
import json

import typer
from rich.console import Console
from rich.table import Table

console = Console()
err_console = Console(stderr=True)
app = typer.Typer(no_args_is_help=True, help="후보 모델의 온라인 A/B 테스트.")


@app.command("report")
def report(
    since: str = typer.Option(None, help="이 날(YYYY-MM-DD, UTC)부터의 상호작용만 봐요."),
    candidate: str = typer.Option(None, help="후보 랭커(ranker) 버전 (기본: 가장 최근에 시험한 것)."),
    alpha: float = typer.Option(0.05, help="두 비율 검정의 유의수준(alpha)."),
    as_json: bool = typer.Option(False, "--json", help="표 대신 JSON으로 출력해요."),
) -> None:
    """그룹(arm)별 CTR과 전환율, 95% Wilson 신뢰구간, 두 비율 z-검정과 판정을 보여요."""
    from naviyam.db.session import get_engine, migrate
    from naviyam.learning.ab import CANDIDATE, PRODUCTION
    from naviyam.learning.ab_report import METRIC_NAMES, ab_report

    start = None
    if since:
        try:
            start = dt.datetime.combine(dt.date.fromisoformat(since), dt.time(0))
        except ValueError:
            err_console.print(f"[red]--since: 날짜는 YYYY-MM-DD 형식이어야 해요 ({since!r}).[/red]")
            raise typer.Exit(2) from None
    engine = get_engine()
    migrate(engine)
    rep = ab_report(engine, since=start, candidate_version=candidate, alpha=alpha)
    if as_json:
        console.print_json(json.dumps(rep.to_json(), ensure_ascii=False))
        return
    console.print(f"후보 랭커: {rep.candidate_version or '(없음)'} / 운영: {', '.join(rep.production_versions) or '-'}")
    if rep.start:
        console.print(f"기간: {rep.start:%Y-%m-%d %H:%M} ~ {rep.end:%Y-%m-%d %H:%M} (UTC)")
    table = Table(title="A/B 그룹별 지표")
    for col in ("그룹", "사용자", "추천 노출", "클릭", "주문", "CTR", "전환율"):
        table.add_column(col, justify="right")
    for arm, label in ((CANDIDATE, "후보"), (PRODUCTION, "운영")):
        s = rep.arms.get(arm)
        if s is None:
            continue
        table.add_row(label, str(rep.users.get(arm, 0)), str(s.shown), str(s.clicked), str(s.converted),
                      f"{s.ctr:.3f}", f"{s.conversion:.3f}")
    console.print(table)
    if rep.comparisons:
        comp = Table(title="비교 (95% 신뢰구간, 두 비율 z-검정)")
        for col in ("지표", "후보", "운영", "z", "p", "유의함"):
            comp.add_column(col, justify="right")
        for c in rep.comparisons:
            comp.add_row(METRIC_NAMES.get(c.metric, c.metric),
                         f"{c.candidate:.3f} [{c.candidate_ci[0]:.3f}, {c.candidate_ci[1]:.3f}]",
                         f"{c.production:.3f} [{c.production_ci[0]:.3f}, {c.production_ci[1]:.3f}]",
                         f"{c.z:+.2f}", f"{c.p_value:.4f}", "예" if c.significant else "아니요")
        console.print(comp)
    console.print(rep.verdict())
