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


@app.command("import")
def import_(path: Path = typer.Argument(..., help="Workbook (.xlsx) or folder of CSV files, one per sheet.")) -> None:
    """Validate and import the operator's workbook in one transaction."""
    from naviyam.data.excel import ImportValidationError, import_workbook

    engine = get_engine()
    migrate(engine)
    try:
        counts = import_workbook(engine, path)
    except ImportValidationError as exc:
        err_console.print(f"[red]가져오지 않았어요 (아무것도 쓰지 않음): 문제 {len(exc.errors)}개[/red]")
        for e in exc.errors[:50]:
            err_console.print(f"  {e}")
        if len(exc.errors) > 50:
            err_console.print(f"  ... 그 밖에 {len(exc.errors) - 50}개")
        raise typer.Exit(1) from None
    for warning in getattr(counts, "warnings", []):
        err_console.print(f"[yellow]주의: {warning}[/yellow]")
    _print_counts(f"가져온 데이터: {path}", counts)


@app.command("export")
def export(path: Path = typer.Argument(..., help="Workbook (.xlsx) or folder for CSV files.")) -> None:
    """Write every operator table to the workbook's sheets."""
    from naviyam.data.excel import export_workbook

    engine = get_engine()
    migrate(engine)
    counts = export_workbook(engine, path)
    _print_counts(f"내보낸 데이터: {path}", counts)
