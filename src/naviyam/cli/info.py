"""``naviyam --version`` and ``naviyam config``: what is installed and which settings are in effect."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

from naviyam import __version__
from naviyam.config import Settings, get_settings

console = Console()

#: Settings whose values are never printed in full.
SECRET_WORDS = ("key", "password", "secret", "token")


def version_callback(value: bool) -> None:
    if value:
        console.print(f"naviyam {__version__}")
        raise typer.Exit()


def masked(name: str, value) -> str:
    """A setting's value as the operator may see it: secrets masked, URLs without their password."""
    if value is None or value == "":
        return "-"
    text = str(value)
    if any(w in name for w in SECRET_WORDS):
        return "*" * 8 if len(text) < 12 else text[:2] + "*" * 6 + text[-2:]
    if "url" in name and "@" in text and "://" in text:
        try:
            return make_url(text).render_as_string(hide_password=True)
        except Exception:  # noqa: BLE001 - not a SQLAlchemy URL (e.g. redis://): hide what precedes the host
            scheme, rest = text.split("://", 1)
            return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return text


def config() -> None:
    """적용 중인 설정(환경 변수, .env, 기본값)을 보여요. 비밀 값은 가려요."""
    settings = get_settings()
    table = Table(title="적용 중인 설정 (effective settings)")
    table.add_column("환경 변수")
    table.add_column("값")
    table.add_column("설명")
    for name, field in Settings.model_fields.items():
        table.add_row(f"NAVIYAM_{name.upper()}", masked(name, getattr(settings, name)), field.description or "")
    console.print(table)
    console.print(f"데이터베이스: {masked('database_url', settings.resolved_database_url)}")
