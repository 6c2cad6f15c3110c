"""The NLU's promotion gate around training: a candidate with the operator's examples is promoted only
when it beats production on the same held-out data (:func:`train_nlu_gated`)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from naviyam.learning.promotion import evaluate_parser, nlu_operator_gate, sanity_check_parser
from naviyam.nlu.parser import NLUParser
from naviyam.nlu.train import train_nlu
from naviyam.progress import FractionReporter

log = logging.getLogger(__name__)


@dataclass
class GatedTraining:
    """What :func:`train_nlu_gated` did: the new version, the comparison and whether it went to production."""

    version: Any
    decision: Any
    candidate: dict[str, Any]
    production: dict[str, Any] | None
    production_version: str | None
    promoted: bool
    forced: bool = False


def train_nlu_gated(engine: Any, registry: Any, operator_rows: list[dict[str, Any]], *, epochs: int = 10,
                    n_examples: int | None = None, seed: int = 13, progress: FractionReporter | None = None,
                    with_baselines: bool = True, tolerance: float = 0.005, force: bool = False,
                    max_latency_ms: float = 200.0, operator_share: float = 0.15) -> GatedTraining:
    """Train a candidate with the operator's examples and promote it only through the gate.

    The candidate and production are compared on production's held-out generated rows
    and on the operator's held-out examples (this run's and production's own, so that
    what an earlier file taught is not silently lost); see
    :func:`naviyam.learning.promotion.nlu_operator_gate`. The first NLU is promoted;
    ``force`` promotes a sane candidate whatever the comparison says.
    """
    prod_mv = registry.current("nlu")
    production = None
    held_rows = None
    prod_op_held: list[dict[str, Any]] = []
    pconf = (prod_mv.config or {}) if prod_mv is not None else {}
    if prod_mv is not None:
        folder = Path(prod_mv.path)
        if (folder / "heldout.jsonl").exists():
            held_rows = [json.loads(x) for x in (folder / "heldout.jsonl").read_text(encoding="utf-8").splitlines()
                         if x.strip()]
        if (folder / "operator_heldout.jsonl").exists():
            prod_op_held = [json.loads(x) for x in
                            (folder / "operator_heldout.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
        try:
            production = NLUParser.load(folder, version=prod_mv.version)
        except Exception as exc:  # noqa: BLE001 - a broken production model loses the comparison
            log.warning("production NLU %s cannot be loaded: %s", prod_mv.version, exc)
    mv = train_nlu(engine, registry, epochs=epochs, n_examples=n_examples or pconf.get("n_examples"), seed=seed,
                   progress=progress, with_baselines=with_baselines,
                   status="production" if prod_mv is None else "candidate", heldout_rows=held_rows,
                   parent=prod_mv.version if prod_mv else None, operator_rows=operator_rows,
                   operator_heldout=prod_op_held, operator_share=operator_share)
    folder = Path(mv.path)
    held = held_rows if held_rows is not None else [
        json.loads(x) for x in (folder / "heldout.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
    op_path = folder / "operator_heldout.jsonl"
    op_held = [json.loads(x) for x in op_path.read_text(encoding="utf-8").splitlines() if x.strip()] \
        if op_path.exists() else []
    sanity = sanity_check_parser(folder, max_latency_ms=max_latency_ms, version=mv.version)
    cand_m = evaluate_parser(NLUParser.load(folder, version=mv.version), held, op_held)
    prod_m = evaluate_parser(production, held, op_held) if production is not None else None
    if prod_mv is not None and production is None:
        prod_m = {}
    decision = nlu_operator_gate(cand_m, prod_m, sanity, tolerance=tolerance)
    note = {"comparison": cand_m, "production_comparison": prod_m, "promotion": decision.to_json()}
    promoted = prod_mv is None
    forced = False
    if prod_mv is not None:
        if decision.promote or (force and sanity.ok):
            forced = not decision.promote
            registry.set_status(mv.version, "candidate", note=_json_safe(note))
            registry.promote(mv.version)
            promoted = True
        else:
            registry.set_status(mv.version, "archived" if sanity.ok else "failed", note=_json_safe(note))
    return GatedTraining(registry.get(mv.version), decision, cand_m, prod_m,
                         prod_mv.version if prod_mv else None, promoted, forced)


def _json_safe(d: Any) -> Any:
    return json.loads(json.dumps(d, ensure_ascii=False, default=str))
