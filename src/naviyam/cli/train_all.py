"""``naviyam train all``: rebuild every model that is missing or older than the operator's data."""

from __future__ import annotations

import typer
from rich.console import Console

from naviyam.cli.common import open_registry
from naviyam.config import get_settings
from naviyam.service.bootstrap import build_missing_models, models_to_build

console = Console()


def train_all(force: bool = typer.Option(False, "--force", help="최신이든 아니든 모든 모델을 다시 만들어요.")) -> None:
    """없거나 오래된 NLU, Layer 1 인덱스(index), 랭커(ranker)를 다시 만들어요 (`setup`과 같은 일)."""
    settings = get_settings()
    engine, registry = open_registry()
    todo = models_to_build(registry, force=force)
    if not todo:
        console.print("모든 모델이 지금 데이터로 학습되어 있어요. 다시 만들 것이 없어요.")
        return
    for kind, version in build_missing_models(engine, settings, console=console, force=force).items():
        console.print(f"{kind}: {version}" + (f"  ← {todo[kind]}" if kind in todo else " (그대로)"))


def register(train_app: typer.Typer) -> None:
    train_app.command("all")(train_all)
