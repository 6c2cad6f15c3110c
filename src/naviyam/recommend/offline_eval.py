"""``naviyam eval ranker``: the operator's own temporal hold-out, every method side by side.

The last ``days`` of the database are held out. Everything the service would
build is rebuilt on the data *before* the cut into temporary storage (the
production registry is never touched): Layer 1 with its settings fitted as
``index build`` fits them, the ranker's training set and a Wide & Deep
ranker. At the cut, each user who ordered a shop new to them in the hold-out
is asked "오늘 뭐 먹지?"; the served order (Layer 1 → Wide & Deep → rules) is
compared with popularity, item-kNN, ALS and the Layer 1 merge order over the
full catalogue (:mod:`naviyam.recommend.evaluation`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import sparse
from sqlalchemy import Engine

from naviyam.recommend.engine import RecommendationEngine
from naviyam.recommend.evaluation import (
    DEPTH,
    METHODS,
    VAGUE_NLU,
    Holdout,
    make_holdout,
    peer_rankings,
    side_by_side,
)
from naviyam.recommend.evaluation_report import bar_chart, markdown_table
from naviyam.recommend.features import InteractionState
from naviyam.recommend.interactions import Interactions
from naviyam.recommend.layer1 import CandidateGenerator, Layer1Config, RequestContext, UserDirectory, fit_layer1
from naviyam.recommend.layer1_tuning import tune_layer1
from naviyam.recommend.ranker.pipeline import production_index, production_layer1_config
from naviyam.recommend.ranker.serving import WideDeepRanker
from naviyam.recommend.ranker.trainer import RankerTrainConfig, fit_wide_deep, load_training_set
from naviyam.recommend.training_data import TrainingDataConfig, build_training_set
from naviyam.retrieval.catalog import ShopCatalog
from naviyam.retrieval.embedding import make_embedder
from naviyam.retrieval.index import ShopIndex

log = logging.getLogger(__name__)

REPORT_METRICS = ("ndcg@10", "recall@10", "mrr", "recall@100", "auc", "coverage", "meal_card_share",
                  "good_shop_share", "diversity")


@dataclass
class EvalReport:
    cutoff: dt.datetime
    days: int
    n_users: int
    n_relevant: int
    results: dict[str, dict[str, float]]
    itemknn_variant: str | None
    seconds: dict[str, float] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)

    def summary(self) -> dict[str, dict[str, float]]:
        """``{method: {metric: value}}`` for the five methods of the report (what ``--json`` prints)."""
        return {m: {k: round(float(v), 6) for k, v in self.results[m].items() if k != "n_users"}
                for m in METHODS if m in self.results}


def orders_matrix(interactions: Interactions, matrix) -> sparse.csr_matrix:
    """Orders only, users × shops, aligned with ``matrix`` (what popularity counts)."""
    o = interactions.orders
    col_of = {int(s): j for j, s in enumerate(matrix.shop_ids)}
    pairs = [(matrix.user_row[int(u)], col_of[int(s)]) for u, s in zip(o.user_id, o.shop_id, strict=True)
             if int(u) in matrix.user_row and int(s) in col_of]
    rows = [r for r, _ in pairs]
    cols = [c for _, c in pairs]
    return sparse.csr_matrix((np.ones(len(pairs)), (rows, cols)), shape=matrix.matrix.shape)


def run_eval_ranker(engine: Engine, registry=None, *, days: int = 14, out_dir: Path | None = None, embedder=None,
                    train_config=None, data_config=None, tune: bool = True, max_users: int = 2000,
                    seed: int = 0, progress: Callable[[str, int, int], None] | None = None) -> EvalReport:
    """Hold out the last ``days``, rebuild every model on the rest in a temporary folder, compare (module doc)."""
    t0 = time.perf_counter()
    seconds: dict[str, float] = {}
    everything = Interactions.load(engine)
    start, end = everything.window()
    if end is None:
        raise ValueError("주문·즐겨찾기·리뷰가 없어 평가할 수 없어요. 먼저 데이터를 가져오세요.")
    cutoff = end - dt.timedelta(days=days)
    if cutoff <= start:
        raise ValueError(f"데이터 기간({start:%Y-%m-%d}~{end:%Y-%m-%d})이 평가 기간 {days}일보다 짧아요.")
    config, catalog, arts, ranker = _models_before(engine, registry, cutoff, seconds, embedder=embedder, days=days,
                                                   train_config=train_config, data_config=data_config, tune=tune,
                                                   seed=seed, progress=progress, t0=t0)
    holdout = _holdout(everything, arts, cutoff, max_users, seed)
    users = holdout.users
    if not users:
        raise ValueError(f"{cutoff:%Y-%m-%d %H:%M} 이후에 새 가게를 주문한 기존 사용자가 없어 평가할 수 없어요.")
    t = time.perf_counter()
    lists = peer_rankings(arts.matrix, orders_matrix(arts.interactions, arts.matrix), holdout)
    gen = CandidateGenerator(arts, config=config, users=UserDirectory.load(engine), engine=None,
                             version="evaluation")
    request = RequestContext(now=cutoff)
    lists["layer1"] = {u: [c.shop_id for c in gen.candidates(u, VAGUE_NLU, request).candidates] for u in users}
    rec = RecommendationEngine(gen, InteractionState.load(engine, catalog, until=cutoff), ranker)
    lists["wide_deep"] = {u: [r["shop_id"] for r in rec.recommend(u, VAGUE_NLU, {"now": cutoff},
                                                                  top_k=DEPTH).recommendations] for u in users}
    results = side_by_side(lists, holdout, catalog)
    seconds["evaluation"] = time.perf_counter() - t
    variant = next((m for m in results if m.startswith("itemknn_")
                    and results[m] == results.get("itemknn")), None)
    report = EvalReport(cutoff, days, len(users), sum(len(r) for r in holdout.relevant.values()), results, variant,
                        {k: round(v, 1) for k, v in seconds.items()})
    if out_dir is not None:
        write_report(report, Path(out_dir))
    return report


def _models_before(engine: Engine, registry, cutoff: dt.datetime, seconds: dict[str, float], *, embedder, days: int,
                   train_config, data_config, tune: bool, seed: int, progress, t0: float):
    """(Layer 1 settings, catalogue, Layer 1, ranker) rebuilt on the events before ``cutoff``; ``seconds`` filled."""
    config = production_layer1_config(registry) or Layer1Config()
    if embedder is None:
        embedder = make_embedder(config.embedder)
    config = dataclasses.replace(config, embedder=embedder.name)
    catalog = ShopCatalog.load(engine, until=cutoff)
    previous = production_index(registry)
    if previous is not None and previous.embedder_name != embedder.name:
        previous = None

    index, _stats = ShopIndex.build(catalog, embedder, previous=previous, fusion=config.fusion)
    seconds["index"] = time.perf_counter() - t0
    if tune:
        t = time.perf_counter()
        config, _tuning = tune_layer1(engine, config, catalog=catalog, embedder=embedder, index=index, until=cutoff,
                                      holdout_days=days)
        seconds["layer1_tuning"] = time.perf_counter() - t
    t = time.perf_counter()
    arts = fit_layer1(engine, config=config, embedder=embedder, previous_index=index, until=cutoff, catalog=catalog)
    seconds["layer1"] = time.perf_counter() - t

    t = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="naviyam-eval-") as tmp:
        build_training_set(engine, Path(tmp), data_config or TrainingDataConfig(seed=seed), embedder=embedder,
                           previous_index=index, layer1_config=config, until=cutoff, progress=progress)
        train, val, ranking, manifest = load_training_set(Path(tmp))
    seconds["training_set"] = time.perf_counter() - t
    t = time.perf_counter()
    tcfg = train_config or RankerTrainConfig(seed=seed)
    result = fit_wide_deep(train, val, ranking, tcfg, categories=manifest.get("categories"))
    ranker = WideDeepRanker.from_training(result, tcfg)
    seconds["ranker"] = time.perf_counter() - t
    return config, catalog, arts, ranker


def _holdout(everything: Interactions, arts, cutoff: dt.datetime, max_users: int, seed: int) -> Holdout:
    """The shops known users ordered new to them after ``cutoff`` (at most ``max_users`` users, drawn by ``seed``)."""
    o = everything.orders
    after = o.at >= np.datetime64(cutoff, "s")
    holdout = make_holdout(cutoff, zip(o.user_id[after].tolist(), o.shop_id[after].tolist(), strict=False),
                           zip(arts.interactions.orders.user_id.tolist(), arts.interactions.orders.shop_id.tolist(), strict=False),
                           known_users=arts.matrix.user_ids.tolist())
    if len(holdout.users) > max_users:
        keep = sorted(np.random.default_rng(seed).choice(holdout.users, max_users, replace=False).tolist())
        holdout = dataclasses.replace(holdout, relevant={u: holdout.relevant[u] for u in keep},
                                      seen={u: holdout.seen[u] for u in keep})
    return holdout


def write_report(report: EvalReport, out_dir: Path) -> None:
    """``ranker_eval.md``, ``ranker_eval.png`` and ``ranker_eval.json`` in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    main = {m: report.results[m] for m in METHODS if m in report.results}
    pop = main.get("popularity", {}).get("ndcg@10", 0.0)
    best = max((m for m in ("popularity", "itemknn", "als") if m in main), key=lambda m: main[m]["ndcg@10"])
    wd = main.get("wide_deep", {}).get("ndcg@10", 0.0)
    lines = [
        "# 추천 모델 오프라인 평가", "",
        f"마지막 {report.days}일({report.cutoff:%Y-%m-%d %H:%M} 이후)을 평가용으로 남기고, 그 전 데이터로만 "
        "임시 모델을 만들어 비교했어요 (운영 모델은 건드리지 않았어요).",
        f"평가 사용자 {report.n_users}명, 새로 주문한 가게 {report.n_relevant}건. 모든 방법이 전체 가게를 순위로 "
        "매기고, 예전에 주문한 가게는 빼고 계산했어요.", "",
        markdown_table(main, REPORT_METRICS), "",
        f"Wide & Deep의 NDCG@10은 가장 강한 비교 대상({best})보다 "
        f"{(wd / main[best]['ndcg@10'] - 1) if main[best]['ndcg@10'] else float('nan'):+.1%}, 인기순보다 "
        f"{(wd / pop - 1) if pop else float('nan'):+.1%}예요.",
        f"item-kNN은 세 가지 중 가장 좋은 {report.itemknn_variant}의 결과예요.", "",
        "단계별 시간(초): " + ", ".join(f"{k} {v}" for k, v in report.seconds.items()),
    ]
    (out_dir / "ranker_eval.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    bar_chart(main, ("ndcg@10", "recall@10", "mrr"), "전체 순위 평가 (평가 기간 주문)", out_dir / "ranker_eval.png")
    (out_dir / "ranker_eval.json").write_text(json.dumps(
        {"cutoff": report.cutoff.isoformat(), "days": report.days, "n_users": report.n_users,
         "n_relevant": report.n_relevant, "itemknn_variant": report.itemknn_variant, "seconds": report.seconds,
         "results": report.results}, ensure_ascii=False, indent=2), encoding="utf-8")
    report.files = {"markdown": str(out_dir / "ranker_eval.md"), "chart": str(out_dir / "ranker_eval.png"),
                    "json": str(out_dir / "ranker_eval.json")}
