"""``naviyam chat``: the same chat service as ``POST /chat``, in the terminal."""

from __future__ import annotations

import atexit
import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from naviyam.cli.common import open_db
from naviyam.config import get_settings
from naviyam.service.chat import ChatRequest
from naviyam.service.runtime import Runtime

console = Console()


def chat(
    user_id: int = typer.Option(None, "--user", help="사용자 id (빼면 익명 사용자)."),
    lat: float = typer.Option(None, help="사용자 위치의 위도(latitude)."),
    lon: float = typer.Option(None, help="사용자 위치의 경도(longitude)."),
    message: list[str] = typer.Option(None, "--message", "-m",
                                      help="입력을 기다리지 않고 이 메시지들을 보내고 끝내요 (여러 번 쓸 수 있어요)."),
    debug: bool = typer.Option(False, "--debug", help="NLU JSON과 가게마다 퍼널(funnels)·점수(score)를 보여요."),
) -> None:
    """터미널에서 나비얌과 대화해요 (빈 줄, 'exit' 또는 Ctrl-D로 끝)."""
    engine = open_db()
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
        if reply.privacy_notice:
            console.print(f"[dim]({reply.privacy_notice})[/dim]", markup=True)
        if debug:
            show_debug(reply)

    if message:
        for text in message:
            console.print(f"[bold cyan]나[/bold cyan]: {text}")
            turn(text)
        return
    console.print("나비얌과 이야기해 보세요. (끝내려면 빈 줄이나 exit, ↑/↓로 보낸 말 다시 보기)")
    _enable_history()
    while True:
        try:
            text = console.input("[bold cyan]나[/bold cyan]: ").strip()
        except (EOFError, KeyboardInterrupt):
            break
        if not text or text.lower() in {"exit", "quit", "종료"}:
            break
        turn(text)


def show_debug(reply) -> None:
    """What ``--debug`` prints: the NLU object, then each shop's funnels and score (the API's ?debug=true)."""
    console.print("[dim]NLU:[/dim]")
    console.print(json.dumps(reply.nlu, ensure_ascii=False, indent=1), markup=False)
    if reply.relaxed_filters:
        console.print(f"[dim]완화한 조건: {', '.join(reply.relaxed_filters)}[/dim]")
    if reply.recommendations:
        table = Table(title=f"추천 근거 ({reply.path or '-'})")
        for col in ("가게", "점수", "퍼널(funnels)"):
            table.add_column(col)
        for r in reply.recommendations:
            funnels = ", ".join(f"{k} {v:.2f}" for k, v in sorted((r.get("funnels") or {}).items()))
            score = r.get("score")
            table.add_row(f"{r.get('name')} ({r.get('shop_id')})", "-" if score is None else f"{score:.3f}", funnels)
        console.print(table)


def _enable_history() -> None:
    """Arrow-key history for the prompt (readline), kept in ~/.naviyam_chat_history when it can be."""
    try:
        import readline  # lazy: not on every platform (the chat works without history)

        path = Path.home() / ".naviyam_chat_history"
        try:
            readline.read_history_file(path)
        except OSError:
            pass
        readline.set_history_length(500)
        atexit.register(lambda: _save_history(readline, path))
    except ImportError:  # pragma: no cover - no readline on this platform: no history, still a prompt
        pass


def _save_history(readline, path) -> None:
    try:
        readline.write_history_file(path)
    except OSError:
        pass
