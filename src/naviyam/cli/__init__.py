"""The ``naviyam`` console command: a thin shell over the Python API.

Each command group lives in its own module and is registered here.
"""

from __future__ import annotations

import logging

import typer

from naviyam.cli import data as data_cli
from naviyam.cli import db as db_cli
from naviyam.cli import serve as serve_cli

app = typer.Typer(
    name="naviyam",
    help="Naviyam (나비얌): food recommendations for children with meal-support cards.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db_cli.app, name="db", help="Database schema (Alembic migrations).")
app.add_typer(data_cli.app, name="data", help="Sample world, Excel/CSV import and export.")
serve_cli.register(app)


@app.callback()
def _main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging.")) -> None:
    from naviyam.config import get_settings

    level = logging.DEBUG if verbose else getattr(logging, get_settings().log_level.upper(), logging.INFO)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
