"""Fit Layer 1's settings on the operator's own data (``naviyam index build``), not on constants.

A time split of the database: the funnels are fitted on everything before
``cutoff = last event - holdout_days`` and asked, for every user who ordered
a shop new to them after the cut, for candidates at the cut (a request
without filters, like "오늘 뭐 먹지?"). What is chosen, in order:

1. ``exclude_history``: on when fewer than ``REPEAT_SHARE_MIN`` of the
   orders before the cut go back to a shop the user already ordered from;
2. each funnel's hyper-parameters (ALS factors / regularisation /
   iterations, item-kNN neighbours and shrink, popularity half-life and
   district bonus) by that funnel's own Recall@100;
3. the merge weights of the funnels and the quota share, by coordinate
   ascent on ``Recall@k + NDCG@10`` of the merged list;
4. the candidate list size ``k``: the smallest of ``K_CHOICES`` whose recall
   is within ``K_TOLERANCE`` of the largest one's.

The report (before and after, every choice) is saved with the index version.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from sqlalchemy import Engine

from naviyam.recommend.evaluation import VAGUE_NLU, Holdout, make_holdout
from naviyam.recommend.funnels import FitContext
from naviyam.recommend.interactions import Interactions
from naviyam.recommend.layer1 import CandidateGenerator, RequestContext, UserDirectory, fit_layer1
from naviyam.recommend.merge import merge_candidates
from naviyam.retrieval.catalog import ShopCatalog

log = logging.getLogger(__name__)

REPEAT_SHARE_MIN = 0.1
K_CHOICES = (100, 150, 200)
K_TOLERANCE = 0.03
WEIGHT_GRID = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)
QUOTA_GRID = (0.0, 0.1, 0.25)
PARAM_GRIDS: dict[str, list[dict[str, Any]]] = {
    "collaborative": [{"factors": f, "regularization": r, "iterations": 15}
                      for f in (32, 64, 128) for r in (0.05, 1.0)],
    "itemknn": [{"neighbours": n, "shrink": s} for n in (50, 200) for s in (0.0, 10.0)],
    "popularity": [{"half_life_days": h, "district_bonus": b} for h in (7.0, 21.0, 60.0) for b in (0.0, 1.0)],
}
MIN_USERS = 5


@dataclass
class TuningReport:
    cutoff: dt.datetime | None
    n_users: int
    repeat_share: float
    before: dict[str, float] = field(default_factory=dict)
    after: dict[str, float] = field(default_factory=dict)
    funnel_recall: dict[str, dict[str, float]] = field(default_factory=dict)
    #: the production index's settings refitted on the same split (the promotion gate compares with it)
    incumbent: dict[str, float] | None = None
    chosen: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    skipped: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"cutoff": self.cutoff.isoformat() if self.cutoff else None, "n_users": self.n_users,
                "repeat_share": round(self.repeat_share, 4), "before": self.before, "after": self.after,
                "funnel_recall": self.funnel_recall, "chosen": self.chosen, "seconds": round(self.seconds, 1),
                "incumbent": self.incumbent,
                "skipped": self.skipped}


def repeat_share(interactions: Interactions) -> float:
    """Share of orders that go back to a shop the same user ordered from before."""
    o = interactions.orders
    order = np.argsort(o.at, kind="stable")
    seen: set[tuple[int, int]] = set()
    repeats = 0
    for u, s in zip(o.user_id[order].tolist(), o.shop_id[order].tolist(), strict=True):
        if (u, s) in seen:
            repeats += 1
        seen.add((u, s))
    return repeats / max(1, len(o))


def _metrics(lists: dict[int, list[int]], holdout: Holdout, k: int) -> dict[str, float]:
    rec, ndcg = [], []
    for u in holdout.users:
        rel = holdout.relevant[u]
        ranked = [s for s in lists.get(u, ()) if s not in holdout.seen.get(u, ())]
        hits = np.array([s in rel for s in ranked[:k]], dtype=np.float64)
        rec.append(hits.sum() / len(rel))
        top = hits[:10]
        ideal = (1.0 / np.log2(np.arange(2, min(10, len(rel)) + 2))).sum()
        ndcg.append(float((top / np.log2(np.arange(2, len(top) + 2))).sum() / ideal) if len(top) else 0.0)
    return {f"recall@{k}": float(np.mean(rec)) if rec else 0.0, "ndcg@10": float(np.mean(ndcg)) if ndcg else 0.0}


def tune_layer1(engine: Engine, config, *, catalog: ShopCatalog, embedder, index, holdout_days: int = 14,
                max_users: int = 400, seed: int = 0, until: dt.datetime | None = None, incumbent=None,
                search: bool = True) -> tuple[Any, TuningReport]:
    """A copy of ``config`` with the settings fitted on a time split of the database, and the report.

    ``until`` ignores every event from then on (so an offline evaluation can tune on its past only);
    ``incumbent`` (the production settings) is scored on the same split; without ``search`` the
    settings are only scored, not changed.
    """
    t0 = time.perf_counter()
    everything = Interactions.load(engine, until=until)
    start, end = everything.window()
    if end is None:
        return config, TuningReport(None, 0, 0.0, skipped="no interactions")
    cutoff = end - min(dt.timedelta(days=holdout_days), (end - start) * 0.2)
    pre = fit_layer1(engine, config=config, embedder=embedder, previous_index=index, until=cutoff, catalog=catalog)
    share = repeat_share(pre.interactions)
    holdout = _holdout(everything, pre, cutoff, max_users, seed)
    users = holdout.users
    report = TuningReport(cutoff, len(users), share)
    if len(users) < MIN_USERS:
        report.skipped = f"only {len(users)} users ordered a new shop after {cutoff:%Y-%m-%d}"
        report.seconds = time.perf_counter() - t0
        return config, report

    split = _Split(pre, catalog, users, holdout, UserDirectory.load(engine), cutoff)
    report.before = split.merged_metrics(config, pre.funnels, 100)
    if incumbent is not None:
        inc_funnels = {n: f.fit(split.ctx) for n, f in incumbent.make_funnels().items()}
        report.incumbent = split.merged_metrics(incumbent, inc_funnels, 100)
    if not search:
        report.after = dict(report.before)
        report.seconds = time.perf_counter() - t0
        return config, report
    cfg = replace(config, exclude_history=share < REPEAT_SHARE_MIN,
                  funnel_params={n: dict(p) for n, p in config.funnel_params.items()})
    funnels = _tune_funnels(split, cfg, dict(pre.funnels), report)
    cfg = replace(cfg, funnels=tuple(n for n in cfg.funnels if n in funnels) + tuple(
        n for n in funnels if n not in cfg.funnels))
    cfg = _tune_merge(split, cfg, funnels, report)
    report.seconds = time.perf_counter() - t0
    log.info("Layer 1 tuned on %d users after %s: recall@100 %.4f -> %.4f (%.0fs)", len(users), cutoff,
             report.before.get(f"recall@{config.k}", 0.0), report.after.get("recall@100", 0.0), report.seconds)
    return cfg, report


def _holdout(everything: Interactions, pre, cutoff: dt.datetime, max_users: int, seed: int) -> Holdout:
    """The shops each user ordered new to them after ``cutoff`` (at most ``max_users`` users, drawn by ``seed``)."""
    o = everything.orders
    after = o.at >= np.datetime64(cutoff, "s")
    holdout = make_holdout(cutoff, zip(o.user_id[after].tolist(), o.shop_id[after].tolist(), strict=False),
                           zip(pre.interactions.orders.user_id.tolist(), pre.interactions.orders.shop_id.tolist(), strict=False),
                           known_users=pre.matrix.user_ids.tolist())
    users = holdout.users
    if len(users) > max_users:
        users = sorted(np.random.default_rng(seed).choice(users, max_users, replace=False).tolist())
        holdout = Holdout(cutoff, {u: holdout.relevant[u] for u in users}, {u: holdout.seen[u] for u in users})
    return holdout


class _Split:
    """Layer 1 fitted before the cut-off, asked for the held-out users' candidates at the cut-off."""

    def __init__(self, pre, catalog: ShopCatalog, users: list[int], holdout: Holdout, user_dir: UserDirectory,
                 cutoff: dt.datetime):
        self.pre, self.users, self.holdout, self.user_dir = pre, users, holdout, user_dir
        self.ctx = FitContext(catalog, pre.interactions, pre.matrix, pre.index, now=cutoff)
        self.request = RequestContext(now=cutoff)
        self.k_max = max(K_CHOICES)

    def run(self, cfg, funnels) -> dict[int, dict[str, list]]:
        """User -> merged and per-funnel candidate lists of ``k_max`` shops with these settings and funnels."""
        arts = copy.copy(self.pre)
        arts.funnels = funnels
        gen = CandidateGenerator(arts, config=replace(cfg, k=self.k_max, per_funnel_k=self.k_max), users=self.user_dir)
        out = {}
        for u in self.users:
            res = gen.candidates(u, VAGUE_NLU, self.request, k=self.k_max, keep_funnel_lists=True)
            out[u] = {"merged": res.candidates, "per_funnel": res.per_funnel or {}}
        return out

    def merged_metrics(self, cfg, funnels, k: int) -> dict[str, float]:
        res = self.run(cfg, funnels)
        return _metrics({u: [c.shop_id for c in r["merged"][:k]] for u, r in res.items()}, self.holdout, k)


