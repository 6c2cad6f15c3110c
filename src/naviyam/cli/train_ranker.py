"""``naviyam train data`` and ``naviyam train ranker``: the ranker's training set and the ranker itself.

The lead's CLI module adds these to the ``train`` group with :func:`register`.
"""

from __future__ import annotations

import math
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

console = Console()
err_console = Console(stderr=True)


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def register(train_app: typer.Typer) -> None:
    """Add ``data`` and ``ranker`` to the ``train`` command group."""

    @train_app.command("data")
    def data(
        out: Path = typer.Option(None, help="Output folder (default: <var_dir>/datasets/ranker)."),
        max_positives: int = typer.Option(12_000, help="Positives used, sampled evenly over time (0 = all)."),
        ranking_lists: int = typer.Option(400, help="Held-out orders whose whole candidate list is kept."),
        seed: int = typer.Option(0, help="Random seed (simulated requests, negative sampling)."),
    ) -> None:
        """Build the ranker's training set from the database (seed 45.B): CSVs split 8:2 by time."""
        from naviyam.config import get_settings
        from naviyam.db.session import get_engine, migrate
        from naviyam.progress import progress_reporter
        from naviyam.learning.registry import ModelRegistry
        from naviyam.recommend.ranker.pipeline import (
            default_dataset_dir,
            production_index,
            production_layer1_config,
        )
        from naviyam.recommend.training_data import TrainingDataConfig, build_training_set

        engine = get_engine()
        migrate(engine)
        registry = ModelRegistry(engine, get_settings().models_dir)
        folder = out or default_dataset_dir(get_settings())
        cfg = TrainingDataConfig(max_positives=max_positives, ranking_lists=ranking_lists, seed=seed)
        try:
            with progress_reporter(console) as report:
                rep = build_training_set(engine, folder, cfg, previous_index=production_index(registry),
                                         progress=report, layer1_config=production_layer1_config(registry))
        except (ValueError, LookupError) as exc:
            err_console.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from None
        table = Table(title=f"ranker training set → {rep.folder}")
        table.add_column("item")
        table.add_column("value", justify="right")
        for k, v in (("train rows", rep.n_train), ("validation rows", rep.n_val),
                     ("ranking lists (held-out orders)", rep.n_ranking_lists),
                     ("positives: orders", rep.positives["order"]),
                     ("positives: favourites", rep.positives["favorite"]),
                     ("positives: reviews >= 4", rep.positives["review"]),
                     ("positives outside Layer 1 (kept)", rep.extra.get("outside_layer1", 0)),
                     ("favourites/reviews of shops already ordered (skipped)", rep.extra.get("skipped_not_new", 0)),
                     ("time cut-off", f"{rep.cutoff:%Y-%m-%d %H:%M}"), ("seconds", f"{rep.seconds:.1f}")):
            table.add_row(k, f"{v:,}" if isinstance(v, int) else str(v))
        console.print(table)

    @train_app.command("ranker")
    def ranker(
        epochs: int = typer.Option(10, help="Maximum epochs."),
        batch_size: int = typer.Option(256, help="Mini-batch size."),
        lr: float = typer.Option(0.003, help="Adam learning rate."),
        patience: int = typer.Option(3, help="Stop after this many epochs without a better validation AUC."),
        data_dir: Path = typer.Option(None, "--data", help="Training-set folder (default: <var_dir>/datasets/ranker)."),
        rebuild_data: bool = typer.Option(False, help="Rebuild the training set first."),
        seed: int = typer.Option(0, help="Random seed."),
        loss: str = typer.Option("bce", help="bce (pointwise) or softmax (a positive against its negatives)."),
        force: bool = typer.Option(False, "--force", help="Promote the new ranker even if production is better."),
    ) -> None:
        """Train the Wide & Deep ranker as a candidate; it serves only if it beats production on the same hold-out."""
        from naviyam.config import get_settings
        from naviyam.db.session import get_engine, migrate
        from naviyam.learning.registry import ModelRegistry
        from naviyam.progress import progress_reporter
        from naviyam.learning.ranker_gate import gate_ranker
        from naviyam.recommend.ranker.pipeline import default_dataset_dir, train_ranker
        from naviyam.recommend.ranker.trainer import TrainConfig

        settings = get_settings()
        engine = get_engine()
        migrate(engine)
        registry = ModelRegistry(engine, settings.models_dir)
        folder = data_dir or default_dataset_dir(settings)
        cfg = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, patience=patience, seed=seed, loss=loss)
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
        verdict = "[green]승격[/green]" if gate.promoted else "[yellow]유지[/yellow]"
        console.print(f"{verdict}: 지금 서비스하는 랭커는 {gate.serving_version}이에요.")
        for reason in gate.reasons:
            console.print(f"  - {reason}")
        console.print(f"saved to {mv.path} (training curves: training_curves.png), "
                      f"{result.seconds:.1f}s")
