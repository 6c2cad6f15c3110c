"""``naviyam maintenance ...``: the nightly jobs that keep personal data within its limits."""

from __future__ import annotations

import typer
from rich.console import Console

from naviyam.config import get_settings

console = Console()
app = typer.Typer(no_args_is_help=True)


@app.command("retention")
def retention(
    days: int = typer.Option(None, help="이만큼의 날짜를 보관해요 (기본: NAVIYAM_RETENTION_DAYS; 0이면 모두 보관)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="지울 것을 세기만 하고 지우지 않아요."),
) -> None:
    """보관 기간(retention)보다 오래된 대화, 대화 상태, 피드백을 지워요 (매일 밤 실행)."""
    from naviyam.db.session import get_engine
    from naviyam.service.privacy import apply_retention

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
    """한 사용자의 대화, 대화 상태, 피드백을 지워요 (DELETE /users/{id}/data와 같아요)."""
    from naviyam.db.session import get_engine
    from naviyam.service.privacy import erase_user_data

    erased = erase_user_data(get_engine(), user_id)
    console.print(f"사용자 {user_id}: 상호작용 {erased.interactions}개, 대화 세션 {erased.chat_sessions}개, "
                  f"피드백 {erased.feedback_events}개를 지웠어요.")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="maintenance", help="야간 작업: 대화 보관 기간(retention) 적용, 사용자 데이터 지우기(erase-user).")
