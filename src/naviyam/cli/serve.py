"""``naviyam setup`` and ``naviyam serve``: what ``make run`` runs."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import typer
from rich.console import Console

from naviyam.config import get_settings

console = Console()
log = logging.getLogger(__name__)


def setup(
    workbook: Path = typer.Option(None, "--workbook", help="The operator's workbook (.xlsx or CSV folder) to import "
                                  "into an empty database instead of the sample world (default: NAVIYAM_WORKBOOK)."),
) -> None:
    """Create the schema, fill an empty database (the operator's workbook, else the sample world), build missing models."""
    from naviyam.db.session import get_engine, migrate
    from naviyam.service.bootstrap import build_missing_models, ensure_operator_data, ensure_sample_world

    settings = get_settings()
    engine = get_engine()
    migrate(engine)
    workbook = workbook or settings.workbook
    if workbook is not None:
        from naviyam.data.excel import ImportValidationError

        try:
            counts = ensure_operator_data(engine, workbook, console=console)
        except ImportValidationError as exc:
            console.print(f"[red]운영 데이터를 가져오지 못했어요 (아무것도 쓰지 않음): 문제 {len(exc.errors)}개[/red]")
            for e in exc.errors[:50]:
                console.print(f"  {e}")
            raise typer.Exit(1) from None
        if counts:
            console.print(f"운영 데이터를 가져왔어요 ({workbook}): {counts}")
        else:
            console.print(f"[yellow]데이터베이스에 이미 가게가 있어 {workbook}을(를) 가져오지 않았어요. 바뀐 내용은 "
                          "`naviyam data import`로 반영하고, 처음부터 다시 하려면 `make clean-var` 뒤에 실행하세요."
                          "[/yellow] (database already has shops)")
    else:
        counts = ensure_sample_world(engine, settings, console=console)
        if counts:
            console.print(f"sample world generated: {counts}")
        else:
            console.print("database already has shops; sample world not generated")
    for kind, version in build_missing_models(engine, settings, console=console).items():
        console.print(f"model {kind}: {version}")


def _http_protocol_base():
    try:
        import httptools  # noqa: F401

        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as base
    except ImportError:
        from uvicorn.protocols.http.h11_impl import H11Protocol as base
    return base


class NoDelayHTTPProtocol(_http_protocol_base()):
    """uvicorn's HTTP protocol with TCP_NODELAY on every connection.

    With ``--workers`` > 1 uvicorn binds the listening socket itself with
    protocol number 0, so asyncio does not recognise accepted connections as
    TCP and leaves Nagle's algorithm on: a response written in two parts
    (head, body) then waits for the client's delayed ACK, about 40 ms on every
    keep-alive request (measured: 48 ms instead of 4 ms for /health).
    """

    def connection_made(self, transport) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:  # pragma: no cover - a socket that is already gone
                pass
        super().connection_made(transport)


def log_config(level: str) -> dict:
    """uvicorn's logging plus the package's loggers, every handler redacting personal data, in every worker."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    cfg = copy.deepcopy(LOGGING_CONFIG)
    cfg["filters"] = {"redact": {"()": "naviyam.logging_filters.RedactingFilter"}}
    cfg["formatters"]["naviyam"] = {"format": "%(asctime)s %(levelname)s %(name)s [worker %(process)d]: %(message)s"}
    cfg["handlers"]["naviyam"] = {"class": "logging.StreamHandler", "formatter": "naviyam",
                                  "stream": "ext://sys.stderr"}
    for handler in cfg["handlers"].values():
        handler["filters"] = ["redact"]
    cfg["loggers"]["naviyam"] = {"handlers": ["naviyam"], "level": level.upper(), "propagate": False}
    return cfg


def serve(
    host: str = typer.Option(None, help="Bind address (default: settings)."),
    port: int = typer.Option(None, help="Port (default: settings)."),
    workers: int = typer.Option(1, help="Number of uvicorn worker processes (state is shared through the "
                                "database and Redis, so any worker continues any conversation)."),
    access_log: bool = typer.Option(True, help="Log every request (client address, method, path, status)."),
) -> None:
    """Start the HTTP API."""
    import uvicorn

    settings = get_settings()
    uvicorn.run(
        "naviyam.api.app:create_app", factory=True, host=host or settings.host, port=port or settings.port,
        workers=workers, log_level=settings.log_level.lower(), log_config=log_config(settings.log_level),
        access_log=access_log, http=NoDelayHTTPProtocol,
    )


def register(app: typer.Typer) -> None:
    app.command("setup")(setup)
    app.command("serve")(serve)
