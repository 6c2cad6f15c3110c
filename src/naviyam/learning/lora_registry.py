"""LoRA adapters as model versions: register, compare on held-out data, promote.

An adapter is a registry version of kind ``lora``; its folder holds the PEFT
files and ``naviyam_lora.json``. Before a candidate replaces production it is
compared on held-out rows (:func:`compare_adapters`):

* extraction task (``nlu`` rows): the contract metrics of
  :func:`naviyam.nlu.evaluate.evaluate_cases` on the LLM path *without* the
  trained fallback (an invalid answer counts as wrong), plus ``valid_rate``
  (share of turns the LLM answered with a valid object);
* answer tasks (``child_friendly``, ``answer``): perplexity ``exp(mean token
  loss)`` of the reference outputs.

:func:`promote_if_better` promotes when the candidate's NLU metric (default
``exact``) beats production by at least ``margin`` and its answer perplexity
is not worse than production's by more than ``ppl_tolerance`` (relative).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from naviyam.core.clock import utcnow
from naviyam.db.models import ModelVersion
from naviyam.db.session import session_scope
from naviyam.learning.lora_data import heldout_cases
from naviyam.llm.backend import LLMBackend, adapter_base_model, read_adapter_meta
from naviyam.llm.lora import LoraTrainConfig, LoraTrainer
from naviyam.llm.prompts import TASK_NLU
from naviyam.nlu.evaluate import evaluate_cases
from naviyam.nlu.llm_parser import LLMNLUParser
from naviyam.nlu.parser import NLUResult

log = logging.getLogger(__name__)

class _NoFallback:
    """Stands in for the trained parser while scoring the LLM alone: every failure is OUT_OF_SCOPE."""

    version = "none"

    def parse(self, text: Any, session: Any = None):
        t = "" if text is None else str(text)
        if session is not None:
            session.state.apply("OUT_OF_SCOPE", {})
        return NLUResult(t, "OUT_OF_SCOPE", 0.0, [], "", {})


def evaluate_adapter(adapter: Path | str | None, heldout: list[dict[str, Any]], *, base_model: Path | str | None = None,
                     device: str = "auto", timeout_s: float = 30.0, max_new_tokens: int = 160,
                     max_cases: int | None = 300) -> dict[str, Any]:
    """Held-out figures of one adapter (``None``: the base model alone, which then needs ``base_model``)."""
    base = base_model or (adapter_base_model(adapter) if adapter else None)
    if not base:
        raise ValueError("no base model for the comparison")
    llm = LLMBackend.load(base, adapter, device=device, load_in_4bit=False, max_new_tokens=max_new_tokens,
                          timeout_s=timeout_s)
    out: dict[str, Any] = {"adapter": str(adapter) if adapter else None, "version": llm.version}
    cases = heldout_cases(heldout)[: max_cases or None]
    if cases:
        parser = LLMNLUParser(llm, _NoFallback(), timeout_s=timeout_s)
        answered = [0]

        def parse(text, session):
            res = parser.parse(text, session)
            answered[0] += parser.last_backend == "llm"
            return res

        m = evaluate_cases(parse, cases)
        m.pop("errors", None)
        m["valid_rate"] = answered[0] / max(1, m.get("turns", len(cases)))
        out["nlu"] = m
    answer_rows = [r for r in heldout if r.get("task", TASK_NLU) != TASK_NLU]
    scorer = LoraTrainer(llm.model, llm.tokenizer, LoraTrainConfig(prompt_style=llm.prompt_style), llm.device,
                         trainable=False)
    out["perplexity"] = scorer.perplexity(heldout)
    out["answer_perplexity"] = scorer.perplexity(answer_rows)["overall"] if answer_rows else None
    return out


def compare_adapters(candidate: Path | str, production: Path | str | None, heldout: list[dict[str, Any]],
                     *, evaluate: Callable[..., dict[str, Any]] | None = None, metric: str = "exact",
                     **kw: Any) -> dict[str, Any]:
    """Both adapters on the same held-out rows: ``{"candidate", "production", "delta"}``.

    ``delta`` holds candidate − production for the NLU ``metric``, ``slot_micro_f1``,
    ``intent_accuracy``, ``valid_rate`` and ``answer_perplexity`` (lower is better).
    """
    ev = evaluate or evaluate_adapter
    cand = ev(candidate, heldout, **kw)
    prod = ev(production, heldout, **kw) if production else None
    delta: dict[str, float | None] = {}
    if prod is not None:
        for key in dict.fromkeys((metric, "slot_micro_f1", "intent_accuracy", "valid_rate")):
            a, b = (cand.get("nlu") or {}).get(key), (prod.get("nlu") or {}).get(key)
            delta[key] = None if a is None or b is None else a - b
        a, b = cand.get("answer_perplexity"), prod.get("answer_perplexity")
        delta["answer_perplexity"] = None if a is None or b is None else a - b
    return {"candidate": cand, "production": prod, "delta": delta, "metric": metric}


def decide(comparison: dict[str, Any], *, margin: float = 0.0, ppl_tolerance: float = 0.05) -> tuple[bool, str]:
    """(promote?, reason) from a :func:`compare_adapters` result."""
    metric = comparison.get("metric", "exact")
    cand, prod = comparison["candidate"], comparison["production"]
    if prod is None:
        return True, "no production adapter"
    a, b = (cand.get("nlu") or {}).get(metric), (prod.get("nlu") or {}).get(metric)
    if a is not None and b is not None and a < b + margin:
        return False, f"{metric} {a:.4f} < production {b:.4f} + margin {margin}"
    pa, pb = cand.get("answer_perplexity"), prod.get("answer_perplexity")
    if pa is not None and pb is not None and pa > pb * (1 + ppl_tolerance):
        return False, f"answer perplexity {pa:.3f} worse than production {pb:.3f} (tolerance {ppl_tolerance:.0%})"
    if a is None and pa is not None and pb is not None and pa >= pb:
        return False, f"answer perplexity {pa:.3f} not below production {pb:.3f}"
    return True, f"{metric} {a} vs {b}; answer perplexity {pa} vs {pb}"


def register_adapter(registry: Any, alloc: Any, result: Any, *, parent: str | None = None,
                     status: str = "candidate", extra_config: dict[str, Any] | None = None):
    """Register a trained adapter (a :class:`~naviyam.llm.lora.LoraRunResult` written into ``alloc.path``)."""
    meta = read_adapter_meta(alloc.path)
    config = {**(meta.get("config") or {}), "base_model": meta.get("base_model"),
              "prompt_style": meta.get("prompt_style"), **(extra_config or {})}
    return registry.register(alloc, metrics=result.metrics, config=config, parent=parent, status=status)


def _find(registry: Any, version: str):
    for mv in registry.list("lora"):
        if mv.version == version:
            return mv
    raise LookupError(f"no lora version {version!r} in the registry")


def promote(registry: Any, version: str) -> None:
    """Make ``version`` the production adapter (the previous one is archived)."""
    if hasattr(registry, "promote"):
        registry.promote(version)
        return

    with session_scope(registry.engine) as s:
        s.execute(update(ModelVersion).where(ModelVersion.kind == "lora", ModelVersion.status == "production",
                                             ModelVersion.version != version).values(status="archived"))
        s.execute(update(ModelVersion).where(ModelVersion.version == version)
                  .values(status="production", promoted_at=utcnow()))


def promote_if_better(registry: Any, candidate_version: str, heldout: list[dict[str, Any]], *, margin: float = 0.0,
                      ppl_tolerance: float = 0.05, metric: str = "exact",
                      evaluate: Callable[..., dict[str, Any]] | None = None, **kw: Any) -> dict[str, Any]:
    """Compare a registered candidate with the production adapter and promote it when it is better.

    Returns ``{"promoted", "reason", "comparison"}``; the comparison is also
    stored in the candidate's metrics under ``"comparison"`` when promoted or not.
    """
    cand = _find(registry, candidate_version)
    prod = registry.current("lora")
    prod_path = Path(prod.path) if prod is not None and prod.version != candidate_version else None
    comparison = compare_adapters(Path(cand.path), prod_path, heldout, evaluate=evaluate, metric=metric, **kw)
    ok, reason = decide(comparison, margin=margin, ppl_tolerance=ppl_tolerance)
    _store_comparison(registry, candidate_version, comparison, ok, reason)
    if ok:
        promote(registry, candidate_version)
        log.info("promoted %s: %s", candidate_version, reason)
    else:
        log.info("kept production adapter: %s", reason)
    return {"promoted": ok, "reason": reason, "comparison": comparison,
            "production_before": prod.version if prod is not None else None}


def _store_comparison(registry: Any, version: str, comparison: dict[str, Any], ok: bool, reason: str) -> None:
    slim = json.loads(json.dumps({"promoted": ok, "reason": reason, "delta": comparison.get("delta"),
                                  "production": (comparison.get("production") or {}).get("version")}, default=str))
    with session_scope(registry.engine) as s:
        mv = s.scalar(select(ModelVersion).where(ModelVersion.version == version))
        if mv is not None:
            mv.metrics = {**(mv.metrics or {}), "comparison": slim}
