"""The LoRA step of ``naviyam learn``, run only when the LLM path is enabled.

1. Rows: the good conversations of the learning window as LoRA ``nlu`` rows
   (:func:`naviyam.learning.lora_data.conversation_rows_from_db`), plus a replay
   sample — generated NLU rows and the child-friendly pairs — so the adapter
   does not forget what it knew. Both are split by a seeded shuffle into
   training and held-out rows.
2. The candidate adapter is trained starting *from production*: the
   registry's production ``lora`` version when there is one (the adapter keeps
   training on the new rows), else a fresh adapter on ``NAVIYAM_LLM_MODEL_PATH``.
3. Candidate and production (the production adapter, or the base model alone
   before the first adapter) are scored on the *same* held-out rows: the new
   held-out split, the replay held-out split and the held-out rows the
   production adapter was judged on (its ``heldout.jsonl``). Figures: the
   held-out perplexity ``exp(mean token loss)`` (``heldout_perplexity``,
   lower is better: the primary metric), the NLU contract metrics of the LLM
   alone (``nlu_exact``: a guard) and ``nlu_valid_rate``.
4. A sanity check loads the adapter from its registry folder, checks that its
   logits on the sanity messages are finite and times one short generation.
5. :func:`naviyam.learning.learn.run_learning` hands the figures to the same
   gate (:func:`naviyam.learning.promotion.gate`) as the ranker and the NLU.

The service picks a promoted adapter up on its next registry check
(:mod:`naviyam.service.runtime`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from naviyam.core.registry import ModelRegistry
from naviyam.learning.lora_data import child_friendly_rows, conversation_rows_from_db, nlu_rows, write_rows
from naviyam.learning.lora_registry import evaluate_adapter, register_adapter
from naviyam.learning.promotion import NLU_SANITY_MESSAGES, SanityResult
from naviyam.llm.backend import LLMBackend, adapter_base_model
from naviyam.llm.lora import LoraTrainConfig, read_rows, split_rows, train_lora
from naviyam.llm.prompts import NLU_INSTRUCTION
from naviyam.nlu.lexicon import Lexicon

log = logging.getLogger(__name__)

Say = Callable[[str], None]
HELDOUT_FILE = "heldout.jsonl"
#: The gate's primary metric for adapters (lower is better) and its guard.
PRIMARY_METRIC = "heldout_token_logloss"
GUARD_METRIC = "nlu_exact"


@dataclass
class LoraStepConfig:
    epochs: int = 1
    lr: float = 1e-4
    batch_size: int = 4
    max_length: int = 512
    #: generated NLU rows replayed next to the conversations (0: none)
    replay_nlu_rows: int = 200
    #: the child-friendly pairs are replayed too (the adapter's second task)
    replay_child_friendly: bool = True
    #: share of the new and of the replay rows held out for the comparison
    holdout_share: float = 0.2
    #: at most this many held-out NLU turns are generated per model in the comparison
    max_eval_cases: int = 100
    #: at most this many held-out rows are kept for the next run's comparison
    max_heldout_rows: int = 500
    seed: int = 42
    #: fewer good conversations than this: no candidate
    min_new_rows: int = 1

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class LoraCandidate:
    """What the step produced for the gate; ``version`` None means skipped (``message`` says why)."""

    version: str | None
    production: str | None
    message: str = ""
    candidate_metrics: dict[str, Any] = field(default_factory=dict)
    production_metrics: dict[str, Any] | None = None
    sanity: SanityResult | None = None
    n_train: int = 0
    n_heldout: int = 0


def lora_enabled(llm_settings: Any) -> tuple[bool, str]:
    """(whether the nightly run trains adapters, why not)."""
    if llm_settings is None or not llm_settings.enabled:
        return False, "LLM 경로가 꺼져 있어 LoRA 어댑터는 학습하지 않아요."
    if not llm_settings.model_path:
        return False, "NAVIYAM_LLM_MODEL_PATH가 없어 LoRA 어댑터는 학습하지 않아요."
    if llm_settings.adapter_path is not None or not llm_settings.use_registry_adapter:
        return False, ("서비스가 레지스트리가 아닌 고정 어댑터(NAVIYAM_LLM_ADAPTER_PATH)를 쓰고 있어 "
                       "LoRA 후보를 만들지 않아요.")
    return True, ""


def _key(row: dict[str, Any]) -> tuple[str, str]:
    return str(row.get("task", "nlu")), str(row.get("input"))


def _dedupe(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen, out = set(), []
    for r in rows:
        if _key(r) not in seen:
            seen.add(_key(r))
            out.append(r)
    return out


def build_rows(engine: Engine, window: tuple[dt.datetime, dt.datetime], cfg: LoraStepConfig,
               production_heldout: list[dict[str, Any]]) -> tuple[list[dict], list[dict], int]:
    """(training rows, held-out rows, number of new conversation rows)."""
    new = _dedupe(conversation_rows_from_db(engine, window[0], window[1]))
    replay: list[dict[str, Any]] = []
    if cfg.replay_nlu_rows > 0:
        replay += nlu_rows(Lexicon.build(engine), cfg.replay_nlu_rows, seed=cfg.seed)
    if cfg.replay_child_friendly:
        replay += child_friendly_rows()
    replay = _dedupe(replay)
    held_before = {_key(r) for r in production_heldout}
    new_train, new_held = split_rows([r for r in new if _key(r) not in held_before], cfg.holdout_share, cfg.seed)
    rep_train, rep_held = split_rows([r for r in replay if _key(r) not in held_before], cfg.holdout_share, cfg.seed)
    heldout = _dedupe(new_held + rep_held + list(production_heldout))[: cfg.max_heldout_rows]
    held_keys = {_key(r) for r in heldout}
    train = [r for r in new_train + rep_train if _key(r) not in held_keys]
    return train, heldout, len(new)


def adapter_metrics(evaluation: dict[str, Any]) -> dict[str, Any]:
    """The flat figures the gate reads from :func:`naviyam.learning.lora_registry.evaluate_adapter`'s result."""
    nlu = evaluation.get("nlu") or {}
    ppl = (evaluation.get("perplexity") or {})
    overall = ppl.get("overall")
    return {PRIMARY_METRIC: math.log(overall) if overall else None, "heldout_perplexity": overall,
            "heldout_perplexity_per_task": ppl.get("per_task"),
            "answer_perplexity": evaluation.get("answer_perplexity"), GUARD_METRIC: nlu.get("exact"),
            "nlu_intent_accuracy": nlu.get("intent_accuracy"), "nlu_slot_micro_f1": nlu.get("slot_micro_f1"),
            "nlu_valid_rate": nlu.get("valid_rate"), "nlu_turns": nlu.get("turns")}


