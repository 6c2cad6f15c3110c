"""``naviyam train lora``, ``naviyam train lora-promote`` and ``naviyam data lora-data``: thin shells over
:mod:`naviyam.llm`.

Wire with ``register(train_app, data_app)``; ``data_app`` is optional.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from naviyam.core.clock import utcnow
from naviyam.core.registry import default_registry
from naviyam.db.session import get_engine
from naviyam.learning import lora_data
from naviyam.learning.lora_registry import promote_if_better, register_adapter
from naviyam.llm.backend import is_adapter_dir, read_adapter_meta
from naviyam.llm.lora import LoraTrainConfig, read_rows, train_lora
from naviyam.nlu.lexicon import Lexicon


def _console():
    c = Console()
    return c if c.is_terminal else Console(width=160)


def lora_cmd(
    base_model: Path = typer.Option(..., "--base-model", help="로컬 모델 폴더, 또는 증분 학습이면 이전 어댑터 "
                                    "폴더 (기본 모델은 어댑터에서 읽어요)."),
    data: Path | None = typer.Option(None, "--data", help="lora_training_data.jsonl "
                                        "(한 줄에 {task, instruction, input, output} 하나)."),
    incremental_data: Path | None = typer.Option(None, "--incremental-data", help="증분 학습에 쓸 "
                                                    "새 행; --data와 함께 또는 대신 써요."),
    output_dir: Path | None = typer.Option(None, "--output-dir", help="어댑터를 쓸 폴더. 기본: 모델 "
                                              "레지스트리의 새 `lora` 버전 폴더 (후보(candidate)로 등록)."),
    epochs: int = typer.Option(3, "--epochs", min=1, help="학습 반복 수(epochs)."),
    batch_size: int = typer.Option(4, "--batch-size", min=1, help="배치 크기(batch size)."),
    lr: float = typer.Option(1e-4, "--lr", "--learning-rate", help="학습률(learning rate, AdamW)."),
    r: int = typer.Option(16, "--r", min=1, help="LoRA 랭크(rank)."),
    alpha: int = typer.Option(32, "--alpha", min=1, help="LoRA 알파(alpha)."),
    dropout: float = typer.Option(0.1, "--dropout", min=0.0, max=0.9, help="LoRA 드롭아웃(dropout)."),
    target_modules: str = typer.Option("q_proj,k_proj,v_proj,o_proj", "--target-modules",
                                       help="LoRA 가중치를 붙일 모듈 이름 (쉼표로 구분)."),
    max_length: int = typer.Option(512, "--max-length", min=16, help="예시 하나의 최대 토큰 수 (프롬프트 + 답)."),
    val_fraction: float = typer.Option(0.1, "--val-fraction", min=0.0, max=0.5,
                                        help="perplexity를 잴 보류(held-out) 데이터 비율."),
    max_steps: int | None = typer.Option(None, "--max-steps", min=1, help="이만큼의 스텝(steps) 뒤에 멈춰요."),
    seed: int = typer.Option(42, "--seed", help="무작위 시드(random seed)."),
    device: str = typer.Option("auto", "--device", help="장치(device): auto, cpu, cuda 또는 cuda:N."),
    load_in_4bit: bool = typer.Option(False, "--4bit/--no-4bit",
                                      help="QLoRA: 기본 모델 가중치를 4비트로 (GPU + bitsandbytes)."),
    gradient_checkpointing: bool = typer.Option(False, "--gradient-checkpointing/--no-gradient-checkpointing",
                                                help="메모리를 아끼려고 그레이디언트 체크포인팅을 써요 (더 느려요)."),
) -> None:
    """로컬 언어 모델에 LoRA 어댑터를 파인튜닝해요 (fine-tune; 에폭마다 체크포인트, 검증 perplexity)."""
    rows = _lora_rows(data, incremental_data)
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
        register_adapter(registry, alloc, result, parent=parent, status="candidate")
        console.print(f"{alloc.version}을(를) 후보(candidate)로 등록했어요.")

    _print_lora_result(console, output_dir, result)


def _lora_rows(data: Path | None, incremental_data: Path | None) -> list:
    """The rows of --data and --incremental-data; a missing file exits 2 with a Korean message."""
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
    return rows


def _print_lora_result(console, output_dir: Path, result) -> None:
    """Per-epoch losses and perplexities, per-task perplexity, the best epoch and where it was saved."""
    t = Table(title=f"LoRA {output_dir}")
    for c in ("epoch", "steps", "train loss", "val perplexity"):
        t.add_column(c, justify="right")
    for e in result.metrics["epochs"]:
        ppl = e.get("val_perplexity")
        t.add_row(str(e["epoch"]), str(e["steps"]), f"{e['train_loss']:.4f}", "-" if ppl is None else f"{ppl:.3f}")
    console.print(t)
    vp = result.metrics.get("val_perplexity") or {}
    if vp.get("per_task"):
        console.print("작업(task)별 val perplexity: " + ", ".join(
            f"{k} {v:.3f}" for k, v in vp["per_task"].items() if v is not None))
    console.print(f"가장 좋은 epoch {result.metrics.get('best_epoch')} · {result.metrics['train_seconds']}초 "
                  f"· 저장 → {result.path}" + (" (증분 학습, incremental)" if result.incremental else ""))


def lora_promote_cmd(
    candidate: str = typer.Option(..., "--candidate", help="후보 어댑터의 레지스트리 버전."),
    heldout: Path = typer.Option(..., "--heldout", help="보류(held-out) 데이터 (lora_training_data.jsonl 형식)."),
    margin: float = typer.Option(0.0, "--margin", help="NLU 지표가 이만큼은 좋아져야 해요 (margin)."),
    metric: str = typer.Option("exact", "--metric", help="승격을 정하는 NLU 지표 (exact, slot_micro_f1, …)."),
    ppl_tolerance: float = typer.Option(0.05, "--ppl-tolerance", help="답변 perplexity가 상대적으로 이만큼까지 올라도 돼요."),
    max_cases: int = typer.Option(300, "--max-cases", min=1, help="생성할 보류(held-out) NLU 턴 수."),
    device: str = typer.Option("auto", "--device", help="장치(device): auto, cpu, cuda 또는 cuda:N."),
) -> None:
    """후보 어댑터를 운영 어댑터와 비교해 더 좋으면 승격 (Compare a candidate adapter with production; promote)."""
    out = promote_if_better(default_registry(), candidate, read_rows(heldout), margin=margin, metric=metric,
                            ppl_tolerance=ppl_tolerance, max_cases=max_cases, device=device)
    console = _console()
    console.print(("승격했어요: " if out["promoted"] else "운영 어댑터를 유지해요: ") + out["reason"])
    typer.echo(json.dumps({"promoted": out["promoted"], "reason": out["reason"],
                           "delta": out["comparison"]["delta"]}, ensure_ascii=False, default=str))


def lora_data_cmd(
    output: Path = typer.Option(Path("lora_training_data.jsonl"), "--output", "-o", help="쓸 파일."),
    nlu_examples: int = typer.Option(4000, "--nlu-examples", min=0, help="생성한 NLU 학습 데이터에서 가져올 행 수."),
    seed: int = typer.Option(13, "--seed", help="무작위 시드(random seed)."),
    conversations: bool = typer.Option(True, "--conversations/--no-conversations",
                                       help="데이터베이스의 좋은 대화를 더해요."),
    days: int = typer.Option(30, "--days", min=1, help="대화 기간: 최근 N일."),
    conversations_file: Path | None = typer.Option(None, "--conversations-file", help="데이터베이스 대신 내보낸 "
                                                      "conversations_*.jsonl 파일."),
    child_friendly: bool = typer.Option(True, "--child-friendly/--no-child-friendly",
                                        help="아이 눈높이 말투 쌍(child-friendly pairs)을 두 번째 작업으로 더해요."),
    child_pairs: Path | None = typer.Option(None, "--child-pairs", help="말투 쌍 파일 (기본: 패키지에 든 쌍)."),
    min_satisfaction: float = typer.Option(4.0, "--min-satisfaction", help="좋은 턴으로 칠 가장 낮은 만족도."),
) -> None:
    """NLU 데이터, 좋은 대화, 말투 쌍으로 LoRA 학습 데이터(lora_training_data.jsonl)를 만들어요."""
    rows = []
    counts = {}
    engine = None
    if nlu_examples or (conversations and conversations_file is None):
        engine = get_engine()
    if nlu_examples:
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
