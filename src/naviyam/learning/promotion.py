"""Offline comparison, sanity checks and the promotion gate.

A candidate replaces production only when both hold:

1. **it is better**: on the *same* held-out data, its primary metric beats
   production's by at least ``margin`` (absolute), and no guard metric is
   worse than production's by more than ``guard_tolerance``;
2. **it is sane**: it loads from its folder in the registry, its outputs on
   sample inputs are finite (probabilities in [0, 1]) and it answers within
   the latency bound.

Ranker figures (:func:`evaluate_ranker`), on frames of feature rows with
``label`` and ``query_id``:

* ``recent_*``: the held-out recent interactions (the lists users were
  shown, labelled by what they chose): AUC, log loss, MRR, NDCG@3, HitRate@1;
* ``val_*``: the standard time-split validation set of the ranker's training
  data (AUC, log loss) and its held-out ranking lists (NDCG@10, MRR).

The ranker's primary metric is ``recent_mrr`` when at least
``min_recent_lists`` recent lists exist, else ``val_auc``; ``val_auc`` guards.
The NLU's primary metric is the mean ``exact`` (whole contract object right)
over its held-out generated set and the public contract examples.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from naviyam.core.contract import INTENTS
from naviyam.core.registry import RegistryError
from naviyam.nlu.evaluate import cases_from_examples, evaluate_cases
from naviyam.nlu.parser import NLUParser
from naviyam.nlu.train import public_examples
from naviyam.recommend.features import NUM_DIM, WIDE_DIM, FeatureRows
from naviyam.recommend.metrics import log_loss, ranking_metrics, roc_auc
from naviyam.recommend.ranker.serving import RankerLoadError, WideDeepRanker

#: Messages the NLU sanity check parses.
NLU_SANITY_MESSAGES = ("급식카드 되는 떡볶이집 추천해줘", "만원으로 뭐 먹지?", "안녕", "관악구 치킨집 알려줘",
                       "학교 앞 분식집 지금 문 연 곳")


def _clean(v: Any) -> Any:
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return None
    if isinstance(v, (np.floating, np.integer)):
        return _clean(v.item())
    return v


def _ranking_lists(df: pd.DataFrame, scores: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    labels = df["label"].to_numpy(np.float64)
    return [(labels[idx], scores[idx]) for idx in df.groupby("query_id", sort=False).indices.values()]


def evaluate_ranker(ranker, recent: pd.DataFrame | None = None, val: pd.DataFrame | None = None,
                    ranking: pd.DataFrame | None = None) -> dict[str, float | None]:
    """The ranker's figures on the given frames (see the module doc); missing frames give no keys."""
    out: dict[str, float | None] = {}
    if recent is not None and len(recent):
        s = ranker.score_rows(FeatureRows.from_frame(recent))
        y = recent["label"].to_numpy(np.float64)
        rm = ranking_metrics(_ranking_lists(recent, s), ks=(1, 3))
        out.update({"recent_auc": roc_auc(y, s), "recent_logloss": log_loss(y, s), "recent_mrr": rm["mrr"],
                    "recent_ndcg@3": rm["ndcg@3"], "recent_hit_rate@1": rm["hit_rate@1"],
                    "recent_lists": rm["n_lists"], "recent_rows": float(len(recent))})
    if val is not None and len(val):
        s = ranker.score_rows(FeatureRows.from_frame(val))
        y = val["label"].to_numpy(np.float64)
        out.update({"val_auc": roc_auc(y, s), "val_logloss": log_loss(y, s), "val_rows": float(len(val))})
    if ranking is not None and len(ranking):
        s = ranker.score_rows(FeatureRows.from_frame(ranking))
        rm = ranking_metrics(_ranking_lists(ranking, s), ks=(10,))
        out.update({"val_ndcg@10": rm["ndcg@10"], "val_mrr": rm["mrr"], "val_lists": rm["n_lists"]})
    return {k: _clean(float(v)) for k, v in out.items()}


