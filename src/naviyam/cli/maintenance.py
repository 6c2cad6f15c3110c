"""``naviyam maintenance ...``: the nightly jobs that keep personal data within its limits, and one person's data
on request (guardian consent, export, erasure, the privacy log)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from naviyam.cli.days import parse_day
from naviyam.config import get_settings
from naviyam.core.clock import to_local
from naviyam.db.models import PrivacyEvent
from naviyam.db.session import get_engine, session_scope
from naviyam.service.privacy import (
    ConsentError,
    apply_retention,
    erase_user_data,
    set_guardian_consent,
    withdraw_guardian_consent,
)
from naviyam.service.user_data import export_user_data

console = Console()
app = typer.Typer(no_args_is_help=True)


@app.command("retention")
def retention(
    days: int = typer.Option(None, help="이만큼의 날짜를 보관해요 (기본: NAVIYAM_RETENTION_DAYS; 0이면 모두 보관)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="지울 것을 세기만 하고 지우지 않아요."),
) -> None:
    """보관 기간(retention)보다 오래된 대화, 대화 상태, 피드백을 지워요 (매일 밤 실행)."""
    keep = get_settings().retention_days if days is None else days
    if keep < 0:
        raise typer.BadParameter("--days는 0 이상이어야 해요.")
    if keep == 0:
        console.print("보관 기간 제한이 꺼져 있어요 (0일): 아무것도 지우지 않았어요.")
        return
    erased = apply_retention(get_engine(), keep, dry_run=dry_run)
    verb = "지울 예정이에요 (--dry-run, 아직 지우지 않음)" if dry_run else "지웠어요"
    console.print(f"보관 기간 {keep}일: 상호작용 {erased.interactions}개, 대화 세션 {erased.chat_sessions}개, "
                  f"피드백 {erased.feedback_events}개를 {verb}.")


@app.command("erase-user")
def erase_user(user_id: int = typer.Argument(..., help="대화와 피드백을 지울 사용자 id.")) -> None:
    """한 사용자의 대화, 대화 상태, 피드백을 지워요 (DELETE /users/{id}/data와 같아요). 이후 학습에도 쓰지 않아요."""
    erased = erase_user_data(get_engine(), user_id, source="cli")
    console.print(f"사용자 {user_id}: 상호작용 {erased.interactions}개, 대화 세션 {erased.chat_sessions}개, "
                  f"피드백 {erased.feedback_events}개를 지웠어요. 이 사용자의 기록은 앞으로 학습 데이터에 들어가지 않아요 "
                  "(개인정보 기록에 남김).")


@app.command("consent")
def consent(
    user_id: int = typer.Argument(..., help="보호자가 동의한 사용자 id."),
    date: str = typer.Option(None, "--date", help="보호자가 동의한 날 YYYY-MM-DD (기본: 오늘)."),
) -> None:
    """만 14세 미만 사용자의 보호자 동의를 기록해요 (PUT /users/{id}/consent와 같아요)."""
    try:
        change = set_guardian_consent(get_engine(), user_id, parse_day(date, "--date"), source="cli")
    except ConsentError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    console.print(f"사용자 {user_id}: 보호자 동의 {change.guardian_consent.isoformat()} 기록했어요"
                  + (f" (이전: {change.previous.isoformat()})." if change.previous else "."))


@app.command("withdraw-consent")
def withdraw_consent(user_id: int = typer.Argument(..., help="보호자가 동의를 거둔 사용자 id.")) -> None:
    """보호자 동의를 거두고, 이미 저장한 대화·위치를 줄여요 (DELETE /users/{id}/consent와 같아요)."""
    try:
        change = withdraw_guardian_consent(get_engine(), user_id, source="cli")
    except ConsentError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    console.print(f"사용자 {user_id}: 보호자 동의를 거뒀어요"
                  + (f" (이전: {change.previous.isoformat()})" if change.previous else " (기록된 동의 없음)")
                  + f". 저장된 상호작용 {change.interactions}개, 대화 세션 {change.chat_sessions}개, "
                  f"피드백 {change.feedback_events}개를 줄였어요 (쓴 말·정확한 위치 삭제, 학습 제외).")


@app.command("export-user")
def export_user(
    user_id: int = typer.Argument(..., help="정보를 내보낼 사용자 id."),
    out: Path = typer.Option(None, "--out", "-o", help="JSON을 쓸 파일 (기본: 화면에 출력)."),
) -> None:
    """한 사용자에 대해 보관한 모든 정보를 JSON으로 내보내요 (GET /users/{id}/data와 같아요)."""
    doc = export_user_data(get_engine(), user_id, retention_days=get_settings().retention_days, source="cli")
    if doc is None:
        console.print(f"[red]사용자 {user_id}번에 대해 보관한 정보가 없어요.[/red]")
        raise typer.Exit(1)
    text = json.dumps(doc, ensure_ascii=False, indent=2)
    if out is None:
        typer.echo(text)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    tmp.replace(out)
    console.print(f"사용자 {user_id}의 정보를 {out}에 썼어요 (대화 {len(doc['conversations'])}개, "
                  f"피드백 {len(doc['feedback'])}개, 대화 세션 {len(doc['sessions'])}개).")


@app.command("privacy-log")
def privacy_log(
    user_id: int = typer.Option(None, "--user", help="이 사용자의 기록만."),
    limit: int = typer.Option(50, min=1, max=10_000, help="최근 몇 개를 보여 줄지."),
) -> None:
    """보호자 동의·동의 철회·정보 열람·삭제 기록을 보여 줘요 (내용은 없이 누가, 언제, 몇 개)."""
    names = {"consent": "보호자 동의", "withdraw": "동의 철회", "export": "정보 내보내기", "erase": "삭제"}
    with session_scope(get_engine()) as s:
        q = select(PrivacyEvent).order_by(PrivacyEvent.id.desc()).limit(limit)
        if user_id is not None:
            q = q.where(PrivacyEvent.user_id == user_id)
        rows = list(s.scalars(q))
        table = Table("시각(서울)", "사용자", "한 일", "경로", "내용(개수·날짜)")
        for e in reversed(rows):
            when = to_local(e.created_at.replace(tzinfo=dt.UTC)).strftime("%Y-%m-%d %H:%M")
            details = ", ".join(f"{k}={v}" for k, v in (e.details or {}).items())
            table.add_row(when, str(e.user_id), names.get(e.action, e.action), e.source, details)
    if not rows:
        console.print("개인정보 처리 기록이 없어요.")
        return
    console.print(table)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="maintenance",
                   help="개인정보: 보관 기간(retention) 적용, 보호자 동의(consent), 정보 내보내기(export-user)·삭제(erase-user).")
