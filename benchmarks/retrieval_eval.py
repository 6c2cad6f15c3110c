"""Offline quality of Layer 1 and of the hybrid retriever on the sample world.

Two measurements:

1. **Layer 1 recall on held-out orders.** Interactions before the cut-off
   (default: the last 14 days are held out) fit the funnels; every held-out
   order becomes a request at its own time from the user's home. Reported per
   funnel alone and merged (``--holdout-frac 0.2``: the last 20 % of orders
   instead): Recall@100 (is the ordered shop among the 100
   candidates? the ceiling for the ranker) and NDCG@10 of the merged order
   (as if it were the final ranking). Three request kinds:
   ``open`` (no filters: "뭐 먹지?"), ``category`` (filters.category = the
   ordered shop's category, semantic_query = the category), ``dish``
   (semantic_query = the ordered menu's dish, no hard filter).

2. **Hybrid fusion on a labelled query set built from the data.** Queries:
   dish requests ("떡볶이 먹고 싶어" → shops serving 떡볶이), category aliases
   ("중국집 추천해줘" → 중식 shops) and held-out ordered menu names
   ("치즈떡볶이" → shops with the same dish). Methods: BM25 alone, dense
   alone, RRF, weighted sums over alpha; alpha is tuned on one half of the
   queries and reported on the other. Metrics: NDCG@10, P@10, Recall@100.

Usage::

    python benchmarks/retrieval_eval.py --db sqlite:///var/naviyam.db [--holdout-days 14] [--max-requests 3000]

The production "index" version's vectors are re-used (no re-embedding when
the shops are the same); the funnels are refitted on the pre-cut-off data.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import math
import random
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from sqlalchemy import select

from naviyam.config import get_settings
from naviyam.core.registry import ModelRegistry
from naviyam.core.taxonomy import taxonomy
from naviyam.db.models import ProductOrder, ShopMenu
from naviyam.db.session import make_engine
from naviyam.recommend.funnels import FUNNEL_NAMES
from naviyam.recommend.layer1 import CandidateGenerator, Layer1Config, RequestContext, UserDirectory, fit_layer1
from naviyam.retrieval.embedding import make_embedder
from naviyam.retrieval.index import ShopIndex

log = logging.getLogger("retrieval_eval")


def ndcg_at_k(ranked: list[int], relevant: set[int], k: int = 10) -> float:
    """sum_{i<k, r_i relevant} 1/log2(i+2) divided by the ideal sum over min(k, |relevant|) items."""
    dcg = sum(1.0 / math.log2(i + 2) for i, s in enumerate(ranked[:k]) if s in relevant)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(k, len(relevant))))
    return dcg / ideal if ideal else 0.0


# --------------------------------------------------------------------------- Layer 1 recall


def layer1_recall(engine, registry, embedder, holdout_days: int, max_requests: int, seed: int,
                  holdout_frac: float | None = None) -> dict:
    with engine.connect() as conn:
        times = conn.execute(select(ProductOrder.ordered_at).order_by(ProductOrder.ordered_at)).scalars().all()
        if holdout_frac:  # the last fraction of orders by time
            cutoff = times[int(len(times) * (1 - holdout_frac))]
        else:
            cutoff = (times[-1] - dt.timedelta(days=holdout_days)).replace(hour=0, minute=0, second=0, microsecond=0)
        held = conn.execute(
            select(ProductOrder.user_id, ProductOrder.shop_id, ProductOrder.ordered_at, ShopMenu.dish)
            .join(ShopMenu, ShopMenu.id == ProductOrder.menu_id, isouter=True)
            .where(ProductOrder.ordered_at >= cutoff).order_by(ProductOrder.id)
        ).all()
    current = registry.current("index")
    previous = ShopIndex.load(Path(current.path) / "index") if current else None
    t0 = time.perf_counter()
    arts = fit_layer1(engine, embedder=embedder, previous_index=previous, until=cutoff)
    fit_s = time.perf_counter() - t0
    gen = CandidateGenerator(arts, config=Layer1Config(), users=UserDirectory.load(engine), engine=None)
    rnd = random.Random(seed)
    if len(held) > max_requests:
        held = rnd.sample(held, max_requests)
    cat = gen.catalog
    known = set(arts.matrix.user_ids.tolist())
    out = {"cutoff": cutoff.isoformat(), "holdout_orders": len(held), "fit_seconds": round(fit_s, 2),
           "embedded_for_eval": arts.index_stats.n_embedded, "kinds": {}}
    for kind in ("open", "category", "dish"):
        hits = defaultdict(list)
        ndcg_f = defaultdict(list)
        ndcg, ndcg_cold, hits_cold = [], [], defaultdict(list)
        lat = []
        for user_id, shop_id, at, dish in held:
            if shop_id not in cat.row_of:
                continue
            category = cat.categories[cat.row_of[shop_id]]
            if kind == "open":
                nlu = {"filters": {}}
            elif kind == "category":
                nlu = {"filters": {"category": category}, "semantic_query": category}
            else:
                nlu = {"filters": {}, "semantic_query": dish or category}
            res = gen.candidates(user_id, nlu, RequestContext(now=at), k=100, keep_funnel_lists=True)
            lat.append(res.timings_ms["total"])
            cold = user_id not in known
            merged = [c.shop_id for c in res.candidates]
            for name in (*FUNNEL_NAMES, "merged"):
                ids = merged if name == "merged" else [c.shop_id for c in res.per_funnel.get(name, [])]
                hit = float(shop_id in ids)
                hits[name].append(hit)
                ndcg_f[name].append(ndcg_at_k(ids, {shop_id}))
                if cold:
                    hits_cold[name].append(hit)
            g = ndcg_at_k(merged, {shop_id})
            ndcg.append(g)
            if cold:
                ndcg_cold.append(g)
        out["kinds"][kind] = {
            "recall@100": {n: round(float(np.mean(v)), 4) for n, v in hits.items()},
            "ndcg@10_merged": round(float(np.mean(ndcg)), 4),
            "ndcg@10_each_funnel_order": {n: round(float(np.mean(v)), 4) for n, v in ndcg_f.items()},
            "cold_users": {"n": len(ndcg_cold),
                           "recall@100": {n: round(float(np.mean(v)), 4) for n, v in hits_cold.items() if v},
                           "ndcg@10_merged": round(float(np.mean(ndcg_cold)), 4) if ndcg_cold else None},
            "latency_ms": {"p50": round(float(np.percentile(lat, 50)), 2),
                           "p95": round(float(np.percentile(lat, 95)), 2)},
        }
        log.info("%s: %s", kind, out["kinds"][kind])
    return out


# --------------------------------------------------------------------------- fusion


def labelled_queries(engine, cat, seed: int, n_menu_queries: int = 300) -> list[tuple[str, set[int], str]]:
    tax = taxonomy()["categories"]
    queries: list[tuple[str, set[int], str]] = []
    for dish, rows in sorted(cat.dish_rows.items()):
        if len(rows) >= 3:
            queries.append((f"{dish} 먹고 싶어", {int(cat.ids[r]) for r in rows}, "dish"))
    for category, spec in tax.items():
        rel = {int(cat.ids[r]) for r in np.flatnonzero(cat.category_array == category)}
        if not rel:
            continue
        for alias in spec["aliases"]:
            if alias != category:
                queries.append((f"{alias} 추천해줘", rel, "alias"))
    with engine.connect() as conn:
        names = conn.execute(select(ShopMenu.name, ShopMenu.dish).where(ShopMenu.dish.is_not(None))).all()
    rnd = random.Random(seed)
    seen = set()
    for name, dish in rnd.sample(names, min(len(names), 5 * n_menu_queries)):
        if name in seen or name == dish or dish not in cat.dish_rows:
            continue
        seen.add(name)
        queries.append((name, {int(cat.ids[r]) for r in cat.dish_rows[dish]}, "menu_name"))
        if len(seen) >= n_menu_queries:
            break
    return queries


def fusion_eval(index: ShopIndex, cat, queries, seed: int) -> dict:
    rnd = random.Random(seed)
    order = list(range(len(queries)))
    rnd.shuffle(order)
    dev = set(order[: len(order) // 2])  # the other half is the test half
    methods = {"bm25": ("bm25", None), "dense": ("dense", None), "rrf": ("rrf", None)}
    for a in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        methods[f"weighted_{a}"] = ("weighted", a)
    scores: dict[str, dict[str, list[float]]] = {m: defaultdict(list) for m in methods}
    from naviyam.retrieval.index import FusionConfig

    for i, (q, rel, kind) in enumerate(queries):
        for m, (method, alpha) in methods.items():
            cfg = FusionConfig(method=method, alpha=alpha if alpha is not None else 0.5)
            res = index.search(q, k=100, fusion=cfg, method=method)
            ranked = [int(cat.ids[r]) for r in res.rows]
            split = "dev" if i in dev else "test"
            scores[m][f"{split}_ndcg"].append(ndcg_at_k(ranked, rel))
            scores[m][f"{split}_p10"].append(len(set(ranked[:10]) & rel) / 10)
            scores[m][f"{split}_r100"].append(len(set(ranked) & rel) / min(len(rel), 100))
            scores[m][f"{kind}_ndcg"].append(ndcg_at_k(ranked, rel))
    table = {m: {k: round(float(np.mean(v)), 4) for k, v in s.items()} for m, s in scores.items()}
    best_alpha = max((m for m in methods if m.startswith("weighted")), key=lambda m: table[m]["dev_ndcg"])
    return {"n_queries": len(queries), "by_kind": dict(sorted(
        (k, sum(1 for q in queries if q[2] == k)) for k in {q[2] for q in queries})),
        "best_weighted_on_dev": best_alpha, "table": table}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--db", default=None, help="SQLAlchemy URL (default: the configured database)")
    p.add_argument("--models-dir", default=None, help="registry folder (default: settings.models_dir)")
    p.add_argument("--holdout-days", type=int, default=14)
    p.add_argument("--holdout-frac", type=float, default=None, help="hold out this last fraction of orders instead")
    p.add_argument("--max-requests", type=int, default=3000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip-layer1", action="store_true")
    p.add_argument("--skip-fusion", action="store_true")
    p.add_argument("--out", default=None, help="write the JSON report here")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = get_settings()
    engine = make_engine(args.db or settings.resolved_database_url)
    registry = ModelRegistry(engine, Path(args.models_dir) if args.models_dir else settings.models_dir)
    current = registry.current("index")
    cfg = Layer1Config()
    embedder = make_embedder(cfg.embedder)
    report: dict = {}
    if not args.skip_fusion:
        if current is None:
            raise SystemExit("build the index first: naviyam index build")
        gen = CandidateGenerator.load(engine, registry, embedder=embedder)
        queries = labelled_queries(engine, gen.catalog, args.seed)
        t0 = time.perf_counter()
        report["fusion"] = fusion_eval(gen.index, gen.catalog, queries, args.seed)
        report["fusion"]["seconds"] = round(time.perf_counter() - t0, 1)
        log.info("fusion: %s", json.dumps(report["fusion"], ensure_ascii=False))
    if not args.skip_layer1:
        report["layer1"] = layer1_recall(engine, registry, embedder, args.holdout_days, args.max_requests, args.seed,
                                         args.holdout_frac)
    text = json.dumps(report, ensure_ascii=False, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
