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

from naviyam.cli.common import open_registry
from naviyam.cli.days import parse_day
from naviyam.config import get_settings
from naviyam.core.clock import day_bounds_utc
from naviyam.learning.incremental import IncrementalDataConfig
from naviyam.learning.learn import LearnConfig, run_learning
from naviyam.learning.store import export_learning_data
from naviyam.recommend.ranker.finetune import FineTuneConfig

console = Console()
err_console = Console(stderr=True)
app = typer.Typer(no_args_is_help=True, help="학습 데이터: 대화와 피드백을 JSONL로 내보내기(export).")


@app.command("export")
def export(
    start: str = typer.Option(..., "--start", help="첫날 (YYYY-MM-DD, 서비스 시간대 기준, 포함)."),
    end: str = typer.Option(..., "--end", help="마지막 날 (YYYY-MM-DD, 서비스 시간대 기준, 포함)."),
    out: Path = typer.Option(Path("outputs/learning_data"), "--out", help="출력 폴더."),
) -> None:
    """기간 안의 conversations_*.jsonl과 feedbacks_*.jsonl을 써요."""
    first, last = parse_day(start, "--start"), parse_day(end, "--end")
    if last < first:
        err_console.print("[red]--end는 --start보다 같거나 뒤여야 해요.[/red]")
        raise typer.Exit(2)
    engine, _ = open_registry()
    # Days are the operator's calendar days (Seoul), stored timestamps are UTC.
    res = export_learning_data(engine, out, day_bounds_utc(first)[0], day_bounds_utc(last)[1],
                               tag=f"{first:%Y%m%d}_{last + dt.timedelta(days=1):%Y%m%d}")
    console.print(f"대화 {res.n_conversations}개 → {res.conversations}")
    console.print(f"피드백 {res.n_feedbacks}개 → {res.feedbacks}")


def learn(
    window_days: int = typer.Option(28, help="증분 학습 데이터에 쓸 상호작용·피드백의 날짜 수(window)."),
    epochs: int = typer.Option(2, help="후보 랭커(ranker)를 미세 조정할 에폭(epochs) 수."),
    lr: float = typer.Option(0.0005, help="미세 조정 학습률(learning rate)."),
    replay_rows: int = typer.Option(30000, help="랭커의 원래 학습 데이터에서 다시 학습할 최대 행 수(replay rows; 새 행의 4배까지)."),
    nlu: bool = typer.Option(True, "--nlu/--no-nlu", help="좋은 대화로 NLU도 다시 학습해요."),
    lora: bool = typer.Option(True, "--lora/--no-lora",
                              help="LLM 경로가 켜져 있으면(NAVIYAM_LLM_ENABLED) 좋은 대화로 LoRA 어댑터도 학습해요."),
    nlu_examples: int = typer.Option(0, help="생성할 NLU 문장 수 (0: 운영 NLU와 같은 수)."),
    nlu_epochs: int = typer.Option(0, help="NLU 학습 반복 수(epochs) (0: 운영 NLU와 같게)."),
    promote: bool = typer.Option(True, "--promote/--no-promote",
                                 help="관문(gate)을 통과한 후보를 운영에 올려요 (A/B 테스트 중에는 올리지 않아요)."),
    force: bool = typer.Option(False, help="새 피드백이 없어도 학습해요."),
) -> None:
    """증분 학습 (incremental): 새 피드백 → 후보 랭커·NLU → 비교 → 승격 또는 유지."""
    settings = get_settings()
    engine, registry = open_registry()
    cfg = LearnConfig.from_settings(
        settings, data=IncrementalDataConfig(window_days=window_days), finetune=FineTuneConfig(epochs=epochs, lr=lr),
        replay_rows=replay_rows, train_nlu=nlu, train_lora=lora, nlu_examples=nlu_examples or None, nlu_epochs=nlu_epochs or None,
        promote="auto" if promote else "never", force=force)
    t0 = time.perf_counter()
    report = run_learning(engine, registry, cfg, say=lambda m: console.print(m, markup=False))
    if report.models:
        table = Table(title="증분 학습 결과")
        for col in ("모델", "후보", "결과", "비교 지표", "후보", "운영", "시간(초)"):
            table.add_column(col)
        for m in report.models:
            d = m.decision or {}
            table.add_row(m.kind, m.version or "-", m.status, d.get("metric", "-"), _score(d.get("candidate")),
                          _score(d.get("production")), f"{m.seconds:.1f}")
        console.print(table)
    console.print(f"걸린 시간 {time.perf_counter() - t0:.1f}초 (학습 기록 #{report.run_id})")
    if report.status == "failed":
        raise typer.Exit(1)


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"
