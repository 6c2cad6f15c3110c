"""One build of the training set, step by step (see the package doc)."""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import logging
import time
from pathlib import Path

import numpy as np
from sqlalchemy import Engine

from naviyam.core.clock import local_now
from naviyam.progress import Reporter
from naviyam.recommend.features import (
    FeatureBuilder,
    InteractionState,
    RankingQuery,
    load_events,
)
from naviyam.recommend.funnels import Candidate, FitContext
from naviyam.recommend.interactions import Interactions, interaction_matrix
from naviyam.recommend.layer1 import (
    CandidateGenerator,
    Layer1Artifacts,
    Layer1Config,
    RequestContext,
    UserDirectory,
    fit_layer1,
)
from naviyam.recommend.training_data.config import TrainingDataConfig, TrainingSetReport
from naviyam.recommend.training_data.files import _Parts, dish_of_menus, write_frames, write_manifest
from naviyam.recommend.training_data.negatives import catalogue_negatives, order_weights, pick_negatives
from naviyam.recommend.training_data.requests import simulate_request, window_starts
from naviyam.retrieval.catalog import ShopCatalog
from naviyam.retrieval.embedding import QueriesAhead

log = logging.getLogger(__name__)


def build_training_set(
    engine: Engine,
    out_dir: Path,
    config: TrainingDataConfig | None = None,
    *,
    embedder=None,
    previous_index=None,
    progress: Reporter | None = None,
    layer1_config=None,
    until: dt.datetime | None = None,
) -> TrainingSetReport:
    """Write train/val (and ranking) CSVs plus a manifest into ``out_dir``; see the module doc.

    ``previous_index`` (e.g. the production Layer 1 index) lets unchanged
    shops keep their embeddings instead of being embedded again;
    ``layer1_config`` is the Layer 1 the ranker will serve behind (the
    production index's fitted settings); ``until`` ignores every event from
    then on (offline evaluation).

    The steps, in order: :meth:`_Run.select_positives` (the chosen events and the time split),
    :meth:`_Run.simulate_requests` (the request each choice answered), then one pass over the time line
    (:meth:`_Run.replay`: Layer 1 refitted at each window start, :meth:`_Run.examples_of_window`), and
    :meth:`_Run.write`.
    """
    run = _Run(engine, Path(out_dir), config or TrainingDataConfig(), embedder=embedder,
               previous_index=previous_index, progress=progress, until=until)
    run.select_positives()
    run.simulate_requests(layer1_config)
    run.replay()
    return run.write()


