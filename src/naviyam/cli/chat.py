"""``naviyam chat``: the same chat service as ``POST /chat``, in the terminal."""

from __future__ import annotations

import typer
from rich.console import Console

console = Console()


def chat(
    user_id: int = typer.Option(None, "--user", help="User id (omit for an anonymous user)."),
    lat: float = typer.Option(None, help="Latitude of the user."),
    lon: float = typer.Option(None, help="Longitude of the user."),
    message: list[str] = typer.Option(None, "--message", "-m",
                                      help="Send these messages and exit (repeatable) instead of reading input."),
) -> None:
    """Talk to Naviyam in the terminal (empty line, 'exit' or Ctrl-D ends)."""
    from naviyam.config import get_settings
    from naviyam.db.session import get_engine, migrate
    from naviyam.service.chat import ChatRequest
    from naviyam.service.runtime import Runtime

    engine = get_engine()
    migrate(engine)
    with console.status("모델을 불러오는 중..."):
        service = Runtime.load(engine, get_settings()).chat_service()
    session_id = None

    def turn(text: str) -> None:
        nonlocal session_id
        reply = service.chat(ChatRequest(message=text, user_id=user_id, session_id=session_id, lat=lat, lon=lon))
        session_id = reply.session_id
        console.print(f"[bold yellow]나비얌[/bold yellow]: {reply.response}")
        if reply.recommendations:
            console.print(service.writer.cards_text(reply.recommendations), markup=False)
        if reply.follow_up_questions:
            console.print("[dim]예: " + " / ".join(reply.follow_up_questions) + "[/dim]")

    if message:
        for text in message:
            console.print(f"[bold cyan]나[/bold cyan]: {text}")
            turn(text)
        return
    console.print("나비얌과 이야기해 보세요. (끝내려면 빈 줄이나 exit)")
    while True:
        try:
            text = console.input("[bold cyan]나[/bold cyan]: ").strip()
        except (EOFError, KeyboardInterrupt):
            break
        if not text or text.lower() in {"exit", "quit", "종료"}:
            break
        turn(text)
