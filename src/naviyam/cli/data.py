"""``naviyam data ...``: sample world generation, Excel/CSV import and export."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from naviyam.db.session import get_engine, migrate
from naviyam.progress import progress_reporter

app = typer.Typer(no_args_is_help=True)
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
    seed: int = typer.Option(42, help="Random seed: the same seed gives the same world."),
    shops: int = typer.Option(1500, help="Number of shops."),
    users: int = typer.Option(6000, help="Number of users."),
    days: int = typer.Option(180, help="Days of order, favourite and review history."),
) -> None:
    """Fill an empty database with a realistic, deterministic sample Seoul."""
    from naviyam.data.generate import WorldNotEmptyError, generate_world

    engine = get_engine()
    migrate(engine)
    try:
        with progress_reporter(console) as report:
            counts = generate_world(engine, seed=seed, shops=shops, users=users, days=days, progress=report)
    except WorldNotEmptyError as exc:
        err_console.print(f"[red]{exc}[/red]")
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
    from naviyam.data.excel import ImportValidationError, import_workbook

    engine = get_engine()
    migrate(engine)
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
    path: Path = typer.Argument(..., help="Workbook (.xlsx) or folder of CSV files, one per sheet."),
    replace: bool = typer.Option(False, "--replace",
                                 help="Also delete rows missing from the file, with what depends on them."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask before deleting (--replace)."),
) -> None:
    """Import the operator's workbook in one transaction: new ids added, changed rows updated (upsert)."""
    if replace and not yes:
        preview = _run_import(path, replace=True, dry_run=True)
        doomed = {k: c.deleted + c.cascaded for k, c in preview.changes.items() if c.deleted + c.cascaded}
        if doomed:
            _print_changes(f"미리 보기 (아직 쓰지 않음): {path}", preview)
            listing = ", ".join(f"{k} {n:,}행" for k, n in doomed.items())
            if not typer.confirm(f"파일에 없는 행을 지울까요? ({listing})", default=False):
                err_console.print("[yellow]취소했어요. 아무것도 바꾸지 않았어요.[/yellow]")
                raise typer.Exit(1)
    result = _run_import(path, replace=replace, dry_run=False)
    _print_changes(f"가져온 데이터: {path}", result)


@app.command("validate")
def validate(
    path: Path = typer.Argument(..., help="Workbook (.xlsx) or folder of CSV files, one per sheet."),
    replace: bool = typer.Option(False, "--replace", help="Check as `import --replace` would run."),
) -> None:
    """Check a workbook as `data import` would, database included, and write nothing."""
    result = _run_import(path, replace=replace, dry_run=True)
    _print_changes(f"검사만 했어요 (아무것도 쓰지 않음): {path}", result)
    console.print("[green]문제 없음: 이대로 가져올 수 있어요.[/green]")


@app.command("export")
def export(path: Path = typer.Argument(..., help="Workbook (.xlsx) or folder for CSV files.")) -> None:
    """Write every operator table to the workbook's sheets."""
    from naviyam.data.excel import export_workbook

    engine = get_engine()
    migrate(engine)
    with progress_reporter(console) as report:
        counts = export_workbook(engine, path, progress=report)
    _print_counts(f"내보낸 데이터: {path}", counts)