class _Run:
    """One build of the training set; each step is a method, the state they share is attributes."""

    def __init__(self, engine: Engine, out_dir: Path, cfg: TrainingDataConfig, *, embedder, previous_index,
                 progress, until) -> None:
        self.engine, self.out_dir, self.cfg = engine, out_dir, cfg
        self.embedder, self.previous_index, self.progress = embedder, previous_index, progress
        self.t_start = time.perf_counter()
        out_dir.mkdir(parents=True, exist_ok=True)
        self.rng = np.random.default_rng(cfg.seed)
        self.catalog = ShopCatalog.load(engine)
        self.builder = FeatureBuilder(self.catalog)
        self.users = InteractionState.load_users(engine)
        self.state = InteractionState.empty(self.users, self.catalog)
        self.events = load_events(engine, until=until, trainable_only=True)
        self.menus = dish_of_menus(engine)
        self.parts: dict[str, _Parts] = {"train": _Parts(), "val": _Parts(), "ranking": _Parts()}
        self.counts = {"order": 0, "favorite": 0, "review": 0}
        self.skipped = self.outside = self.done = self.qid = 0
        self.generator = None
        self.first_arts = None
        self.queries_ahead: QueriesAhead | None = None
        self.weights: np.ndarray | None = None
        self.fit_seconds: list[float] = []

    # ------------------------------------------------------------------ step 1
    def is_positive(self, e) -> bool:
        return e.kind in ("order", "favorite") or (e.kind == "review" and e.rating >= self.cfg.min_review_rating)

    def select_positives(self) -> None:
        """The chosen events, the time split (cut-off, Layer 1 refit times), the sample kept and the ranking lists."""
        cfg, events = self.cfg, self.events
        ordered: set[tuple[int, int]] = set()
        pos_idx = []
        for i, e in enumerate(events):
            # a favourite or good review of a shop the user already ordered from is not a new choice
            if self.is_positive(e) and e.shop_id in self.catalog.row_of and (
                    e.kind == "order" or (e.user_id, e.shop_id) not in ordered):
                pos_idx.append(i)
            if e.kind == "order":
                ordered.add((e.user_id, e.shop_id))
        if len(pos_idx) < 10:
            raise ValueError(f"only {len(pos_idx)} positive events in the database; generate or import data first")
        self.start, self.end = events[0].when, events[-1].when
        self.cutoff = events[pos_idx[int(len(pos_idx) * (1 - cfg.val_share))]].when
        self.refits = window_starts(self.start, self.cutoff, self.end, cfg)
        eligible = [i for i in pos_idx if events[i].when >= self.refits[0]]
        if cfg.max_positives and len(eligible) > cfg.max_positives:
            keep = np.sort(self.rng.choice(len(eligible), cfg.max_positives, replace=False))
            eligible = [eligible[j] for j in keep]
        self.eligible = eligible
        val_orders = [i for i in eligible if events[i].when >= self.cutoff and events[i].kind == "order"]
        self.ranking_set = set()
        if val_orders and cfg.ranking_lists:
            pick = self.rng.choice(len(val_orders), min(cfg.ranking_lists, len(val_orders)), replace=False)
            self.ranking_set = {val_orders[j] for j in pick}

    # ------------------------------------------------------------------ step 2
    def simulate_requests(self, layer1_config) -> None:
        """Every kept choice's request, asked at the start of its window; Layer 1's config with a query cache
        big enough for all of them."""
        events = self.events
        self.window_of = {i: bisect.bisect_right(self.refits, events[i].when) - 1 for i in self.eligible}
        self.nlus = {i: simulate_request(events[i], self.refits[self.window_of[i]], cfg=self.cfg, catalog=self.catalog,
                                         menus=self.menus, users=self.users) for i in self.eligible}
        self.unique_queries = sorted({nlu["semantic_query"] for _rng, nlu in self.nlus.values()})
        # the queries each window asks first, in window order: embedded ahead while earlier windows run
        asked: list[set[str]] = [set() for _ in self.refits]
        for i in self.eligible:
            asked[self.window_of[i]].add(self.nlus[i][1]["semantic_query"])
        seen: set[str] = set()
        self.new_queries = []
        for queries in asked:
            self.new_queries.append(sorted(queries - seen))
            seen |= queries
        base_config = layer1_config or Layer1Config()
        self.layer1_config = dataclasses.replace(base_config,
                                                 query_cache_size=max(4096, len(self.unique_queries) + 256))
        self.user_dir = UserDirectory.load(self.engine)
        self.by_window: dict[int, list[int]] = {}
        for i in self.eligible:
            self.by_window.setdefault(self.window_of[i], []).append(i)

    # ------------------------------------------------------------------ step 3
    def layer1_at(self, t: dt.datetime) -> None:
        """Layer 1 as it would have been at ``t``: the shop index is built once, the funnels refitted."""
        t0 = time.perf_counter()
        if self.first_arts is None:
            arts = self.first_arts = fit_layer1(self.engine, config=self.layer1_config, embedder=self.embedder,
                                                previous_index=self.previous_index, until=t, catalog=self.catalog)
        else:
            arts = refit_funnels(self.engine, self.first_arts, until=t, config=self.layer1_config)
        self.generator = CandidateGenerator(arts, config=self.layer1_config, users=self.user_dir, engine=None,
                                            version=f"training@{t:%Y-%m-%d}")
        if self.queries_ahead is None:
            # every simulated query embedded once, in batches, into the query cache that serves every refit
            self.queries_ahead = QueriesAhead(self.generator.index.embedder, self.new_queries,
                                              progress=self.progress)
        self.fit_seconds.append(time.perf_counter() - t0)
        log.info("Layer 1 fitted on data before %s (%.1fs)", t, self.fit_seconds[-1])

    def replay(self) -> None:
        """One pass over the time line: each window's examples with the state as of its start."""
        next_w = 0
        for ev in self.events:
            while next_w < len(self.refits) and ev.when >= self.refits[next_w]:
                self.examples_of_window(next_w)
                next_w += 1
            self.state.apply(ev)
        while next_w < len(self.refits):
            self.examples_of_window(next_w)
            next_w += 1

    def examples_of_window(self, w: int) -> None:
        """Every chosen positive of window ``w``, asked at its start with the state as of then."""
        self.layer1_at(self.refits[w])
        self.queries_ahead.wait(w)
        self.weights = order_weights(self.catalog, self.state)  # the state does not move within a window
        when = self.refits[w]
        idx = self.by_window.get(w, [])
        chosen_here: dict[int, set[int]] = {}
        for i in idx:
            chosen_here.setdefault(self.events[i].user_id, set()).add(self.events[i].shop_id)
        seen_pairs: set[tuple[int, int]] = set()
        for i in idx:
            ev = self.events[i]
            key = (ev.user_id, ev.shop_id)
            self.done += 1
            if key in seen_pairs or (self.layer1_config.exclude_history
                                     and ev.shop_id in self.state.user_history.get(ev.user_id, ())):
                self.skipped += 1  # chosen again in the window, or a shop Layer 1 never shows this user again
                continue
            seen_pairs.add(key)
            self.example(i, ev, when, chosen_here[ev.user_id])
            if self.progress and (self.done % 200 == 0 or self.done == len(self.eligible)):
                self.progress("examples", self.done, len(self.eligible))

    def example(self, i: int, ev, when: dt.datetime, mine: set[int]) -> None:
        """One positive with its negatives (from Layer 1's list and the catalogue), and its ranking list."""
        cfg, catalog, state, builder = self.cfg, self.catalog, self.state, self.builder
        similarity = self.generator.funnels.get("itemknn")
        erng, nlu = self.nlus[i]
        res = self.generator.candidates(ev.user_id, nlu, RequestContext(now=when),
                                        k=max(cfg.candidates_k, self.layer1_config.k))
        cands = res.candidates
        pos_rank = next((r for r, c in enumerate(cands) if c.shop_id == ev.shop_id), None)
        if pos_rank is None:
            self.outside += 1
        query = RankingQuery(
            user_id=ev.user_id, filters=nlu["filters"], semantic_query=nlu["semantic_query"], when=when,
            position=(res.origin.lat, res.origin.lon) if res.origin else None,
            position_source="home" if res.origin else None,
        )
        if i in self.ranking_set and pos_rank is not None:
            self.parts["ranking"].add(builder.build(query, cands, state, similarity), ev, self.qid,
                                      [float(c.shop_id in mine) for c in cands], list(range(len(cands))),
                                      nlu["filters"], when)
        if pos_rank is None:
            # every positive is used: one outside Layer 1's list is compared with shops outside it too,
            # so that being proposed by a funnel never looks like a reason not to be chosen
            outside_ids = {c.shop_id for c in cands} | mine
            extra = catalogue_negatives(catalog, state, outside_ids,
                                        cfg.negatives_per_positive + cfg.catalogue_negatives, erng, self.weights)
            sel_cands = [Candidate(ev.shop_id, 0.0), *extra]
            ranks = [len(cands)] * len(sel_cands)
        else:
            picked = pick_negatives(cands, pos_rank, catalog, cfg.negatives_per_positive, erng, exclude=mine)
            chosen_ids = {c.shop_id for c in cands} | mine
            extra = catalogue_negatives(catalog, state, chosen_ids, cfg.catalogue_negatives, erng, self.weights)
            sel_cands = [cands[r] for r in (pos_rank, *picked)] + extra
            ranks = [pos_rank, *picked] + [len(cands)] * len(extra)
        self.parts["val" if when >= self.cutoff else "train"].add(
            builder.build(query, sel_cands, state, similarity), ev, self.qid,
            [1.0] + [0.0] * (len(sel_cands) - 1), ranks, nlu["filters"], when)
        self.counts[ev.kind] += 1
        self.qid += 1

    # ------------------------------------------------------------------ step 4
    def write(self) -> TrainingSetReport:
        """The CSVs and the manifest."""
        out_dir = self.out_dir
        n_train, n_val, n_rank_rows, n_rank_lists = write_frames(out_dir, self.parts)
        seconds = time.perf_counter() - self.t_start
        manifest = {
            "created_at": local_now().isoformat(timespec="seconds"),
            "window_start": self.start.isoformat(), "window_end": self.end.isoformat(),
            "cutoff": self.cutoff.isoformat(),
            "layer1_refits": [t.isoformat() for t in self.refits], "layer1_fit_seconds": self.fit_seconds,
            "n_train": n_train, "n_val": n_val, "n_ranking_rows": n_rank_rows,
            "n_ranking_lists": n_rank_lists, "positives": self.counts, "skipped_uncovered": 0,
            "skipped_not_new": self.skipped, "outside_layer1": self.outside,
            "layer1_config": self.layer1_config.to_dict(), "config": self.cfg.to_json(),
            "categories": sorted(set(self.catalog.categories)), "seconds": seconds,
        }
        write_manifest(out_dir, manifest)
        log.info("training set: %d train, %d val rows; %d positives outside Layer 1's candidates (kept), "
                 "%d not new (skipped)", n_train, n_val, self.outside, self.skipped)
        return TrainingSetReport(out_dir, n_train, n_val, n_rank_rows, n_rank_lists, self.counts, 0,
                                 self.cutoff, (self.start, self.end), seconds,
                                 {"layer1_fit_seconds": self.fit_seconds, "outside_layer1": self.outside,
                                  "skipped_not_new": self.skipped})


def refit_funnels(engine: Engine, arts, *, until: dt.datetime, config=None):
    """Layer 1 artefacts with the same shop index and every funnel refitted on the events before ``until``.

    Mirrors :func:`naviyam.recommend.layer1.fit_layer1` without rebuilding the
    index (re-tokenising every document for BM25 takes most of a fit).
    """
    t0 = time.perf_counter()
    interactions = Interactions.load(engine, until=until)
    matrix = interaction_matrix(interactions, arts.catalog.ids)
    ctx = FitContext(arts.catalog, interactions, matrix, arts.index, now=until)
    funnels = {name: f.fit(ctx) for name, f in (config or Layer1Config()).make_funnels().items()}
    return Layer1Artifacts(arts.catalog, arts.index, matrix, funnels, interactions, arts.index_stats,
                           time.perf_counter() - t0)
