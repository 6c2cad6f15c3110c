"""Real-data benchmark: the operator's whole path, then every method side by side on one hold-out.

::

    .venv/bin/python benchmarks/realdata/run.py ml100k --work var/benchmarks/ml100k
    .venv/bin/python benchmarks/realdata/run.py sample --work var/benchmarks/sample
    .venv/bin/python benchmarks/realdata/run.py ml100k-heldback --work var/benchmarks/heldback

Steps (each a subprocess of the installed ``naviyam`` command, with its own
``NAVIYAM_VAR_DIR`` inside ``--work`` so no other database is touched):

1. the workbook: MovieLens-100k converted by ``movielens.py`` (``ml100k``),
   by the independently written ``heldback.py`` with a 28-day hold-out
   (``ml100k-heldback``, the held-back check), or the sample world
   generated, exported and cut by ``split.py`` (``sample``); the hold-out
   (the last ``--holdout-days``) is never in it;
2. ``naviyam data import`` → ``naviyam index build`` → ``naviyam train data``
   → ``naviyam train ranker``;
3. one evaluation run on the hold-out: popularity, implicit ALS, item-kNN
   (cosine, BM25, co-occurrence), the Layer 1 merge order, and the served
   ``POST /recommendations`` (the FastAPI app in process, top 50, then the
   user's earlier orders dropped), each over the full catalogue
   (:mod:`naviyam.recommend.evaluation`).

Writes ``report.md``, ``report.json`` and ``report.png`` into ``--work``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
NAVIYAM = Path(sys.executable).with_name("naviyam")
VAGUE_REQUEST = {"text": "오늘 뭐 먹지?", "intent": "FOOD_RECOMMENDATION", "confidence": 1.0, "entities": [],
                 "filters": {}}
SERVED_TOP_K = 50
log = logging.getLogger("realdata")


def _load_sibling(name: str):
    """A sibling script of this benchmark as a module (the benchmarks are scripts, not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"realdata_{name}", HERE / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def naviyam(var_dir: Path, *args: str) -> float:
    """Run one ``naviyam`` command for this benchmark's own var dir; seconds taken."""
    env = {**os.environ, "NAVIYAM_VAR_DIR": str(var_dir)}
    env.pop("NAVIYAM_DATABASE_URL", None)
    t0 = time.perf_counter()
    log.info("naviyam %s", " ".join(args))
    subprocess.run([str(NAVIYAM), *args], check=True, env=env)
    return time.perf_counter() - t0


def prepare(dataset: str, work: Path, holdout_days: int, cache: Path, seed: int) -> tuple[Path, dt.datetime]:
    """The workbook folder and hold-out file for ``dataset``; returns (folder, cutoff)."""
    data = work / "data"
    if (data / "conversion.json").exists():
        meta = json.loads((data / "conversion.json").read_text(encoding="utf-8"))
        return data, dt.datetime.fromisoformat(meta["cutoff"])
    if dataset == "ml100k":
        ml = _load_sibling("movielens")
        rep = ml.convert(ml.read_movielens(ml.wheel_path(cache)), data, holdout_days=holdout_days)
        return data, rep.cutoff
    if dataset == "ml100k-heldback":  # the independent conversion and split (28 days unless told)
        ml = _load_sibling("movielens")
        rep = _load_sibling("heldback").convert(ml.wheel_path(cache), data, holdout_days=holdout_days or 28)
        return data, rep["cutoff"]
    split = _load_sibling("split")
    world = work / "world"
    if not (world / "export" / "shop.csv").exists():
        naviyam(world, "data", "generate", "--seed", str(seed))
        naviyam(world, "data", "export", str(world / "export"))
    rep = split.split_workbook(world / "export", data, holdout_days=holdout_days)
    return data, rep["cutoff"]


def operator_path(work: Path, data: Path, skip_train: bool) -> dict[str, float]:
    var = work / "var"
    seconds = {}
    if not (var / "naviyam.db").exists():
        seconds["import"] = naviyam(var, "data", "import", str(data / "workbook"))
    if not skip_train:
        seconds["index_build"] = naviyam(var, "index", "build")
        seconds["train_data"] = naviyam(var, "train", "data")
        seconds["train_ranker"] = naviyam(var, "train", "ranker")
    return seconds


def evaluate(work: Path, data: Path, cutoff: dt.datetime) -> dict:
    os.environ["NAVIYAM_VAR_DIR"] = str(work / "var")
    os.environ.pop("NAVIYAM_DATABASE_URL", None)
    from fastapi.testclient import TestClient
    from scipy import sparse

    from naviyam.api.app import create_app
    from naviyam.config import Settings
    from naviyam.core.registry import ModelRegistry
    from naviyam.db.session import make_engine
    from naviyam.recommend.evaluation import make_holdout, peer_rankings, side_by_side
    from naviyam.recommend.interactions import Interactions, interaction_matrix
    from naviyam.recommend.layer1 import CandidateGenerator, RequestContext
    from naviyam.retrieval.catalog import ShopCatalog

    # one benchmark client asks for every user: no rate limit
    settings = Settings(var_dir=work / "var", rate_limit_per_minute_user=0, rate_limit_per_minute_ip=0)
    engine = make_engine(settings.resolved_database_url)
    catalog = ShopCatalog.load(engine)
    inter = Interactions.load(engine)
    matrix = interaction_matrix(inter, catalog.ids)
    orders = inter.orders
    col_of = {int(s): j for j, s in enumerate(catalog.ids)}
    urow = matrix.user_row
    keep = [(urow[int(u)], col_of[int(s)]) for u, s in zip(orders.user_id, orders.shop_id, strict=True)
            if int(u) in urow and int(s) in col_of]
    om = sparse.csr_matrix((np.ones(len(keep)), ([r for r, _ in keep], [c for _, c in keep])),
                           shape=matrix.matrix.shape)
    ml = _load_sibling("movielens")
    holdout = make_holdout(cutoff, ml.load_holdout(data), zip(orders.user_id.tolist(), orders.shop_id.tolist(), strict=False),
                           known_users=matrix.user_ids.tolist())
    users = holdout.users
    log.info("hold-out: %d users, %d relevant orders", len(users), sum(len(r) for r in holdout.relevant.values()))
    t0 = time.perf_counter()
    lists = peer_rankings(matrix, om, holdout)
    peer_seconds = time.perf_counter() - t0

    registry = ModelRegistry(engine, settings.models_dir)
    gen = CandidateGenerator.load(engine, registry)
    lists["layer1"] = {u: [c.shop_id for c in gen.candidates(u, VAGUE_REQUEST, RequestContext(now=cutoff),
                                                             k=100).candidates] for u in users}
    served, latencies, ranking_paths = {}, [], set()
    with TestClient(create_app(settings, engine=engine)) as client:
        for u in users:
            t = time.perf_counter()
            r = client.post("/recommendations", json={"user_id": u, "chatbot_output": VAGUE_REQUEST,
                                                     "context": {"now": cutoff.isoformat()},
                                                     "top_k": SERVED_TOP_K})
            latencies.append((time.perf_counter() - t) * 1000)
            r.raise_for_status()
            body = r.json()
            ranking_paths.add(body["metadata"].get("ranking"))
            served[u] = [rec["shop_id"] for rec in body["recommendations"]]
    lists["wide_deep"] = served
    results = side_by_side(lists, holdout, catalog)
    best_knn = max((m for m in results if m.startswith("itemknn_")), key=lambda m: results[m]["ndcg@10"])
    return {"results": results, "itemknn_variant": best_knn, "n_users": len(users),
            "n_relevant": sum(len(r) for r in holdout.relevant.values()), "cutoff": cutoff.isoformat(),
            "served_ranking": sorted(p for p in ranking_paths if p), "peer_seconds": peer_seconds,
            "served_latency_ms_p50": float(np.percentile(latencies, 50)) if latencies else None,
            "served_latency_ms_p95": float(np.percentile(latencies, 95)) if latencies else None}


ROWS = ("popularity", "itemknn_cosine", "itemknn_bm25", "itemknn_cooccurrence", "als", "layer1", "wide_deep")
COLUMNS = ("ndcg@10", "recall@10", "mrr", "recall@100", "coverage")


def report(dataset: str, work: Path, out: dict) -> str:
    res = out["results"]
    peers = [m for m in ("popularity", "itemknn", "als") if m in res]
    best_peer = max(peers, key=lambda m: res[m]["ndcg@10"])
    wd = res["wide_deep"]["ndcg@10"]
    gain = wd / res[best_peer]["ndcg@10"] - 1 if res[best_peer]["ndcg@10"] else float("nan")
    gain_pop = wd / res["popularity"]["ndcg@10"] - 1 if res["popularity"]["ndcg@10"] else float("nan")
    lines = [f"# 실제 데이터 벤치마크: {dataset}", "",
             f"기준 시각 {out['cutoff']} 이후 주문을 평가용으로 남겼어요 (사용자 {out['n_users']}명, "
             f"새로 주문한 가게 {out['n_relevant']}건). 모든 방법이 전체 가게를 순위로 매기고, "
             "예전에 주문한 가게는 빼고 계산했어요.", "",
             "| 방법 | " + " | ".join(c.upper() if c == "mrr" else c for c in COLUMNS) + " |",
             "|---|" + "---|" * len(COLUMNS)]
    for m in ROWS:
        if m in res:
            name = {"wide_deep": "**Naviyam /recommendations (Wide & Deep)**", "layer1": "Layer 1 병합 순서"}.get(m, m)
            lines.append(f"| {name} | " + " | ".join(f"{res[m].get(c, float('nan')):.4f}" for c in COLUMNS) + " |")
    lines += ["", f"가장 강한 비교 대상: {best_peer} (item-kNN은 {out['itemknn_variant']}이 가장 좋았어요).",
              f"/recommendations NDCG@10은 가장 강한 비교 대상보다 {gain:+.1%}, 인기순보다 {gain_pop:+.1%}예요.",
              f"서빙 경로: {', '.join(out['served_ranking'])}; 응답 시간 p50 {out['served_latency_ms_p50']:.1f} ms, "
              f"p95 {out['served_latency_ms_p95']:.1f} ms.", ""]
    if out.get("seconds"):
        lines.append("단계별 시간(초): " + ", ".join(f"{k} {v:.0f}" for k, v in out["seconds"].items()))
    out["gain_vs_best_peer"] = gain
    out["gain_vs_popularity"] = gain_pop
    out["best_peer"] = best_peer
    return "\n".join(lines) + "\n"


def chart(dataset: str, out: dict, path: Path) -> None:
    from naviyam.recommend.evaluation_report import bar_chart

    bar_chart({m: out["results"][m] for m in ROWS if m in out["results"]}, ("ndcg@10", "recall@10", "mrr"),
              f"전체 순위 평가: {dataset}", path)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dataset", choices=["ml100k", "ml100k-heldback", "sample"])
    ap.add_argument("--work", type=Path, default=None, help="Working folder (default var/benchmarks/<dataset>)")
    ap.add_argument("--holdout-days", type=int, default=None, help="Default 14 (28 for ml100k-heldback)")
    ap.add_argument("--cache", type=Path, default=Path("var/benchmarks/cache"), help="Where the RecBole wheel is kept")
    ap.add_argument("--seed", type=int, default=42, help="Sample-world seed")
    ap.add_argument("--eval-only", action="store_true", help="Reuse the trained models in --work")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    work = (args.work or Path("var/benchmarks") / args.dataset).resolve()
    work.mkdir(parents=True, exist_ok=True)
    days = args.holdout_days or (28 if args.dataset == "ml100k-heldback" else 14)
    data, cutoff = prepare(args.dataset, work, days, args.cache.resolve(), args.seed)
    seconds = operator_path(work, data, skip_train=args.eval_only)
    out = evaluate(work, data, cutoff)
    out["seconds"] = seconds
    text = report(args.dataset, work, out)
    chart(args.dataset, out, work / "report.png")
    (work / "report.md").write_text(text, encoding="utf-8")
    (work / "report.json").write_text(json.dumps(out, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    print(text)




if __name__ == "__main__":
    main()
