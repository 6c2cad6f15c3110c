"""``naviyam eval ranker``: the operator's temporal hold-out, every method side by side (full ranking).

A thin shell over :func:`naviyam.recommend.offline_eval.run_eval_ranker`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from naviyam.cli.common import open_registry
from naviyam.config import get_settings
from naviyam.recommend.offline_eval import run_eval_ranker
from naviyam.recommend.ranker.trainer import RankerTrainConfig
from naviyam.recommend.training_data import TrainingDataConfig

console = Console()
err_console = Console(stderr=True)

COLUMNS = (("ndcg@10", "NDCG@10"), ("recall@10", "Recall@10"), ("mrr", "MRR"), ("recall@100", "Recall@100"),
           ("auc", "AUC"), ("coverage", "커버리지"), ("meal_card_share", "급식카드"), ("good_shop_share", "착한가게"),
           ("diversity", "다양성"))


def _fmt(v) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.4f}"


def ranker(
    days: int = typer.Option(14, "--days", help="평가용으로 떼어 둘 마지막 날 수."),
    as_json: bool = typer.Option(False, "--json", help="마지막 줄에 JSON 한 줄 {method: {metric: value}} 출력."),
    out: Path = typer.Option(None, "--out", help="보고서 폴더 (기본: <var_dir>/reports/ranker_eval)."),
    epochs: int = typer.Option(10, help="임시 랭커의 최대 학습 횟수(epochs)."),
    max_positives: int = typer.Option(12_000, help="임시 랭커 학습 데이터의 정답(positive) 수."),
    seed: int = typer.Option(0, help="무작위 시드(seed)."),
) -> None:
    """마지막 며칠을 떼어 두고 나머지로 임시 모델을 학습해 인기순·item-kNN·ALS와 비교 (운영 모델은 그대로)."""
    settings = get_settings()
    engine, registry = open_registry()
    folder = out or settings.var_dir / "reports" / "ranker_eval"
    try:
        with console.status(f"마지막 {days}일을 남기고 임시 모델을 학습하는 중…"):
            rep = run_eval_ranker(engine, registry, days=days, out_dir=folder, seed=seed,
                                  train_config=RankerTrainConfig(epochs=epochs, seed=seed),
                                  data_config=TrainingDataConfig(max_positives=max_positives, seed=seed))
    except (ValueError, LookupError) as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    table = Table(title=f"전체 순위 평가: {rep.cutoff:%Y-%m-%d %H:%M} 이후 {rep.days}일, 사용자 {rep.n_users}명")
    table.add_column("방법")
    for _key, label in COLUMNS:
        table.add_column(label, justify="right")
    summary = rep.summary()
    for method, vals in summary.items():
        table.add_row(method, *(_fmt(vals.get(k)) for k, _ in COLUMNS))
    console.print(table)
    console.print(f"보고서: {rep.files.get('markdown')} (그래프 {rep.files.get('chart')})")
    if as_json:
        print(json.dumps(summary, ensure_ascii=False))


def register(eval_app: typer.Typer) -> None:
    """Add ``ranker`` to the ``eval`` command group."""
    eval_app.command("ranker")(ranker)
