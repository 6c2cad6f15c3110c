"""LoRA fine-tuning of a local causal LM with PEFT.

Rows are the seed's ``{"instruction", "input", "output"}`` objects (plus a
``task`` name: ``nlu`` or ``child_friendly``; see :mod:`naviyam.learning.lora_data`).
Each row is rendered with :func:`naviyam.llm.prompts.render_prompt` — the same
layout the backend uses at inference — and the loss counts only the output
tokens (the prompt is masked with -100), ending with the end-of-sequence token.

Defaults follow the seed: r=16, alpha=32, dropout 0.1 on the attention
projections (q/k/v/o; configurable), 3 epochs, batch 4, learning rate 1e-4,
AdamW. A share of the rows (10 %) is held out: after every epoch the mean
token loss on it gives the validation perplexity ``exp(loss)`` (overall and per
task), and the adapter is saved as ``checkpoint-epoch-N``; the best epoch (by
validation perplexity; the last when there is no validation split) is saved
at the top of the output folder with ``naviyam_lora.json`` (base model, prompt
style, config, metrics).

Incremental run (47.B.3): pass an adapter folder as ``base_model``; the base
model named in its metadata (or its PEFT config) is loaded with the adapter,
which keeps training on the new rows.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import random
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from naviyam.core.clock import now as clock_now
from naviyam.llm.backend import (
    ADAPTER_META,
    adapter_base_model,
    is_adapter_dir,
    load_model_and_tokenizer,
    read_adapter_meta,
)
from naviyam.llm.prompts import output_text, render_prompt, resolve_style
from naviyam.progress import FractionReporter

log = logging.getLogger(__name__)

DEFAULT_TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj")
IGNORE_INDEX = -100



@dataclass
class LoraTrainConfig:
    r: int = 16
    alpha: int = 32
    dropout: float = 0.1
    target_modules: tuple[str, ...] = DEFAULT_TARGET_MODULES
    epochs: int = 3
    batch_size: int = 4
    lr: float = 1e-4
    weight_decay: float = 0.0
    max_length: int = 512
    val_fraction: float = 0.1
    seed: int = 42
    max_steps: int | None = None
    prompt_style: str = "auto"
    device: str = "auto"
    dtype: str = "auto"
    load_in_4bit: bool = False
    gradient_checkpointing: bool = False
    save_checkpoints: bool = True

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["target_modules"] = list(self.target_modules)
        return d


@dataclass
class LoraRunResult:
    path: Path
    metrics: dict[str, Any]
    history: list[float] = field(default_factory=list)  # training loss per step
    incremental: bool = False
    parent: str | None = None


# ---------------------------------------------------------------- data


def read_rows(path: Path | str) -> list[dict[str, Any]]:
    rows = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        row = json.loads(line)
        if not isinstance(row, dict) or not {"instruction", "input", "output"} <= set(row):
            raise ValueError(f"{path}:{n}: expected an object with instruction, input and output")
        rows.append(row)
    return rows


def split_rows(rows: list[dict[str, Any]], val_fraction: float, seed: int) -> tuple[list[dict], list[dict]]:
    """(train, validation): a seeded shuffle; every task keeps at least one training row."""
    if val_fraction <= 0 or len(rows) < 2:
        return list(rows), []
    rng = random.Random(seed)
    by_task: dict[str, list[dict]] = {}
    for r in rows:
        by_task.setdefault(str(r.get("task", "nlu")), []).append(r)
    train, val = [], []
    for task in sorted(by_task):
        items = by_task[task][:]
        rng.shuffle(items)
        k = int(round(len(items) * val_fraction))
        k = min(k, len(items) - 1)
        val += items[:k]
        train += items[k:]
    rng.shuffle(train)
    return train, val


def encode_row(tokenizer: Any, row: dict[str, Any], style: str, max_length: int) -> dict[str, list[int]]:
    """input_ids and labels (prompt masked) for one row; the prompt is cut from the left when too long."""
    prompt = render_prompt(tokenizer, row["instruction"], str(row["input"]), style)
    special = resolve_style(tokenizer, style) != "chat"
    p_ids = tokenizer(prompt, add_special_tokens=special)["input_ids"]
    o_ids = tokenizer(output_text(row["output"]), add_special_tokens=False)["input_ids"]
    if tokenizer.eos_token_id is not None:
        o_ids = o_ids + [tokenizer.eos_token_id]
    o_ids = o_ids[:max_length // 2] if len(o_ids) > max_length // 2 and len(p_ids) > max_length // 2 else o_ids
    room = max_length - len(o_ids)
    if len(p_ids) > room:
        p_ids = p_ids[len(p_ids) - max(room, 1):]
    ids = (p_ids + o_ids)[:max_length]
    labels = ([IGNORE_INDEX] * len(p_ids) + o_ids)[:max_length]
    return {"input_ids": ids, "labels": labels}


def collate(batch: list[dict[str, list[int]]], pad_id: int):
    import torch  # lazy: torch loads in seconds and only training and the LLM path need it

    n = max(len(b["input_ids"]) for b in batch)
    ids = torch.full((len(batch), n), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), n), IGNORE_INDEX, dtype=torch.long)
    mask = torch.zeros((len(batch), n), dtype=torch.long)
    for i, b in enumerate(batch):
        k = len(b["input_ids"])
        ids[i, :k] = torch.tensor(b["input_ids"])
        labels[i, :k] = torch.tensor(b["labels"])
        mask[i, :k] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


# ---------------------------------------------------------------- model


def lora_config(cfg: LoraTrainConfig):
    from peft import LoraConfig, TaskType  # lazy: the optional LLM path only

    return LoraConfig(r=cfg.r, lora_alpha=cfg.alpha, lora_dropout=cfg.dropout,
                      target_modules=list(cfg.target_modules), bias="none", task_type=TaskType.CAUSAL_LM)


def load_for_training(base_model: Path | str, cfg: LoraTrainConfig):
    """(peft model, tokenizer, device, base model path, parent adapter meta or None)."""
    from peft import PeftModel, get_peft_model  # lazy: the optional LLM path only

    base_model = Path(base_model)
    parent = None
    if is_adapter_dir(base_model):
        base = adapter_base_model(base_model)
        if not base:
            raise ValueError(f"{base_model} is an adapter without a base model in its config")
        parent = {"path": str(base_model), **read_adapter_meta(base_model)}
        model, tok, device = load_model_and_tokenizer(base, device=cfg.device, dtype=cfg.dtype,
                                                      load_in_4bit=cfg.load_in_4bit, for_training=True)
        model = PeftModel.from_pretrained(model, str(base_model), is_trainable=True, local_files_only=True)
        if parent.get("prompt_style"):
            cfg.prompt_style = parent["prompt_style"]
        base_path = Path(base)
    else:
        model, tok, device = load_model_and_tokenizer(base_model, device=cfg.device, dtype=cfg.dtype,
                                                      load_in_4bit=cfg.load_in_4bit, for_training=True)
        model = get_peft_model(model, lora_config(cfg))
        base_path = base_model
    if cfg.gradient_checkpointing:
        model.gradient_checkpointing_enable()
        model.enable_input_require_grads()
    return model, tok, device, base_path, parent


class LoraTrainer:
    """The training loop on a PEFT model: :meth:`step` one batch, :meth:`evaluate` mean token loss."""

    def __init__(self, model: Any, tokenizer: Any, cfg: LoraTrainConfig, device: str = "cpu",
                 trainable: bool = True):
        import torch  # lazy: torch loads in seconds and only training and the LLM path need it

        self.model = model
        self.tokenizer = tokenizer
        self.cfg = cfg
        self.device = device
        self.style = resolve_style(tokenizer, cfg.prompt_style)
        self.optimizer = None
        if trainable:  # evaluation-only scorers need no optimiser
            params = [p for p in model.parameters() if p.requires_grad]
            if not params:
                raise ValueError("the model has no trainable parameters (were the LoRA target modules found?)")
            self.optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (tokenizer.eos_token_id or 0)

    def encode(self, rows: Iterable[dict[str, Any]]) -> list[dict[str, list[int]]]:
        return [encode_row(self.tokenizer, r, self.style, self.cfg.max_length) for r in rows]

    def batches(self, encoded: list[dict[str, list[int]]], shuffle: bool, seed: int = 0):
        order = list(range(len(encoded)))
        if shuffle:
            random.Random(seed).shuffle(order)
        bs = max(1, self.cfg.batch_size)
        for i in range(0, len(order), bs):
            yield collate([encoded[j] for j in order[i:i + bs]], self.pad_id)

    def _to(self, batch):
        return {k: v.to(self.model.device) for k, v in batch.items()}

    def step(self, batch) -> float:
        """One optimiser step on one batch; returns the batch loss before the update."""
        self.model.train()
        out = self.model(**self._to(batch))
        loss = out.loss
        loss.backward()
        import torch  # lazy: torch loads in seconds and only training and the LLM path need it

        torch.nn.utils.clip_grad_norm_([p for p in self.model.parameters() if p.requires_grad], 1.0)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return float(loss.detach())

    def evaluate(self, encoded: list[dict[str, list[int]]]) -> float:
        """Mean loss per output token over the rows (perplexity = exp of it); nan when there are none."""
        import torch  # lazy: torch loads in seconds and only training and the LLM path need it

        if not encoded:
            return float("nan")
        self.model.eval()
        total, count = 0.0, 0
        with torch.no_grad():
            for batch in self.batches(encoded, shuffle=False):
                b = self._to(batch)
                logits = self.model(input_ids=b["input_ids"], attention_mask=b["attention_mask"]).logits
                shift_logits = logits[:, :-1].float()
                shift_labels = b["labels"][:, 1:]
                loss = torch.nn.functional.cross_entropy(
                    shift_logits.reshape(-1, shift_logits.shape[-1]), shift_labels.reshape(-1),
                    ignore_index=IGNORE_INDEX, reduction="sum")
                total += float(loss)
                count += int((shift_labels != IGNORE_INDEX).sum())
        return total / count if count else float("nan")

    def perplexity(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        """{"overall": ppl, "per_task": {task: ppl}} on the rows."""
        out: dict[str, Any] = {"overall": _ppl(self.evaluate(self.encode(rows))), "per_task": {}}
        for task in sorted({str(r.get("task", "nlu")) for r in rows}):
            sub = [r for r in rows if str(r.get("task", "nlu")) == task]
            out["per_task"][task] = _ppl(self.evaluate(self.encode(sub)))
        return out


def _ppl(loss: float) -> float | None:
    if loss != loss:  # nan
        return None
    return float(math.exp(min(loss, 50.0)))


def _adapter_state(model) -> dict[str, Any]:
    from peft import get_peft_model_state_dict  # lazy: the optional LLM path only

    return {k: v.detach().cpu().clone() for k, v in get_peft_model_state_dict(model).items()}


def save_adapter(model: Any, tokenizer: Any, folder: Path, meta: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    (folder / ADAPTER_META).write_text(json.dumps(meta, ensure_ascii=False, indent=1, default=str), encoding="utf-8")


def train_lora(base_model: Path | str, rows: list[dict[str, Any]], output_dir: Path | str,
               cfg: LoraTrainConfig | None = None, *, val_rows: list[dict[str, Any]] | None = None,
               progress: FractionReporter | None = None, version: str | None = None) -> LoraRunResult:
    """Fine-tune (or, given an adapter folder, continue) a LoRA adapter and save it into ``output_dir``."""
    import torch  # lazy: torch loads in seconds and only training and the LLM path need it

    cfg = copy.deepcopy(cfg or LoraTrainConfig())
    prog = progress or (lambda s, f: None)
    if not rows:
        raise ValueError("no training rows")
    random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    out = Path(output_dir)
    t0 = time.perf_counter()
    prog("loading", 0.0)
    model, tok, device, base_path, parent = load_for_training(base_model, cfg)
    if val_rows is None:
        train_rows, val_rows = split_rows(rows, cfg.val_fraction, cfg.seed)
    else:
        train_rows = list(rows)
    trainer = LoraTrainer(model, tok, cfg, device)
    enc_train, enc_val = trainer.encode(train_rows), trainer.encode(val_rows)
    n_batches = math.ceil(len(enc_train) / max(1, cfg.batch_size))
    total_steps = min(cfg.max_steps or n_batches * cfg.epochs, n_batches * cfg.epochs)
    version = version or out.name
    base_meta = {"base_model": str(Path(base_path).resolve()), "prompt_style": trainer.style, "version": version,
                 "parent": (parent or {}).get("version"), "incremental": parent is not None,
                 "config": cfg.as_dict()}
    history: list[float] = []
    epochs, best, step = _epochs(trainer, enc_train, enc_val, total_steps, history, prog,
                                 out if cfg.save_checkpoints else None, base_meta)
    prog("saving", 0.95)
    if best is not None and best[1] != epochs[-1]["epoch"]:
        from peft import set_peft_model_state_dict  # lazy: the optional LLM path only

        set_peft_model_state_dict(model, best[2])
    metrics: dict[str, Any] = {
        "epochs": epochs, "best_epoch": best[1] if best else None, "steps": step,
        "n_train": len(train_rows), "n_val": len(val_rows),
        "tasks": {t: sum(1 for r in train_rows if str(r.get("task", "nlu")) == t)
                  for t in sorted({str(r.get("task", "nlu")) for r in train_rows})},
        "train_seconds": round(time.perf_counter() - t0, 1),
    }
    if val_rows:
        metrics["val_perplexity"] = trainer.perplexity(val_rows)
    meta = {**base_meta, "metrics": metrics, "created_at": clock_now().isoformat(timespec="seconds")}
    save_adapter(model, tok, out, meta)
    prog("done", 1.0)
    return LoraRunResult(out, metrics, history, incremental=parent is not None, parent=base_meta["parent"])


def _epochs(trainer: LoraTrainer, enc_train, enc_val, total_steps: int, history: list[float], prog: FractionReporter,
            checkpoints: Path | None, base_meta: dict[str, Any]):
    """Train up to ``total_steps`` steps; (per-epoch records, (score, epoch, adapter state) of the best, steps).

    The best epoch has the lowest validation loss (without validation rows, the last one wins); each epoch's
    adapter is saved under ``checkpoints`` when given. ``history`` receives every step's loss.
    """
    model, tok, cfg = trainer.model, trainer.tokenizer, trainer.cfg
    epochs: list[dict[str, Any]] = []
    best: tuple[float, int, dict[str, Any]] | None = None
    step = 0
    for epoch in range(1, cfg.epochs + 1):
        losses = []
        for batch in trainer.batches(enc_train, shuffle=True, seed=cfg.seed + epoch):
            losses.append(trainer.step(batch))
            history.append(losses[-1])
            step += 1
            prog("training", step / max(1, total_steps))
            if step >= total_steps:
                break
        val_loss = trainer.evaluate(enc_val)
        rec = {"epoch": epoch, "steps": step, "train_loss": sum(losses) / max(1, len(losses)),
               "val_loss": None if val_loss != val_loss else val_loss, "val_perplexity": _ppl(val_loss)}
        epochs.append(rec)
        log.info("LoRA epoch %d: train loss %.4f, val ppl %s", epoch, rec["train_loss"], rec["val_perplexity"])
        if checkpoints is not None:
            save_adapter(model, tok, checkpoints / f"checkpoint-epoch-{epoch}", {**base_meta, "epoch": epoch, "metrics": rec})
        score = val_loss if val_loss == val_loss else -epoch  # no validation: the last epoch wins
        if best is None or score <= best[0]:
            best = (score, epoch, _adapter_state(model))
        if step >= total_steps:
            break
    return epochs, best, step