def _tune_funnels(split: _Split, cfg, funnels: dict, report: TuningReport) -> dict:
    """Step 2: each funnel's own hyper-parameters, by its own Recall@100 (``cfg.funnel_params`` updated)."""
    for name, grid in PARAM_GRIDS.items():
        if name not in funnels:
            continue
        scores = []
        for params in grid:
            f = type(funnels[name])(**{**cfg.funnel_params.get(name, {}), **params}).fit(split.ctx)
            only = replace(cfg, funnels=(name,), funnel_weights={name: 1.0}, quota_share=0.0)
            m = split.merged_metrics(only, {**funnels, name: f}, 100)
            scores.append((m["recall@100"] + m["ndcg@10"], params, f, m))
        best = max(scores, key=lambda x: x[0])
        cfg.funnel_params[name] = {**cfg.funnel_params.get(name, {}), **best[1]}
        funnels[name] = best[2]
        report.funnel_recall[name] = {"recall@100": round(best[3]["recall@100"], 4), **{
            "grid": [[p, round(m["recall@100"], 4)] for _s, p, _f, m in scores]}}
    return funnels


def _tune_merge(split: _Split, cfg, funnels: dict, report: TuningReport):
    """Steps 3 and 4: merge weights and quota on the per-funnel lists (fetched once), then the list size."""
    lists = split.run(cfg, funnels)

    def score(weights: dict[str, float], quota: float, k: int) -> tuple[float, dict[str, float]]:
        merged = {}
        for u, r in lists.items():
            active = {n: c for n, c in r["per_funnel"].items() if weights.get(n, 1.0) > 0}
            merged[u] = [c.shop_id for c in merge_candidates(active, k=k, weights=weights, quota_share=quota,
                                                             method=cfg.merge_method)]
        m = _metrics(merged, split.holdout, k)
        return m[f"recall@{k}"] + m["ndcg@10"], m

    weights = {n: cfg.funnel_weights.get(n, 1.0) for n in cfg.funnels}
    quota = cfg.quota_share
    best_value, _ = score(weights, quota, 100)
    for _round in range(2):
        for name in list(weights):
            for w in WEIGHT_GRID:
                trial = {**weights, name: w}
                if not any(v > 0 for v in trial.values()):
                    continue
                value, _ = score(trial, quota, 100)
                if value > best_value + 1e-9:
                    best_value, weights = value, trial
        for q in QUOTA_GRID:
            value, _ = score(weights, q, 100)
            if value > best_value + 1e-9:
                best_value, quota = value, q
    by_k = {k: score(weights, quota, k)[1][f"recall@{k}"] for k in K_CHOICES}
    k_best = min(k for k in K_CHOICES if by_k[k] >= by_k[split.k_max] * (1 - K_TOLERANCE))
    cfg = replace(cfg, funnel_weights=weights, quota_share=quota, k=k_best, per_funnel_k=max(k_best, cfg.per_funnel_k))
    report.after = {**score(weights, quota, 100)[1], **{f"recall@{k}": round(v, 4) for k, v in by_k.items()}}
    report.chosen = {"exclude_history": cfg.exclude_history, "funnel_weights": weights, "quota_share": quota,
                     "k": k_best, "funnel_params": cfg.funnel_params}
    return cfg
