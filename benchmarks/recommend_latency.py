"""Latency of one ``recommend`` call (Layer 1 + features + Wide & Deep + rules) with the production models.

::

    .venv/bin/python benchmarks/recommend_latency.py --var-dir var/benchmarks/sample/var

Loads the production index and ranker of ``--var-dir`` (nothing is trained),
then times ``--requests`` calls over a mix of vague, category, budget and
meal-card requests from random known users, after a warm-up. Prints p50/p95
and the candidate count; the issue's bound is p95 < 40 ms at 1,500 shops.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--var-dir", type=Path, required=True)
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from naviyam.core.registry import ModelRegistry
    from naviyam.db.session import make_engine
    from naviyam.recommend.engine import RecommendationEngine, latency_percentiles
    from naviyam.recommend.interactions import Interactions

    engine = make_engine(f"sqlite:///{args.var_dir / 'naviyam.db'}")
    registry = ModelRegistry(engine, args.var_dir / "models")
    rec = RecommendationEngine.load(engine, registry)
    now = Interactions.load(engine).window()[1] or dt.datetime(2026, 1, 5, 12)
    now = now.replace(hour=12, minute=0, second=0)
    rng = np.random.default_rng(args.seed)
    users = sorted(rec.state.user_orders)
    requests = [({"text": "오늘 뭐 먹지?", "filters": {}}),
                ({"text": "치킨 먹고 싶어", "semantic_query": "치킨", "filters": {"category": "치킨"}}),
                ({"text": "만원으로 뭐 먹지", "semantic_query": "만원 맛집", "filters": {"budget_filter": 10000}}),
                ({"text": "급식카드 되는 분식", "semantic_query": "분식",
                  "filters": {"category": "분식", "payment_method": "meal_card"}})]
    for i in range(20):
        rec.recommend(int(users[i % len(users)]), requests[i % len(requests)], {"now": now}, top_k=5)
    times, n_cands = [], []
    for i in range(args.requests):
        user = int(users[int(rng.integers(len(users)))])
        t0 = time.perf_counter()
        out = rec.recommend(user, requests[i % len(requests)], {"now": now}, top_k=5)
        times.append((time.perf_counter() - t0) * 1000)
        n_cands.append(out.metadata["n_candidates"])
    res = {"shops": len(rec.generator.catalog), "ranking": rec.ranking_path, **latency_percentiles(times),
           "mean_candidates": float(np.mean(n_cands))}
    print(json.dumps(res, ensure_ascii=False))


if __name__ == "__main__":
    main()
