"""``naviyam ab report``: the online A/B test by the unit of assignment (users), with a planned sample."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from naviyam.cli.common import open_db
from naviyam.config import get_settings
from naviyam.learning.ab import CANDIDATE, PRODUCTION
from naviyam.learning.ab_report import ARM_NAMES, METRIC_NAMES, ABDesign, ab_report, write_report_files

console = Console()
err_console = Console(stderr=True)
app = typer.Typer(no_args_is_help=True, help="후보 모델의 온라인 A/B 테스트.")


@app.command("report")
def report(
    since: str = typer.Option(None, help="이 날(YYYY-MM-DD, UTC)부터의 상호작용만 봐요."),
    candidate: str = typer.Option(None, help="후보 랭커(ranker) 버전 (기본: 가장 최근에 시험한 것)."),
    alpha: float = typer.Option(None, help="유의수준(alpha), 0과 0.5 사이 (기본: NAVIYAM_AB_ALPHA)."),
    mde: float = typer.Option(None, help="최소 검출 효과: 사용자당 CTR의 절대 차이, 0보다 크고 1 이하 "
                              "(기본: NAVIYAM_AB_MDE)."),
    power: float = typer.Option(None, help="검정력(power), 0과 1 사이 (기본: NAVIYAM_AB_POWER)."),
    min_users: int = typer.Option(None, "--min-users",
                                  help="판정 전에 그룹마다 필요한 최소 사용자 수, 2 이상 (기본: NAVIYAM_AB_MIN_USERS)."),
    out: Path = typer.Option(None, "--out", help="이 폴더에 신뢰구간 그림(ab_intervals.png)과 ab_report.json을 써요."),
    as_json: bool = typer.Option(False, "--json", help="표 대신 JSON으로 출력해요."),
) -> None:
    """사용자 단위로 그룹(arm)별 CTR·전환율과 신뢰구간, Welch t-검정, 계획 표본과 판정을 보여요.

    그룹은 사용자 id로 나뉘므로 사용자 한 명이 한 단위예요. 계획한 표본(최소 검출 효과에서 계산)에
    닿기 전에는 판정이 「계속 수집」이에요.
    """
    start = _since(since)
    _check_design(alpha=alpha, mde=mde, power=power, min_users=min_users)
    design = ABDesign.from_settings(get_settings(), alpha=alpha, mde=mde, power=power, min_users=min_users)
    engine = open_db()
    rep = ab_report(engine, since=start, candidate_version=candidate, design=design)
    files = write_report_files(rep, out) if out is not None else {}
    if as_json:
        console.print_json(json.dumps(rep.to_json(), ensure_ascii=False))
        return
    _print_report(rep, design, files)


def _since(since: str | None) -> dt.datetime | None:
    """--since as midnight of that day; a bad date exits 2 with a Korean message."""
    if not since:
        return None
    try:
        return dt.datetime.combine(dt.date.fromisoformat(since), dt.time(0))
    except ValueError:
        err_console.print(f"[red]--since: 날짜는 YYYY-MM-DD 형식이어야 해요 ({since!r}).[/red]")
        raise typer.Exit(2) from None


def _check_design(**given: float | None) -> None:
    """Each given design option in its range, else exit 2 with a Korean message."""
    for name, value, ok, rule in (("--alpha", given["alpha"], lambda v: 0 < v < 0.5, "0보다 크고 0.5보다 작아야"),
                                  ("--mde", given["mde"], lambda v: 0 < v <= 1, "0보다 크고 1 이하여야"),
                                  ("--power", given["power"], lambda v: 0 < v < 1, "0보다 크고 1보다 작아야"),
                                  ("--min-users", given["min_users"], lambda v: v >= 2, "2 이상이어야")):
        if value is not None and not ok(value):
            err_console.print(f"[red]{name}: 값은 {rule} 해요 ({value}).[/red]")
            raise typer.Exit(2)


def _print_report(rep, design, files: dict) -> None:
    """The report as tables: the arms, candidate minus production, the verdict."""
    console.print(f"후보 랭커: {rep.candidate_version or '(없음)'} / 운영: {', '.join(rep.production_versions) or '-'}")
    if rep.start:
        console.print(f"기간: {rep.start:%Y-%m-%d %H:%M} ~ {rep.end:%Y-%m-%d %H:%M} (UTC)")
    level = f"{1 - design.alpha:.0%}"
    console.print(f"설계: 단위 = 사용자, 유의수준 {design.alpha}, 검정력 {design.power}, 최소 검출 효과(CTR 차이) "
                  f"{design.mde}, 최소 {design.min_users}명 → 계획 표본 그룹당 {rep.planned_users}명"
                  + (f" (사용자당 CTR 표준편차 {rep.planning_sd:.3f})" if rep.planning_sd is not None else ""))
    table = Table(title=f"A/B 그룹별 지표 (사용자당 평균, {level} 신뢰구간)")
    for col in ("그룹", "사용자", "추천 노출", "클릭", "주문", "사용자당 CTR", "사용자당 전환율"):
        table.add_column(col, justify="right")
    for arm in (CANDIDATE, PRODUCTION):
        s = rep.arms.get(arm)
        if s is None:
            continue
        table.add_row(ARM_NAMES[arm], str(s.users), str(s.shown), str(s.clicked), str(s.converted),
                      f"{s.ctr.mean:.3f} [{s.ctr.low:.3f}, {s.ctr.high:.3f}]",
                      f"{s.conversion.mean:.3f} [{s.conversion.low:.3f}, {s.conversion.high:.3f}]")
    console.print(table)
    if rep.comparisons:
        comp = Table(title=f"후보 − 운영 (Welch t-검정, {level} 신뢰구간)")
        for col in ("지표", "차이", "신뢰구간", "t", "p", "유의함"):
            comp.add_column(col, justify="right")
        for c in rep.comparisons:
            w = c.welch
            comp.add_row(METRIC_NAMES.get(c.metric, c.metric), f"{w.diff:+.3f}", f"[{w.low:+.3f}, {w.high:+.3f}]",
                         f"{w.t:+.2f}", f"{w.p_value:.4f}", "예" if c.significant else "아니요")
        console.print(comp)
    if rep.excluded_turns:
        console.print(f"사용자 id가 없는 대화 {rep.excluded_turns}개는 그룹이 무작위로 정해지지 않아 뺐어요.")
    for path in files.values():
        console.print(f"→ {path}")
    console.print(rep.verdict())