def evaluate_parser(parser, heldout_rows: list[dict[str, Any]],
                    operator_rows: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """NLU figures on its held-out generated rows, the public contract examples (and the operator's held-out examples)."""
    out: dict[str, Any] = {}
    sets = [("heldout", cases_from_examples(heldout_rows)), ("nlu_examples", public_examples())]
    if operator_rows:
        sets.append(("operator", cases_from_examples(operator_rows)))
    for name, cases in sets:
        if cases:
            m = evaluate_cases(parser.parse, cases)
            for key in ("intent_accuracy", "slot_micro_f1", "exact"):
                out[f"{name}_{key}"] = _clean(m.get(key))
    exact = [out[k] for k in ("heldout_exact", "nlu_examples_exact") if out.get(k) is not None]
    out["exact_mean"] = float(np.mean(exact)) if exact else None
    return out


# --------------------------------------------------------------------------- sanity checks


@dataclass
class SanityResult:
    ok: bool
    checks: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def sanity_check_ranker(path: Path, sample: pd.DataFrame | FeatureRows, *, max_latency_ms: float,
                        version: str | None = None, n_candidates: int = 100) -> SanityResult:
    """Load the checkpoint from disk, score ``sample`` (finite, in [0, 1]) and time 100 candidates."""
    checks: dict[str, Any] = {}
    try:
        ranker = WideDeepRanker.load(Path(path), version=version)
        checks["loads"] = True
    except RankerLoadError as exc:
        return SanityResult(False, {"loads": False}, f"불러올 수 없어요: {exc}")
    rows = sample if isinstance(sample, FeatureRows) else FeatureRows.from_frame(sample)
    if len(rows) == 0:
        return SanityResult(False, checks, "점검할 표본이 없어요")
    scores = ranker.score_rows(rows)
    finite = bool(np.all(np.isfinite(scores)) and np.all((scores >= 0) & (scores <= 1)))
    checks["scores_finite"] = finite
    if not finite:
        return SanityResult(False, checks, "점수에 NaN/무한대 또는 [0, 1] 밖의 값이 있어요")
    idx = np.resize(np.arange(len(rows)), n_candidates)
    big = FeatureRows(rows.user_id[idx], rows.shop_id[idx], rows.brand_id[idx], [rows.category[i] for i in idx],
                      [rows.semantic_query[i] for i in idx], rows.wide[idx], rows.numerical[idx])
    ranker.score_rows(big)  # warm
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        ranker.score_rows(big)
        times.append((time.perf_counter() - t0) * 1000)
    latency = statistics.median(times)
    checks["latency_ms_100"] = round(latency, 3)
    if latency > max_latency_ms:
        return SanityResult(False, checks, f"너무 느려요: 후보 100개에 {latency:.1f}ms (한도 {max_latency_ms:.0f}ms)")
    return SanityResult(True, checks)


def sanity_check_parser(path: Path, *, max_latency_ms: float, version: str | None = None) -> SanityResult:
    """Load the NLU folder, parse a few messages (valid intent, finite confidence) and time them."""
    checks: dict[str, Any] = {}
    try:
        parser = NLUParser.load(Path(path), version=version)
        checks["loads"] = True
    except Exception as exc:  # noqa: BLE001 - anything here means "cannot serve this"
        return SanityResult(False, {"loads": False}, f"불러올 수 없어요: {type(exc).__name__}: {exc}")
    times, ok = [], True
    parser.parse(NLU_SANITY_MESSAGES[0])
    for text in NLU_SANITY_MESSAGES:
        t0 = time.perf_counter()
        r = parser.parse(text)
        times.append((time.perf_counter() - t0) * 1000)
        ok = ok and r.intent in INTENTS and math.isfinite(float(r.confidence)) and 0.0 <= r.confidence <= 1.0
    checks["outputs_valid"] = ok
    latency = statistics.median(times)
    checks["latency_ms"] = round(latency, 3)
    if not ok:
        return SanityResult(False, checks, "의도나 확신도가 올바르지 않아요")
    if latency > max_latency_ms:
        return SanityResult(False, checks, f"너무 느려요: 메시지 하나에 {latency:.1f}ms (한도 {max_latency_ms:.0f}ms)")
    return SanityResult(True, checks)


# --------------------------------------------------------------------------- the gate


@dataclass
class GateDecision:
    promote: bool
    metric: str
    candidate: float | None
    production: float | None
    margin: float
    sanity: SanityResult
    reasons: list[str]

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["sanity"] = self.sanity.to_json()
        return d


def _lower_is_better(metric: str) -> bool:
    return "logloss" in metric or "latency" in metric


def gate(candidate: dict[str, Any], production: dict[str, Any] | None, sanity: SanityResult, *, metric: str,
         margin: float, guards: dict[str, float] | None = None) -> GateDecision:
    """Promote only a sane candidate that beats production on ``metric`` by ``margin`` and no guard regresses.

    ``guards`` maps a metric to how much worse than production it may be.
    Without a production version (nothing to compare with) a sane candidate passes.
    """
    reasons: list[str] = []
    c = candidate.get(metric)
    p = production.get(metric) if production else None
    better = False
    if not sanity.ok:
        reasons.append(f"점검 실패: {sanity.reason}")
    if production is None:
        better = True
        reasons.append("운영 모델이 없어 비교 없이 통과")
    elif c is None or p is None:
        reasons.append(f"{metric}을(를) 비교할 수 없어요 (후보 {c}, 운영 {p})")
    else:
        delta = (p - c) if _lower_is_better(metric) else (c - p)
        better = delta >= margin
        reasons.append(f"{metric}: 후보 {c:.4f} / 운영 {p:.4f} (차이 {delta:+.4f}, 필요 {margin:+.4f})"
                       + (" → 더 좋음" if better else " → 충분히 좋지 않음"))
    for g, tol in (guards or {}).items():
        gc, gp = candidate.get(g), production.get(g) if production else None
        if gc is None or gp is None:
            continue
        worse = (gc - gp) if _lower_is_better(g) else (gp - gc)
        if worse > tol:
            better = False
            reasons.append(f"{g}이(가) 운영보다 {worse:.4f} 나빠요 (허용 {tol:.4f})")
    return GateDecision(bool(better and sanity.ok), metric, c, p, margin, sanity, reasons)


def nlu_operator_gate(candidate: dict[str, Any], production: dict[str, Any] | None, sanity: SanityResult, *,
                      tolerance: float = 0.005) -> GateDecision:
    """An NLU trained with the operator's examples: no worse than production on their held-out examples
    (``operator_exact``, margin 0) and on the held-out generated data (``heldout_exact``, within ``tolerance``)."""
    if candidate.get("operator_exact") is not None:
        return gate(candidate, production, sanity, metric="operator_exact", margin=0.0,
                    guards={"heldout_exact": tolerance})
    return gate(candidate, production, sanity, metric="heldout_exact", margin=-tolerance)


def ranker_primary_metric(candidate: dict[str, Any], min_recent_lists: int = 10) -> str:
    lists = candidate.get("recent_lists") or 0
    if lists >= min_recent_lists and candidate.get("recent_mrr") is not None:
        return "recent_mrr"
    return "val_auc" if candidate.get("val_auc") is not None else "recent_mrr"


# --------------------------------------------------------------------------- operator promotion


class PromotionRefused(RuntimeError):
    """A version the gate does not let into production (the message says why, in Korean)."""


def synthetic_rows(ranker, n: int = 100, seed: int = 0) -> FeatureRows:
    """Plausible feature rows for a sanity check: known shops, random features in [0, 1]."""
    rng = np.random.default_rng(seed)

    shops = np.asarray(ranker.encoders_.shops.keys or [0], dtype=np.int64)
    cats = ranker.encoders_.categories.keys or ["한식"]
    return FeatureRows(
        user_id=np.full(n, -1, dtype=np.int64), shop_id=shops[rng.integers(0, len(shops), n)],
        brand_id=np.full(n, -1, dtype=np.int64), category=[cats[i % len(cats)] for i in range(n)],
        semantic_query=["급식카드 되는 떡볶이"] * n, wide=rng.random((n, WIDE_DIM), dtype=np.float32),
        numerical=rng.random((n, NUM_DIM), dtype=np.float32))


def check_version(mv, *, max_ranker_latency_ms: float, max_nlu_latency_ms: float) -> SanityResult:
    """Sanity checks of a registered version from its folder (ranker and NLU fully; others: the folder exists)."""
    path = Path(mv.path)
    if not path.is_dir():
        return SanityResult(False, {"exists": False}, f"모델 폴더가 없어요: {path}")
    if mv.kind == "ranker":
        try:
            sample = synthetic_rows(WideDeepRanker.load(path, version=mv.version))
        except RankerLoadError as exc:
            return SanityResult(False, {"loads": False}, f"불러올 수 없어요: {exc}")
        return sanity_check_ranker(path, sample, max_latency_ms=max_ranker_latency_ms, version=mv.version)
    if mv.kind == "nlu":
        return sanity_check_parser(path, max_latency_ms=max_nlu_latency_ms, version=mv.version)
    return SanityResult(True, {"exists": True})


def promote_version(registry, version: str, settings, *, force: bool = False):
    """Promote ``version`` after its sanity checks and its recorded offline comparison; returns the ModelVersion.

    ``force`` skips the recorded comparison (an operator's decision, e.g. after an
    online A/B test) but never the sanity checks.
    """
    mv = registry.get(version)
    if mv is None:
        raise RegistryError(f"모델 버전 {version}이(가) 없어요.")
    if mv.status == "production":
        return mv
    sanity = check_version(mv, max_ranker_latency_ms=settings.max_ranker_latency_ms,
                           max_nlu_latency_ms=settings.max_nlu_latency_ms)
    if not sanity.ok:
        raise PromotionRefused(f"{version}: 점검 실패 — {sanity.reason}")
    recorded = (mv.metrics or {}).get("promotion")
    was_production = mv.promoted_at is not None or "rolled_back" in (mv.metrics or {})
    if not force and isinstance(recorded, dict) and not recorded.get("promote") and not was_production:
        reasons = "; ".join(recorded.get("reasons") or [])
        raise PromotionRefused(f"{version}: 오프라인 비교에서 운영 모델보다 낫지 않았어요 ({reasons}). "
                               "그래도 올리려면 --force를 쓰세요.")
    return registry.promote(version)
