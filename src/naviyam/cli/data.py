"""``naviyam data ...``: sample world generation, Excel/CSV import and export."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from naviyam.cli.common import open_db
from naviyam.data.excel import ImportValidationError, export_workbook, import_workbook
from naviyam.data.generate import DEFAULT_DAYS, DEFAULT_SHOPS, DEFAULT_USERS, WorldNotEmptyError, generate_world
from naviyam.db.session import get_engine, migrate
from naviyam.progress import progress_reporter
from naviyam.service.privacy import consent_snapshot, record_imported_consents

app = typer.Typer(no_args_is_help=True, help="샘플 세계 만들기, Excel/CSV 가져오기(import)와 내보내기(export).")
console = Console()
err_console = Console(stderr=True)


def _print_counts(title: str, counts: dict[str, int]) -> None:
    table = Table(title=title)
    table.add_column("테이블")
    table.add_column("행 수", justify="right")
    for name, n in counts.items():
        table.add_row(name, f"{n:,}")
    console.print(table)


@app.command("generate")
def generate(
    seed: int = typer.Option(42, help="무작위 시드(random seed): 같은 시드면 같은 세계를 만들어요."),
    shops: int = typer.Option(DEFAULT_SHOPS, help="가게(shops) 수."),
    users: int = typer.Option(DEFAULT_USERS, help="사용자(users) 수."),
    days: int = typer.Option(DEFAULT_DAYS, help="주문·찜·리뷰 기록을 만들 날짜 수(days)."),
) -> None:
    """빈 데이터베이스를 그럴듯하고 늘 같은 샘플 서울(sample world)로 채워요."""
    engine = open_db()
    try:
        with progress_reporter(console) as report:
            counts = generate_world(engine, seed=seed, shops=shops, users=users, days=days, progress=report)
    except WorldNotEmptyError as exc:
        err_console.print(f"[red]데이터베이스가 비어 있지 않아 샘플 세계를 만들지 않았어요. 빈 데이터베이스에서 "
                          f"실행하세요. ({exc})[/red]")
        raise typer.Exit(1) from None
    _print_counts(f"샘플 세계 (seed {seed})", counts)


def _print_changes(title: str, result) -> None:
    table = Table(title=title)
    table.add_column("시트")
    table.add_column("파일 행", justify="right")
    for label in ("추가", "변경", "그대로", "삭제", "함께 삭제", "연결 해제"):
        table.add_column(label, justify="right")
    for name, c in result.changes.items():
        read = result.get(name)
        table.add_row(name, "-" if read is None else f"{read:,}", f"{c.added:,}", f"{c.changed:,}",
                      f"{c.unchanged:,}", f"{c.deleted:,}", f"{c.cascaded:,}", f"{c.detached:,}")
    console.print(table)


def _run_import(path: Path, *, replace: bool, dry_run: bool):
    engine = open_db()
    try:
        with progress_reporter(console) as report:
            result = import_workbook(engine, path, replace=replace, dry_run=dry_run, progress=report)
    except ImportValidationError as exc:
        err_console.print(f"[red]가져오지 않았어요 (아무것도 쓰지 않음): 문제 {len(exc.errors)}개[/red]")
        for e in exc.errors[:50]:
            err_console.print(f"  {e}")
        if len(exc.errors) > 50:
            err_console.print(f"  ... 그 밖에 {len(exc.errors) - 50}개")
        raise typer.Exit(1) from None
    for warning in getattr(result, "warnings", []):
        err_console.print(f"[yellow]주의: {warning}[/yellow]")
    return result


@app.command("import")
def import_(
    path: Path = typer.Argument(..., help="워크북(.xlsx) 또는 시트마다 CSV 파일 하나씩 든 폴더."),
    replace: bool = typer.Option(False, "--replace",
                                 help="파일에 없는 행과 그 행에 딸린 데이터도 지워요."),
    yes: bool = typer.Option(False, "--yes", "-y", help="지우기 전에 묻지 않아요 (--replace)."),
) -> None:
    """운영자 워크북을 한 트랜잭션으로 가져와요: 새 id는 추가, 바뀐 행은 갱신 (upsert)."""
    if replace and not yes:
        preview = _run_import(path, replace=True, dry_run=True)
        doomed = {k: c.deleted + c.cascaded for k, c in preview.changes.items() if c.deleted + c.cascaded}
        if doomed:
            _print_changes(f"미리 보기 (아직 쓰지 않음): {path}", preview)
            listing = ", ".join(f"{k} {n:,}행" for k, n in doomed.items())
            if not typer.confirm(f"파일에 없는 행을 지울까요? ({listing})", default=False):
                err_console.print("[yellow]취소했어요. 아무것도 바꾸지 않았어요.[/yellow]")
                raise typer.Exit(1)

    migrate(get_engine())
    consents = consent_snapshot(get_engine())
    result = _run_import(path, replace=replace, dry_run=False)
    _print_changes(f"가져온 데이터: {path}", result)
    given, withdrawn = record_imported_consents(get_engine(), consents)
    if given or withdrawn:
        console.print(f"보호자 동의: 새로 기록 {len(given)}명, 거둠 {len(withdrawn)}명"
                      + (" (거둔 사용자의 저장된 대화·위치를 줄이고 학습에서 뺐어요)." if withdrawn else "."))


@app.command("validate")
def validate(
    path: Path = typer.Argument(..., help="워크북(.xlsx) 또는 시트마다 CSV 파일 하나씩 든 폴더."),
    replace: bool = typer.Option(False, "--replace", help="`import --replace`로 실행할 때처럼 검사해요."),
) -> None:
    """워크북을 `data import`처럼 데이터베이스까지 대조해 검사만 하고, 아무것도 쓰지 않아요 (validate)."""
    result = _run_import(path, replace=replace, dry_run=True)
    _print_changes(f"검사만 했어요 (아무것도 쓰지 않음): {path}", result)
    console.print("[green]문제 없음: 이대로 가져올 수 있어요.[/green]")


@app.command("export")
def export(path: Path = typer.Argument(..., help="워크북(.xlsx) 또는 CSV 파일을 쓸 폴더.")) -> None:
    """운영 테이블을 모두 워크북 시트로 내보내요 (export)."""
    engine = open_db()
    with progress_reporter(console) as report:
        counts = export_workbook(engine, path, progress=report)
    _print_counts(f"내보낸 데이터: {path}", counts)
