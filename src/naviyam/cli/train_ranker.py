"""``naviyam train data`` and ``naviyam train ranker``: the ranker's training set and the ranker itself.

The lead's CLI module adds these to the ``train`` group with :func:`register`.
"""

from __future__ import annotations

import math
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from naviyam.cli.common import open_registry
from naviyam.config import get_settings
from naviyam.learning.ranker_gate import gate_ranker
from naviyam.progress import progress_reporter
from naviyam.recommend.ranker.pipeline import (
    default_dataset_dir,
    production_index,
    production_layer1_config,
    train_ranker,
)
from naviyam.recommend.ranker.trainer import RankerTrainConfig
from naviyam.recommend.training_data import TrainingDataConfig, build_training_set

console = Console()
err_console = Console(stderr=True)


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def data(
    out: Path = typer.Option(None, help="출력 폴더 (기본: <var_dir>/datasets/ranker)."),
    max_positives: int = typer.Option(12_000, help="쓸 정답(positive) 수, 기간에 고르게 뽑음 (0이면 모두)."),
    ranking_lists: int = typer.Option(400, help="후보 목록 전체를 평가용으로 남길 주문 수."),
    seed: int = typer.Option(0, help="무작위 시드(seed): 요청 흉내와 오답(negative) 뽑기."),
) -> None:
    """DB에서 랭커(ranker) 학습 데이터를 만들기: 시간 순 8:2로 나눈 CSV."""
    engine, registry = open_registry()
    folder = out or default_dataset_dir(get_settings())
    cfg = TrainingDataConfig(max_positives=max_positives, ranking_lists=ranking_lists, seed=seed)
    try:
        with progress_reporter(console) as report:
            rep = build_training_set(engine, folder, cfg, previous_index=production_index(registry),
                                     progress=report, layer1_config=production_layer1_config(registry))
    except (ValueError, LookupError) as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    table = Table(title=f"랭커 학습 데이터 (ranker training set) → {rep.folder}")
    table.add_column("항목")
    table.add_column("값", justify="right")
    for k, v in (("학습 행 (train rows)", rep.n_train), ("검증 행 (validation rows)", rep.n_val),
                 ("평가 목록 (떼어 둔 주문)", rep.n_ranking_lists),
                 ("정답: 주문", rep.positives["order"]),
                 ("정답: 찜", rep.positives["favorite"]),
                 ("정답: 4점 이상 리뷰", rep.positives["review"]),
                 ("Layer 1 밖의 정답 (유지)", rep.extra.get("outside_layer1", 0)),
                 ("이미 주문한 가게의 찜·리뷰 (건너뜀)", rep.extra.get("skipped_not_new", 0)),
                 ("시간 기준점 (cut-off)", f"{rep.cutoff:%Y-%m-%d %H:%M}"), ("걸린 초", f"{rep.seconds:.1f}")):
        table.add_row(k, f"{v:,}" if isinstance(v, int) else str(v))
    console.print(table)

def ranker(
    epochs: int = typer.Option(10, help="최대 학습 횟수(epochs)."),
    batch_size: int = typer.Option(256, help="미니배치 크기(batch size)."),
    lr: float = typer.Option(0.003, help="Adam 학습률(learning rate)."),
    patience: int = typer.Option(3, help="검증 성능이 이만큼의 epoch 동안 나아지지 않으면 멈춤 (early stopping)."),
    data_dir: Path = typer.Option(None, "--data", help="학습 데이터 폴더 (기본: <var_dir>/datasets/ranker)."),
    rebuild_data: bool = typer.Option(False, help="먼저 학습 데이터를 다시 만들기."),
    seed: int = typer.Option(0, help="무작위 시드(seed)."),
    loss: str = typer.Option("bce", help="손실 함수(loss): bce(하나씩) 또는 softmax(정답 하나 대 오답들)."),
    force: bool = typer.Option(False, "--force", help="운영 랭커가 더 좋아도 새 랭커를 운영에 올리기."),
) -> None:
    """Wide & Deep 랭커를 후보로 학습: 같은 평가 목록에서 운영보다 나을 때만 서비스에 올림."""
    settings = get_settings()
    engine, registry = open_registry()
    folder = data_dir or default_dataset_dir(settings)
    cfg = RankerTrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, patience=patience, seed=seed, loss=loss)
    production = registry.current("ranker")
    try:
        with progress_reporter(console) as report:
            def on_epoch(stats) -> None:
                report("epochs", stats.epoch, epochs)
                console.print(f"epoch {stats.epoch}: train loss {stats.train_loss:.4f}, val loss "
                              f"{stats.val_loss:.4f}, val AUC {stats.val_auc:.4f}, "
                              f"NDCG@10 {_fmt(stats.ranking.get('ndcg@10'))} ({stats.seconds:.1f}s)")

            mv, result, _ = train_ranker(engine, registry, folder, train_config=cfg, rebuild_data=rebuild_data,
                                         progress=report, on_epoch=on_epoch, status="candidate")
        gate = gate_ranker(registry, mv, result.metrics, folder, production_mv=production, force=force)
    except (ValueError, LookupError, FileNotFoundError) as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    table = Table(title=f"ranker {mv.version} (best epoch {result.best_epoch}): 같은 평가 목록에서 비교")
    table.add_column("metric")
    cols = [c for c in ("candidate", "production", "layer1", "popularity") if c in gate.table]
    names = {"candidate": f"후보 {mv.version[-6:]}", "production": f"운영 {(gate.production_version or '')[-6:]}",
             "layer1": "layer 1 order", "popularity": "popularity"}
    for col in cols:
        table.add_column(names[col], justify="right")
    for key, label in (("val_ndcg@10", "NDCG@10"), ("val_mrr", "MRR"), ("val_auc", "val AUC")):
        table.add_row(label, *(_fmt(gate.table[c].get(key)) for c in cols))
    console.print(table)
    if result.metrics.get("layer1_blend") is not None:
        console.print(f"Layer 1 혼합(layer1_blend) {result.metrics['layer1_blend']:g}: 평가 목록 NDCG@10 "
                      f"{_fmt(result.metrics.get('val_ndcg@10_before_blend'))} → "
                      f"{_fmt(result.metrics.get('val_ndcg@10'))} (0이면 학습한 그대로)")
    verdict = "[green]승격[/green]" if gate.promoted else "[yellow]유지[/yellow]"
    console.print(f"{verdict}: 지금 서비스하는 랭커는 {gate.serving_version}이에요.")
    for reason in gate.reasons:
        console.print(f"  - {reason}")
    console.print(f"저장 위치: {mv.path} (학습 곡선: training_curves.png), "
                  f"{result.seconds:.1f}초")


def register(train_app: typer.Typer) -> None:
    """Add ``data`` and ``ranker`` to the ``train`` command group."""
    train_app.command("data")(data)
    train_app.command("ranker")(ranker)
