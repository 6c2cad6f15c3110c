"""Rich progress bars for long work, as a plain ``report(stage, done, total)`` callable."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

#: ``report(stage, done, total)``: counted work (rows, epochs, documents).
Reporter = Callable[[str, int, int], None]
#: ``report(stage, fraction)``: work measured as a share done (0..1), e.g. model training.
FractionReporter = Callable[[str, float], None]


@contextmanager
def progress_reporter(console: Console | None = None) -> Iterator[Reporter]:
    """Yield ``report(stage, done, total)``; each new stage gets its own bar."""
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console or Console()) as progress:
        tasks: dict[str, int] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done, total=total)

        yield report
