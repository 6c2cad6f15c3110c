"""``naviyam db ...``: schema management."""

from __future__ import annotations

import typer
from rich.console import Console

from naviyam.db.session import get_engine, migrate

app = typer.Typer(no_args_is_help=True, help="데이터베이스 스키마 (Alembic 마이그레이션).")
console = Console()


@app.command("upgrade")
def upgrade(revision: str = typer.Argument("head", help="올릴 Alembic 리비전(revision).")) -> None:
    """스키마를 만들거나 올려요 (upgrade; 여러 번 실행해도 같아요)."""
    engine = get_engine()
    migrate(engine, revision)
    console.print(f"스키마가 {revision}에 있어요: {engine.url.render_as_string(hide_password=True)}")
