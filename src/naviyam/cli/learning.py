"""``naviyam learning export`` and ``naviyam learn``: learning data out of the database, incremental training.

A thin shell over :mod:`naviyam.learning.store` and :mod:`naviyam.learning.learn`.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

console = Console()
err_console = Console(stderr=True)
app = typer.Typer(no_args_is_help=True, help="Learning data: export interactions and feedback (JSONL).")


def _engine_and_registry():
    from naviyam.config import get_settings
    from naviyam.db.session import get_engine, migrate
    from naviyam.learning.registry import ModelRegistry

    engine = get_engine()
    migrate(engine)
    return engine, ModelRegistry(engine, get_settings().models_dir)


def _day(value: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        err_console.print(f"[red]{option}: 날짜는 YYYY-MM-DD 형식이어야 해요 ({value!r}).[/red]")
        raise typer.Exit(2) from None


@app.command("export")
def export(
    start: str = typer.Option(..., "--start", help="First day (YYYY-MM-DD, the service's time zone), included."),
    end: str = typer.Option(..., "--end", help="Last day (YYYY-MM-DD, the service's time zone), included."),
    out: Path = typer.Option(Path("outputs/learning_data"), "--out", help="Output folder."),
) -> None:
    """Write conversations_*.jsonl and feedbacks_*.jsonl (seed 46.C) for a date range."""
    from naviyam.core.clock import day_bounds_utc
    from naviyam.learning.store import export_learning_data

    first, last = _day(start, "--start"), _day(end, "--end")
    if last < first:
        err_console.print("[red]--end는 --start보다 같거나 뒤여야 해요.[/red]")
        raise typer.Exit(2)
    engine, _ = _engine_and_registry()
    # Days are the operator's calendar days (Seoul), stored timestamps are UTC.
    res = export_learning_data(engine, out, day_bounds_utc(first)[0], day_bounds_utc(last)[1],
                               tag=f"{first:%Y%m%d}_{last + dt.timedelta(days=1):%Y%m%d}")
    console.print(f"대화 {res.n_conversations}개 → {res.conversations}")
    console.print(f"피드백 {res.n_feedbacks}개 → {res.feedbacks}")


def learn(
    window_days: int = typer.Option(28, help="Days of interactions and feedback the incremental data uses."),
    epochs: int = typer.Option(2, help="Fine-tuning epochs of the candidate ranker."),
    lr: float = typer.Option(0.0005, help="Fine-tuning learning rate."),
    replay_rows: int = typer.Option(3000, help="Rows of the ranker's original training set trained on again."),
    nlu: bool = typer.Option(True, "--nlu/--no-nlu", help="Retrain the NLU on good conversations too."),
    nlu_examples: int = typer.Option(0, help="Generated NLU sentences (0: as many as the production NLU)."),
    nlu_epochs: int = typer.Option(0, help="NLU training passes (0: as the production NLU)."),
    promote: bool = typer.Option(True, "--promote/--no-promote",
                                 help="Promote candidates that pass the gate (never while an A/B test runs)."),
    force: bool = typer.Option(False, help="Train even without new feedback."),
) -> None:
    """Incremental training (seed 47.B): new feedback → candidate ranker and NLU → compare → promote or keep."""
    from naviyam.config import get_settings
    from naviyam.learning.incremental import IncrementalDataConfig
    from naviyam.learning.learn import LearnConfig, run_learning
    from naviyam.recommend.ranker.finetune import FineTuneConfig

    settings = get_settings()
    engine, registry = _engine_and_registry()
    cfg = LearnConfig.from_settings(
        settings, data=IncrementalDataConfig(window_days=window_days), finetune=FineTuneConfig(epochs=epochs, lr=lr),
        replay_rows=replay_rows, train_nlu=nlu, nlu_examples=nlu_examples or None, nlu_epochs=nlu_epochs or None,
        promote="auto" if promote else "never", force=force)
    t0 = time.perf_counter()
    report = run_learning(engine, registry, cfg, say=lambda m: console.print(m, markup=False))
    if report.models:
        table = Table(title="증분 학습 결과")
        for col in ("모델", "후보", "결과", "비교 지표", "후보", "운영", "시간(초)"):
            table.add_column(col)
        for m in report.models:
            d = m.decision or {}
            fmt = (lambda v: "-" if v is None else f"{v:.4f}")
            table.add_row(m.kind, m.version or "-", m.status, d.get("metric", "-"), fmt(d.get("candidate")),
                          fmt(d.get("production")), f"{m.seconds:.1f}")
        console.print(table)
    console.print(f"걸린 시간 {time.perf_counter() - t0:.1f}초 (학습 기록 #{report.run_id})")
    if report.status == "failed":
        raise typer.Exit(1)
