"""The ranker's training set, built from the database as the seed describes (section 45.B).

Positives: orders, favourites and reviews rated >= 4 (a favourite or review
of a shop already ordered from is not a new choice and is left out). The
events of children without a guardian's consent and of erased users are
never read (:func:`naviyam.core.privacy.training_exclusions`), nor fitted
into the Layer 1 funnels the candidates come from.

Requests are asked the way the service and its evaluation ask them: time is
cut into windows of ``window_days``; at the start of each window Layer 1 is
refitted on everything before it, and every user who chooses a shop during
the window asks for recommendations *at the window's start*, with the
interaction counts as of then (:class:`~naviyam.recommend.features.InteractionState`
is replayed event by event). The ranker thus learns what a user will choose
in the coming days from what is known today, not the next click of a session.
The chatbot's understanding of each request is simulated from what was
chosen (:func:`simulate_nlu`: sometimes the category, the dish, a budget that
the menu fits, the meal card, the time of day; a share of requests say
nothing at all, like "오늘 뭐 먹지?"). The user's other choices in the same
window are never negatives; a shop chosen twice in a window counts once;
when Layer 1 leaves out shops a user already chose, so does the training set.

Negatives: Layer 1 is asked for candidates for that same request; shops it
proposed that were not chosen become negatives, eight per positive: one
*hard* (the best-ranked candidate of the same category, else the best
ranked) and the others drawn at random from the rest, so each positive is
ranked against a sample of the list it will be served in. One more comes
from the whole catalogue, so the ranker also learns what users choose
beyond Layer 1's list. A positive that Layer 1 did not propose is kept, not
thrown away: its negatives are then drawn from the catalogue outside Layer
1's list, so that no funnel flag ever separates a positive from its
negatives for a reason serving never sees.

Split: 8:2 by time. The cut-off is the time of the positive at the 80 %
quantile; windows start there again, every validation example is asked at or
after it, every training example strictly before it. Some validation *orders* also get their whole candidate
list written (``recommendation_val_ranking.csv``) for ranking metrics
(NDCG, HitRate, MRR) against the Layer 1 merge order and popularity.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import json
import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select

from naviyam.core.clock import local_now
from naviyam.core.text import particle
from naviyam.db.models import ShopMenu
from naviyam.progress import Reporter
from naviyam.recommend.features import (
    FeatureBuilder,
    FeatureRows,
    InteractionState,
    RankingQuery,
    load_events,
    time_bucket,
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
from naviyam.recommend.ranker.trainer import MANIFEST_FILE, RANKING_FILE, TRAIN_FILE, VAL_FILE
from naviyam.retrieval.catalog import ShopCatalog

log = logging.getLogger(__name__)

TIME_WORDS = {"breakfast": "아침", "lunch": "점심", "snack": "간식", "dinner": "저녁", "late_night": "야식"}
_TAILS = ("", "맛집", "추천", "먹고 싶어", "먹을 곳", "가게")
_GENERIC = ("맛있는 식당", "근처 맛집", "밥 먹을 곳", "오늘 뭐 먹지")


@dataclass
class TrainingDataConfig:
    #: positives used (sampled evenly over time when there are more); 0 = all
    max_positives: int = 12_000
    #: Layer 1 candidates not chosen, per positive: one hard (same category), the rest at random
    negatives_per_positive: int = 8
    #: the share of the time span used only to warm up the counts (no examples)
    warmup_share: float = 0.15
    val_share: float = 0.2
    #: length of a request window: at each window's start Layer 1 is refitted and every user who
    #: chooses something in the window asks for recommendations (see the module doc)
    window_days: float = 14.0
    #: validation orders whose whole candidate list is kept for ranking metrics
    ranking_lists: int = 400
    candidates_k: int = 100
    min_review_rating: int = 4
    #: negatives drawn from the whole catalogue per positive (half uniformly, half by popularity), besides
    #: the Layer 1 ones: the ranker learns what users choose, not only what Layer 1 found
    catalogue_negatives: int = 1
    #: share of simulated requests with no words at all ("오늘 뭐 먹지?"), as the vague requests of known users
    vague_share: float = 0.35
    seed: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrainingSetReport:
    folder: Path
    n_train: int
    n_val: int
    n_ranking_rows: int
    n_ranking_lists: int
    positives: dict[str, int]
    skipped_uncovered: int
    cutoff: dt.datetime
    window: tuple[dt.datetime, dt.datetime]
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)


def _dish_of_menus(engine: Engine) -> dict[int, tuple[str | None, int]]:
    with engine.connect() as conn:
        return {int(i): (d, int(p)) for i, d, p in conn.execute(select(ShopMenu.id, ShopMenu.dish, ShopMenu.price))}


def _obj_particle(word: str) -> str:
    return particle(word, "을", "를", otherwise="를")


def simulate_nlu(
    rng: np.random.Generator,
    *,
    category: str,
    when: dt.datetime,
    dish: str | None = None,
    price: int | None = None,
    paid_with_meal_card: bool = False,
    shop_accepts_meal_card: bool = False,
    is_good_shop: bool = False,
) -> dict[str, Any]:
    """A plausible NLU contract object for a request that ended in this choice.

    Every filter is consistent with the chosen shop (its category, a dish it
    serves, a budget its menu fits, the meal card only when it takes it), so
    Layer 1 can still propose it; each appears only sometimes, like real
    requests, and the semantic query is built from the same words.
    """
    filters: dict[str, Any] = {}
    words: list[str] = []
    tb = time_bucket(when)
    if rng.random() < 0.3:
        filters["time_of_day"] = tb
        words.append(TIME_WORDS[tb])
    if paid_with_meal_card and shop_accepts_meal_card and rng.random() < 0.5:
        filters["payment_method"] = "meal_card"
        words.append("급식카드")
    if is_good_shop and rng.random() < 0.1:
        filters["good_shop"] = True
        words.append("착한가게")
    if dish and rng.random() < 0.25:
        filters["menu"] = dish
        filters["category"] = category
        words.append(dish)
    elif rng.random() < 0.45:
        filters["category"] = category
        words.append(category)
    if price and rng.random() < 0.3:
        budget = int(math.ceil(price / 1000.0) * 1000 + 1000 * int(rng.integers(0, 3)))
        filters["budget_filter"] = budget
        words.insert(0, f"{budget // 1000}천원" if budget % 10_000 else f"{budget // 10_000}만원")
    if not words:
        words.append(_GENERIC[int(rng.integers(len(_GENERIC)))])
    tail = _TAILS[int(rng.integers(len(_TAILS)))]
    semantic = " ".join([*words, tail]).strip()
    intent = "BUDGET_FOOD_INQUIRY" if "budget_filter" in filters and rng.random() < 0.5 else "FOOD_RECOMMENDATION"
    return {"text": semantic + " 추천해줘", "intent": intent, "confidence": 1.0, "entities": [],
            "semantic_query": semantic, "filters": filters}


def _window_starts(start: dt.datetime, cutoff: dt.datetime, end: dt.datetime,
                   cfg: TrainingDataConfig) -> list[dt.datetime]:
    """Request moments: every ``window_days`` from the end of the warm-up to the end, one at the cut-off."""
    warm_end = start + (cutoff - start) * (cfg.warmup_share / max(1e-9, 1 - cfg.val_share))
    step = dt.timedelta(days=cfg.window_days)
    n_train = max(1, math.ceil((cutoff - warm_end) / step))
    train = [cutoff - step * k for k in range(n_train, 0, -1)]
    val = [cutoff + step * k for k in range(0, max(1, math.ceil((end - cutoff) / step)))]
    return [t for t in train if t >= start] + val


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
        self.menus = _dish_of_menus(engine)
        self.parts: dict[str, _Parts] = {"train": _Parts(), "val": _Parts(), "ranking": _Parts()}
        self.counts = {"order": 0, "favorite": 0, "review": 0}
        self.skipped = self.outside = self.done = self.qid = 0
        self.generator = None
        self.first_arts = None
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
        self.refits = _window_starts(self.start, self.cutoff, self.end, cfg)
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
    def simulate(self, ev, when: dt.datetime) -> tuple[np.random.Generator, dict[str, Any]]:
        """The request a choice answered: vague now and then, else from the shop, the menu and the payment."""
        cfg, catalog = self.cfg, self.catalog
        row = catalog.row_of[ev.shop_id]
        dish, price = (None, None)
        if ev.kind == "order":
            dish, menu_price = self.menus.get(ev.menu_id, (None, 0)) if ev.menu_id is not None else (None, 0)
            price = menu_price or (int(ev.amount) if ev.amount else None)
        erng = np.random.default_rng([cfg.seed, _KIND_CODE[ev.kind], ev.id])
        if erng.random() < cfg.vague_share:
            return erng, {"text": "오늘 뭐 먹지?", "intent": "FOOD_RECOMMENDATION", "confidence": 1.0,
                          "entities": [], "semantic_query": "오늘 뭐 먹지?", "filters": {}}
        user = self.users.get(ev.user_id)
        nlu = simulate_nlu(
            erng, category=catalog.categories[row], when=when, dish=dish, price=price,
            paid_with_meal_card=ev.payment_method == "meal_card"
            or (ev.kind != "order" and user is not None and user.is_meal_card_holder),
            shop_accepts_meal_card=bool(catalog.accepts_meal_card[row]),
            is_good_shop=bool(catalog.is_good_shop[row]),
        )
        return erng, nlu

    def simulate_requests(self, layer1_config) -> None:
        """Every kept choice's request, asked at the start of its window; Layer 1's config with a query cache
        big enough for all of them."""
        events = self.events
        self.window_of = {i: bisect.bisect_right(self.refits, events[i].when) - 1 for i in self.eligible}
        self.nlus = {i: self.simulate(events[i], self.refits[self.window_of[i]]) for i in self.eligible}
        self.unique_queries = sorted({nlu["semantic_query"] for _rng, nlu in self.nlus.values()})
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
        if not self.fit_seconds:
            # embed every simulated query once, in batches (the shared query cache then serves every refit)
            emb, queries = self.generator.index.embedder, self.unique_queries
            for start in range(0, len(queries), 256):
                emb.embed_queries(queries[start:start + 256])
                if self.progress:
                    self.progress("queries", min(start + 256, len(queries)), len(queries))
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
            extra = _catalogue_negatives(catalog, state, outside_ids,
                                         cfg.negatives_per_positive + cfg.catalogue_negatives, erng)
            sel_cands = [Candidate(ev.shop_id, 0.0), *extra]
            ranks = [len(cands)] * len(sel_cands)
        else:
            picked = _pick_negatives(cands, pos_rank, catalog, cfg.negatives_per_positive, erng, exclude=mine)
            chosen_ids = {c.shop_id for c in cands} | mine
            extra = _catalogue_negatives(catalog, state, chosen_ids, cfg.catalogue_negatives, erng)
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
        parts, out_dir = self.parts, self.out_dir
        if not parts["train"].rows or not parts["val"].rows:
            raise ValueError("too little data for a time split: no training or no validation examples")
        train = parts["train"].frame()
        val = parts["val"].frame()
        train.to_csv(out_dir / TRAIN_FILE, index=False)
        val.to_csv(out_dir / VAL_FILE, index=False)
        n_rank_rows = 0
        n_rank_lists = len(parts["ranking"].rows)
        if parts["ranking"].rows:
            ranking = parts["ranking"].frame()
            ranking.to_csv(out_dir / RANKING_FILE, index=False)
            n_rank_rows = len(ranking)
        elif (out_dir / RANKING_FILE).exists():
            (out_dir / RANKING_FILE).unlink()
        seconds = time.perf_counter() - self.t_start
        manifest = {
            "created_at": local_now().isoformat(timespec="seconds"),
            "window_start": self.start.isoformat(), "window_end": self.end.isoformat(),
            "cutoff": self.cutoff.isoformat(),
            "layer1_refits": [t.isoformat() for t in self.refits], "layer1_fit_seconds": self.fit_seconds,
            "n_train": len(train), "n_val": len(val), "n_ranking_rows": n_rank_rows,
            "n_ranking_lists": n_rank_lists, "positives": self.counts, "skipped_uncovered": 0,
            "skipped_not_new": self.skipped, "outside_layer1": self.outside,
            "layer1_config": self.layer1_config.to_dict(), "config": self.cfg.to_json(),
            "categories": sorted(set(self.catalog.categories)), "seconds": seconds,
        }
        (out_dir / MANIFEST_FILE).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        log.info("training set: %d train, %d val rows; %d positives outside Layer 1's candidates (kept), "
                 "%d not new (skipped)", len(train), len(val), self.outside, self.skipped)
        return TrainingSetReport(out_dir, len(train), len(val), n_rank_rows, n_rank_lists, self.counts, 0,
                                 self.cutoff, (self.start, self.end), seconds,
                                 {"layer1_fit_seconds": self.fit_seconds, "outside_layer1": self.outside,
                                  "skipped_not_new": self.skipped})


_KIND_CODE = {"order": 0, "favorite": 1, "review": 2}


def _pick_negatives(cands, pos_rank: int, catalog: ShopCatalog, n: int, rng: np.random.Generator,
                    exclude: set[int] | frozenset[int] = frozenset()) -> list[int]:
    """Indices into ``cands``: first a hard negative (best-ranked same category, else best-ranked), then random.

    Shops in ``exclude`` (the user's other choices in the same window) are never negatives.
    """
    others = [r for r in range(len(cands)) if r != pos_rank and cands[r].shop_id not in exclude]
    if not others or n <= 0:
        return []
    pos_cat = catalog.categories[catalog.row_of[cands[pos_rank].shop_id]]
    same = [r for r in others if catalog.categories[catalog.row_of[cands[r].shop_id]] == pos_cat]
    hard = same[0] if same else others[0]
    picked = [hard]
    rest = [r for r in others if r != hard]
    if n > 1 and rest:
        picked.extend(int(x) for x in rng.choice(rest, min(n - 1, len(rest)), replace=False))
    return picked


def _catalogue_negatives(catalog: ShopCatalog, state: InteractionState, exclude: set[int], n: int,
                         rng: np.random.Generator) -> list:
    """``n`` shops from the whole catalogue, alternately uniform and in proportion to past orders (+1)."""
    out: list = []
    if n <= 0:
        return out
    ids = catalog.ids
    weights = np.array([state.shop_orders.get(int(s), 0) + 1.0 for s in ids])
    weights /= weights.sum()
    for _ in range(n * 4):
        if len(out) >= n:
            break
        r = int(rng.integers(len(ids))) if (len(out) % 2 == 0) else int(rng.choice(len(ids), p=weights))
        sid = int(ids[r])
        if sid not in exclude:
            exclude.add(sid)
            out.append(Candidate(sid, 0.0))
    return out


class _Parts:
    """Feature rows and their metadata, accumulated per example and turned into one frame at the end."""

    def __init__(self) -> None:
        self.rows: list[FeatureRows] = []
        self.meta: dict[str, list[Any]] = {"label": [], "filters": [], "event_time": [], "request_time": [],
                                           "event_kind": [], "query_id": [], "layer1_rank": []}

    def add(self, rows: FeatureRows, ev, qid: int, labels: list[float], layer1_rank: list[int],
            filters: dict[str, Any], request_time: dt.datetime) -> None:
        n = len(rows)
        self.rows.append(rows)
        m = self.meta
        m["label"].extend(labels)
        m["filters"].extend([json.dumps(filters, ensure_ascii=False, sort_keys=True)] * n)
        m["event_time"].extend([ev.when.isoformat()] * n)
        m["request_time"].extend([request_time.isoformat()] * n)
        m["event_kind"].extend([ev.kind] * n)
        m["query_id"].extend([qid] * n)
        m["layer1_rank"].extend(layer1_rank)

    def frame(self) -> pd.DataFrame:
        rows = FeatureRows(
            user_id=np.concatenate([r.user_id for r in self.rows]),
            shop_id=np.concatenate([r.shop_id for r in self.rows]),
            brand_id=np.concatenate([r.brand_id for r in self.rows]),
            category=[c for r in self.rows for c in r.category],
            semantic_query=[q for r in self.rows for q in r.semantic_query],
            wide=np.concatenate([r.wide for r in self.rows]),
            numerical=np.concatenate([r.numerical for r in self.rows]),
        )
        df = rows.to_frame()
        df.insert(2, "label", np.asarray(self.meta["label"], dtype=np.float64))
        for key in ("filters", "event_time", "request_time", "event_kind", "query_id", "layer1_rank"):
            df[key] = self.meta[key]
        return df


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
