"""``naviyam train lora``, ``naviyam train lora-promote`` and ``naviyam data lora-data``: thin shells over
:mod:`naviyam.llm`.

Wire with ``register(train_app, data_app)``; ``data_app`` is optional.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Optional

import typer


def _console():
    from rich.console import Console

    c = Console()
    return c if c.is_terminal else Console(width=160)


def lora_cmd(
    base_model: Path = typer.Option(..., "--base-model", help="Local model folder, or a previous adapter folder "
                                    "for an incremental run (its base model is read from the adapter)."),
    data: Optional[Path] = typer.Option(None, "--data", help="lora_training_data.jsonl "
                                        "({task, instruction, input, output} per line)."),
    incremental_data: Optional[Path] = typer.Option(None, "--incremental-data", help="New rows for an incremental "
                                                    "run (seed 47.B.3); used with or instead of --data."),
    output_dir: Optional[Path] = typer.Option(None, "--output-dir", help="Where to write the adapter. Default: a "
                                              "new `lora` version folder in the model registry (registered as a "
                                              "candidate)."),
    epochs: int = typer.Option(3, "--epochs", min=1),
    batch_size: int = typer.Option(4, "--batch-size", min=1),
    lr: float = typer.Option(1e-4, "--lr", "--learning-rate", help="Learning rate (AdamW)."),
    r: int = typer.Option(16, "--r", min=1, help="LoRA rank."),
    alpha: int = typer.Option(32, "--alpha", min=1, help="LoRA alpha."),
    dropout: float = typer.Option(0.1, "--dropout", min=0.0, max=0.9, help="LoRA dropout."),
    target_modules: str = typer.Option("q_proj,k_proj,v_proj,o_proj", "--target-modules",
                                       help="Comma-separated module names that get LoRA weights."),
    max_length: int = typer.Option(512, "--max-length", min=16, help="Tokens per example (prompt + answer)."),
    val_fraction: float = typer.Option(0.1, "--val-fraction", min=0.0, max=0.5, help="Held-out share for perplexity."),
    max_steps: Optional[int] = typer.Option(None, "--max-steps", min=1, help="Stop after this many steps."),
    seed: int = typer.Option(42, "--seed"),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or cuda:N."),
    load_in_4bit: bool = typer.Option(False, "--4bit/--no-4bit",
                                      help="QLoRA: 4-bit base weights (GPU + bitsandbytes)."),
    gradient_checkpointing: bool = typer.Option(False, "--gradient-checkpointing/--no-gradient-checkpointing"),
) -> None:
    """LoRA 파인튜닝 (Fine-tune a LoRA adapter on a local causal LM; checkpoints per epoch, validation perplexity)."""
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from naviyam.llm.backend import is_adapter_dir, read_adapter_meta
    from naviyam.llm.lora import LoraTrainConfig, read_rows, train_lora

    if data is None and incremental_data is None:
        typer.echo("--data 또는 --incremental-data 파일을 주세요.", err=True)
        raise typer.Exit(2)
    rows = []
    for p in (data, incremental_data):
        if p is not None:
            if not p.exists():
                typer.echo(f"파일이 없어요: {p}", err=True)
                raise typer.Exit(2)
            rows += read_rows(p)
    if not base_model.exists():
        typer.echo(f"모델 폴더가 없어요: {base_model}", err=True)
        raise typer.Exit(2)
    cfg = LoraTrainConfig(r=r, alpha=alpha, dropout=dropout,
                          target_modules=tuple(x.strip() for x in target_modules.split(",") if x.strip()),
                          epochs=epochs, batch_size=batch_size, lr=lr, max_length=max_length,
                          val_fraction=val_fraction, seed=seed, max_steps=max_steps, device=device,
                          load_in_4bit=load_in_4bit, gradient_checkpointing=gradient_checkpointing)
    console = _console()
    registry = alloc = None
    parent = read_adapter_meta(base_model).get("version") if is_adapter_dir(base_model) else None
    if output_dir is None:
        from naviyam.learning.registry import default_registry

        registry = default_registry()
        alloc = registry.allocate("lora")
        output_dir = alloc.path
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                  console=console) as progress:
        task = progress.add_task("LoRA 학습", total=1.0)

        def report(step: str, frac: float) -> None:
            progress.update(task, completed=min(max(frac, 0.0), 1.0), description=f"LoRA 학습: {step}")

        result = train_lora(base_model, rows, output_dir, cfg, progress=report,
                            version=alloc.version if alloc else None)
    if registry is not None and alloc is not None:
        from naviyam.llm.registry import register_adapter

        register_adapter(registry, alloc, result, parent=parent, status="candidate")
        console.print(f"registered {alloc.version} (candidate)")
    from rich.table import Table

    t = Table(title=f"LoRA {output_dir}")
    for c in ("epoch", "steps", "train loss", "val perplexity"):
        t.add_column(c, justify="right")
    for e in result.metrics["epochs"]:
        ppl = e.get("val_perplexity")
        t.add_row(str(e["epoch"]), str(e["steps"]), f"{e['train_loss']:.4f}", "-" if ppl is None else f"{ppl:.3f}")
    console.print(t)
    vp = result.metrics.get("val_perplexity") or {}
    if vp.get("per_task"):
        console.print("val perplexity per task: " + ", ".join(
            f"{k} {v:.3f}" for k, v in vp["per_task"].items() if v is not None))
    console.print(f"best epoch {result.metrics.get('best_epoch')} · {result.metrics['train_seconds']} s "
                  f"· saved → {result.path}" + (" (incremental)" if result.incremental else ""))


def lora_promote_cmd(
    candidate: str = typer.Option(..., "--candidate", help="Registry version of the candidate adapter."),
    heldout: Path = typer.Option(..., "--heldout", help="Held-out rows (lora_training_data.jsonl format)."),
    margin: float = typer.Option(0.0, "--margin", help="How much the NLU metric must improve."),
    metric: str = typer.Option("exact", "--metric", help="NLU metric that decides (exact, slot_micro_f1, …)."),
    ppl_tolerance: float = typer.Option(0.05, "--ppl-tolerance", help="Allowed relative rise of answer perplexity."),
    max_cases: int = typer.Option(300, "--max-cases", min=1, help="Held-out NLU turns to generate."),
    device: str = typer.Option("auto", "--device"),
) -> None:
    """후보 어댑터를 운영 어댑터와 비교해 더 좋으면 승격 (Compare a candidate adapter with production; promote)."""
    from naviyam.learning.registry import default_registry
    from naviyam.llm.lora import read_rows
    from naviyam.llm.registry import promote_if_better

    out = promote_if_better(default_registry(), candidate, read_rows(heldout), margin=margin, metric=metric,
                            ppl_tolerance=ppl_tolerance, max_cases=max_cases, device=device)
    console = _console()
    console.print(("승격했어요: " if out["promoted"] else "운영 어댑터를 유지해요: ") + out["reason"])
    typer.echo(json.dumps({"promoted": out["promoted"], "reason": out["reason"],
                           "delta": out["comparison"]["delta"]}, ensure_ascii=False, default=str))


def lora_data_cmd(
    output: Path = typer.Option(Path("lora_training_data.jsonl"), "--output", "-o", help="File to write."),
    nlu_examples: int = typer.Option(4000, "--nlu-examples", min=0, help="Rows from generated NLU training data."),
    seed: int = typer.Option(13, "--seed"),
    conversations: bool = typer.Option(True, "--conversations/--no-conversations",
                                       help="Add good conversations from the database."),
    days: int = typer.Option(30, "--days", min=1, help="Conversation window: the last N days."),
    conversations_file: Optional[Path] = typer.Option(None, "--conversations-file", help="An exported "
                                                      "conversations_*.jsonl instead of the database."),
    child_friendly: bool = typer.Option(True, "--child-friendly/--no-child-friendly",
                                        help="Add the child-friendly pairs as a second task."),
    child_pairs: Optional[Path] = typer.Option(None, "--child-pairs", help="Pairs file (default: packaged pairs)."),
    min_satisfaction: float = typer.Option(4.0, "--min-satisfaction", help="Lowest satisfaction of a good turn."),
) -> None:
    """LoRA 학습 데이터 만들기 (Write lora_training_data.jsonl from NLU data, good conversations and pairs)."""
    from naviyam.core.clock import utcnow
    from naviyam.llm import lora_data

    rows = []
    counts = {}
    engine = None
    if nlu_examples or (conversations and conversations_file is None):
        from naviyam.db.session import get_engine

        engine = get_engine()
    if nlu_examples:
        from naviyam.nlu.lexicon import Lexicon

        part = lora_data.nlu_rows(Lexicon.build(engine), nlu_examples, seed=seed)
        rows += part
        counts["nlu (generated)"] = len(part)
    if conversations:
        if conversations_file is not None:
            part = lora_data.conversation_rows(lora_data.read_jsonl(conversations_file), min_satisfaction)
        else:
            end = utcnow()
            part = lora_data.conversation_rows_from_db(engine, end - dt.timedelta(days=days), end, min_satisfaction)
        rows += part
        counts["nlu (good conversations)"] = len(part)
    if child_friendly:
        part = lora_data.child_friendly_rows(child_pairs)
        rows += part
        counts["child_friendly"] = len(part)
    n = lora_data.write_rows(rows, output)
    typer.echo(json.dumps({"output": str(output), "rows": n, "by_source": counts}, ensure_ascii=False))


def register(train_app: typer.Typer, data_app: typer.Typer | None = None) -> None:
    """Add ``lora`` and ``lora-promote`` to ``train_app`` (and ``lora-data`` to ``data_app`` when given)."""
    train_app.command("lora")(lora_cmd)
    train_app.command("lora-promote")(lora_promote_cmd)
    if data_app is not None:
        data_app.command("lora-data")(lora_data_cmd)
