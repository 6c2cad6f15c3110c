"""``naviyam db ...``: schema management."""

from __future__ import annotations

import typer
from rich.console import Console

from naviyam.db.session import get_engine, migrate

app = typer.Typer(no_args_is_help=True)
console = Console()


@app.command("upgrade")
def upgrade(revision: str = typer.Argument("head", help="Alembic revision to upgrade to.")) -> None:
    """Create or upgrade the schema (idempotent)."""
    engine = get_engine()
    migrate(engine, revision)
    console.print(f"schema at {revision} on {engine.url.render_as_string(hide_password=True)}")
