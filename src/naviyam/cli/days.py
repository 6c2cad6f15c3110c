"""Days given on the command line (YYYY-MM-DD): one parser and one Korean message for every command."""

from __future__ import annotations

import datetime as dt

import typer
from rich.console import Console

_err = Console(stderr=True)


def parse_day(value: str | None, option: str | None = None) -> dt.date | None:
    """``value`` as a date (None stays None); anything else ends the command with exit code 2 and a Korean line."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        where = f"{option}: " if option else ""
        _err.print(f"[red]{where}날짜는 YYYY-MM-DD 형식이어야 해요 ({value!r}).[/red]")
        raise typer.Exit(2) from None