def sanity_check_adapter(path: Path, llm_settings: Any, *, version: str | None = None) -> SanityResult:
    """Load the adapter from ``path`` on its base model, check finite logits and time one short generation.

    The generation must finish within the serving budget (``NAVIYAM_LLM_TIMEOUT_S``)."""
    import torch  # lazy: torch loads in seconds and only training and the LLM path need it

    checks: dict[str, Any] = {}
    try:
        base = adapter_base_model(path) or llm_settings.model_path
        llm = LLMBackend.load(base, path, device=llm_settings.device, dtype=llm_settings.dtype, load_in_4bit=False,
                              max_new_tokens=16, timeout_s=llm_settings.timeout_s)
        checks["loads"] = True
    except Exception as exc:  # noqa: BLE001 - anything here means "cannot serve this"
        return SanityResult(False, {"loads": False}, f"불러올 수 없어요: {type(exc).__name__}: {exc}")
    finite = True
    for text in NLU_SANITY_MESSAGES:
        enc = llm.tokenizer(llm.prompt(NLU_INSTRUCTION, text), return_tensors="pt")
        with torch.inference_mode():
            logits = llm.model(**{k: v.to(llm.model.device) for k, v in enc.items()}).logits
        finite = finite and bool(torch.isfinite(logits.float()).all())
    checks["logits_finite"] = finite
    if not finite:
        return SanityResult(False, checks, "출력(logits)에 NaN/무한대가 있어요")
    gen = llm.generate(llm.prompt(NLU_INSTRUCTION, NLU_SANITY_MESSAGES[0]), max_new_tokens=16)
    checks["generation_seconds"] = round(gen.seconds, 3)
    if gen.timed_out or gen.seconds > llm_settings.timeout_s:
        return SanityResult(False, checks, f"너무 느려요: 16토큰 생성에 {gen.seconds:.1f}초 "
                                           f"(한도 {llm_settings.timeout_s:.0f}초)")
    return SanityResult(True, checks)


