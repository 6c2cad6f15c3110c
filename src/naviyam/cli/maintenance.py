"""``naviyam maintenance ...``: the nightly jobs that keep personal data within its limits."""

from __future__ import annotations

import typer
from rich.console import Console

from naviyam.config import get_settings

console = Console()
app = typer.Typer(no_args_is_help=True)


@app.command("retention")
def retention(
    days: int = typer.Option(None, help="Keep this many days (default: NAVIYAM_RETENTION_DAYS; 0 keeps all)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only count what would be deleted."),
) -> None:
    """Delete conversations, dialogue states and feedback older than the retention period (run nightly)."""
    from naviyam.db.session import get_engine
    from naviyam.service.privacy import apply_retention

    keep = get_settings().retention_days if days is None else days
    if keep < 0:
        raise typer.BadParameter("days must be >= 0")
    if keep == 0:
        console.print("retention is off (0 days): nothing deleted")
        return
    erased = apply_retention(get_engine(), keep, dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    console.print(f"retention {keep} days: {verb} {erased.interactions} interactions, "
                  f"{erased.chat_sessions} chat sessions, {erased.feedback_events} feedback events")


@app.command("erase-user")
def erase_user(user_id: int = typer.Argument(..., help="The user whose conversations and feedback go.")) -> None:
    """Erase one user's conversations, dialogue states and feedback (same as DELETE /users/{id}/data)."""
    from naviyam.db.session import get_engine
    from naviyam.service.privacy import erase_user_data

    erased = erase_user_data(get_engine(), user_id)
    console.print(f"user {user_id}: deleted {erased.interactions} interactions, {erased.chat_sessions} chat "
                  f"sessions, {erased.feedback_events} feedback events")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="maintenance", help="Nightly jobs: conversation retention, erasing a user's data.")
