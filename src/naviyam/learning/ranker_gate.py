"""The ranker's promotion gate: a new ranker serves only when it beats production on the same hold-out.

``naviyam train ranker`` registers every trained ranker as a *candidate*,
then both the candidate and the production ranker score the same held-out
ranking lists of the training set (the last 20 % of the time line, each
order ranked within its whole Layer 1 list), next to the Layer 1 order and
popularity. The candidate is promoted when it is the first ranker, when
production cannot score today's features any more (a feature change), or
when its NDCG@10 is higher than production's by at least ``margin``;
``force`` promotes it anyway. The table says which won and why, and warns
when the served ranker loses to popularity.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from naviyam.learning.promotion import evaluate_ranker
from naviyam.recommend.ranker.serving import RankerLoadError, WideDeepRanker
from naviyam.recommend.ranker.trainer import load_training_set

log = logging.getLogger(__name__)

METRIC = "val_ndcg@10"


@dataclass
class RankerGateResult:
    promoted: bool
    reasons: list[str]
    #: column -> {metric: value}: candidate, production, layer1, popularity
    table: dict[str, dict[str, float | None]] = field(default_factory=dict)
    production_version: str | None = None
    serving_version: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"promoted": self.promoted, "reasons": self.reasons, "table": self.table,
                "production_version": self.production_version, "serving_version": self.serving_version}


def gate_ranker(registry, candidate_mv, result_metrics: dict[str, float], dataset_dir: Path, *,
                production_mv=None, margin: float = 0.0, force: bool = False,
                prefer_fresh: bool = False) -> RankerGateResult:
    """Compare ``candidate_mv`` with ``production_mv`` on the dataset's hold-out, promote or keep (module doc).

    ``prefer_fresh``: a tie promotes the candidate (a rebuild because the data changed carries the newer data).
    """
    _train, val, ranking, _manifest = load_training_set(Path(dataset_dir))
    candidate = WideDeepRanker.load(Path(candidate_mv.path), version=candidate_mv.version)
    cand = evaluate_ranker(candidate, val=val, ranking=ranking)
    table: dict[str, dict[str, float | None]] = {"candidate": cand}
    prod = None
    reasons: list[str] = []
    if production_mv is not None:
        try:
            prod_ranker = WideDeepRanker.load(Path(production_mv.path), version=production_mv.version)
            prod = evaluate_ranker(prod_ranker, val=val, ranking=ranking)
            table["production"] = prod
        except RankerLoadError as exc:
            reasons.append(f"운영 모델 {production_mv.version}은(는) 지금의 특징으로 평가할 수 없어요 ({exc})")
    for base in ("layer1", "popularity"):
        table[base] = {METRIC: result_metrics.get(f"{base}_ndcg@10"), "val_mrr": result_metrics.get(f"{base}_mrr")}
    c = cand.get(METRIC)
    if production_mv is None:
        promote = True
        reasons.append("처음 학습한 랭커라서 바로 운영에 올려요")
    elif prod is None:
        promote = True
        reasons.append("비교할 수 있는 운영 모델이 없어 후보를 올려요")
    elif c is None or prod.get(METRIC) is None:
        promote = False
        reasons.append("같은 평가 목록이 없어 비교할 수 없어요: 운영 모델을 유지해요")
    else:
        p = prod[METRIC]
        promote = c - p > margin or (prefer_fresh and c - p >= margin)
        reasons.append(f"NDCG@10 후보 {c:.4f} / 운영 {p:.4f}: "
                       + (("후보가 더 좋아서 올려요" if c - p > margin else "같으면 새 데이터로 학습한 후보를 올려요")
                          if promote else "후보가 더 좋지 않아 운영 모델을 유지해요"))
    if force and not promote:
        promote = True
        reasons.append("--force: 비교 결과와 상관없이 후보를 올려요")
    pop = table["popularity"].get(METRIC)
    served = c if promote else (prod or {}).get(METRIC)
    if served is not None and pop is not None and served < pop:
        reasons.append(f"주의: 운영 랭커의 NDCG@10({served:.4f})이 인기순({pop:.4f})보다 낮아요")
    if promote:
        registry.promote(candidate_mv.version)
    serving = candidate_mv.version if promote else (production_mv.version if production_mv else None)
    log.info("ranker gate: %s (%s)", "promoted" if promote else "kept production", "; ".join(reasons))
    return RankerGateResult(promote, reasons, table, production_mv.version if production_mv else None, serving)