def train_candidate_adapter(engine: Engine, registry: ModelRegistry, window: tuple[dt.datetime, dt.datetime],
                            llm_settings: Any, cfg: LoraStepConfig, say: Say) -> LoraCandidate:
    """Train, register (as a candidate), sanity-check and score a candidate adapter against production."""
    prod = registry.current("lora")
    prod_version = prod.version if prod is not None else None
    prod_path = Path(prod.path) if prod is not None else None
    prod_held_file = prod_path / HELDOUT_FILE if prod_path is not None else None
    prod_heldout = read_rows(prod_held_file) if prod_held_file is not None and prod_held_file.exists() else []
    train, heldout, n_new = build_rows(engine, window, cfg, prod_heldout)
    if n_new < cfg.min_new_rows:
        return LoraCandidate(None, prod_version, "좋은 대화가 없어 LoRA 어댑터는 다시 학습하지 않아요.")
    base = prod_path if prod_path is not None and prod_path.is_dir() else Path(llm_settings.model_path)
    say(f"LoRA 어댑터 학습: {prod_version or '기본 모델'}에서 시작, 학습 행 {len(train)}개 (좋은 대화 {n_new}개 포함), "
        f"비교용 보류 행 {len(heldout)}개, {cfg.epochs} epoch")
    alloc = registry.allocate("lora")
    tcfg = LoraTrainConfig(epochs=cfg.epochs, lr=cfg.lr, batch_size=cfg.batch_size, max_length=cfg.max_length,
                           val_fraction=0.0, seed=cfg.seed, device=llm_settings.device, dtype=llm_settings.dtype,
                           save_checkpoints=False)
    result = train_lora(base, train, alloc.path, tcfg, val_rows=[], version=alloc.version)
    write_rows(heldout, alloc.path / HELDOUT_FILE)
    register_adapter(registry, alloc, result, parent=prod_version, status="candidate",
                     extra_config={"source": "learn", "step": cfg.to_json(),
                                   "window": [t.isoformat() for t in window]})
    sanity = sanity_check_adapter(alloc.path, llm_settings, version=alloc.version)
    kw = dict(device=llm_settings.device, timeout_s=max(llm_settings.timeout_s, 1.0),
              max_new_tokens=llm_settings.max_new_tokens, max_cases=cfg.max_eval_cases)
    cand_m = adapter_metrics(evaluate_adapter(alloc.path, heldout, **kw)) if sanity.ok else {}
    prod_m = adapter_metrics(evaluate_adapter(prod_path, heldout, **kw) if prod_path is not None else
                             evaluate_adapter(None, heldout, base_model=llm_settings.model_path, **kw))
    cand_m = {**cand_m, "train_rows": len(train), "new_rows": n_new, "heldout_rows": len(heldout),
              "lora_train_metrics": json.loads(json.dumps(result.metrics, default=str))}
    return LoraCandidate(alloc.version, prod_version, "", _finite(cand_m), _finite(prod_m), sanity,
                         len(train), len(heldout))


def _finite(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}


__all__ = ["LoraStepConfig", "LoraCandidate", "lora_enabled", "train_candidate_adapter", "sanity_check_adapter",
           "build_rows", "adapter_metrics", "PRIMARY_METRIC", "GUARD_METRIC", "HELDOUT_FILE"]
