"""The recommendation engine: Layer 1 → Wide & Deep ranker → diversity → recommendations with reasons.

::

    rec = RecommendationEngine.load(engine, registry)         # once, at start-up
    out = rec.recommend(user_id, nlu_output, {"lat": 37.48, "lon": 126.95}, top_k=5)
    out.ranking              # "wide_deep", or "layer1_fallback" when no ranker can serve
    out.recommendations      # the recommendation contract (core.contract.Recommendation), each with a Korean reason
    out.relaxed_filters      # filter keys Layer 1 had to relax (metadata.relaxed_filters)

Without a trained ranker (none registered yet, or the registered one cannot
be loaded) the merged Layer 1 order is used and ``ranking`` says so. A ranker
that fails to load on :meth:`RecommendationEngine.reload_ranker` leaves the
one already serving in place.

Diversity: among the first ``diversity_window`` (5) places at most
``max_per_category`` (2) shops share a category, unless the user asked for a
category or a dish; shops pushed out move down, they are not dropped.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from naviyam.core.clock import local_now, to_local
from naviyam.recommend.features import (
    FeatureBuilder,
    FeatureRows,
    InteractionState,
    RankingQuery,
    candidate_funnels,
)
from naviyam.recommend.layer1 import CandidateGenerator, RequestContext
from naviyam.recommend.ranker.serving import RankerLoadError, WideDeepRanker, load_production
from naviyam.recommend.reasons import ReasonInputs, build_reason

log = logging.getLogger(__name__)

RANKING_WIDE_DEEP = "wide_deep"
RANKING_FALLBACK = "layer1_fallback"
DEFAULT_TOP_K = 5


@dataclass
class RecommendationResult:
    user_id: int | None
    recommendations: list[dict[str, Any]]
    #: "wide_deep" or "layer1_fallback"
    ranking: str
    ranker_version: str | None
    relaxed_filters: list[str]
    #: Korean sentences saying which filters were relaxed and why
    explanations: list[str]
    metadata: dict[str, Any] = field(default_factory=dict)
    #: shop id → its reason, for recommendations returned without one (``recommend(..., reasons=False)``)
    pending_reasons: dict[int, Callable[[], str]] = field(default_factory=dict, repr=False)

    def add_reasons(self, recs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Give each of ``recs`` (this result's recommendations, copied or re-ordered since) that has no reason yet
        the reason :meth:`RecommendationEngine.recommend` would have given it; a reason set since (the
        balanced-meal nudge's) stays. Returns ``recs``, changed in place."""
        for r in recs:
            if r.get("reason") is None:
                make = self.pending_reasons.get(int(r["shop_id"]))
                if make is not None:
                    r["reason"] = make()
        return recs

    def to_dict(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "recommendations": self.recommendations, "ranking": self.ranking,
                "ranker_version": self.ranker_version, "relaxed_filters": self.relaxed_filters,
                "explanations": self.explanations, "metadata": self.metadata}


def diversify(categories: list[str], top_k: int, max_per_category: int = 2, window: int = 5) -> list[int]:
    """Indices into a ranked list: the first ``min(window, top_k)`` places hold at most ``max_per_category``
    shops of one category, then the rest in rank order; the first ``top_k`` are returned.

    Greedy and stable: walk the ranking and take a shop into the window unless
    its category is full there. When too few categories exist to fill the
    window, it is filled in rank order. The window keeps rank order.
    """
    w = min(window, top_k)
    head: list[int] = []
    seen: Counter[str] = Counter()
    for i, c in enumerate(categories):
        if len(head) >= w:
            break
        if seen[c] < max_per_category:
            head.append(i)
            seen[c] += 1
    taken = set(head)
    if len(head) < w:
        for i in range(len(categories)):
            if len(head) >= w:
                break
            if i not in taken:
                head.append(i)
                taken.add(i)
    head.sort()
    tail = [i for i in range(len(categories)) if i not in taken]
    return (head + tail)[:top_k]


def _context_parts(context: Any) -> tuple[dt.datetime, float | None, float | None]:
    if context is None:
        return local_now(), None, None
    if isinstance(context, dict):
        now, lat, lon = context.get("now"), context.get("lat"), context.get("lon")
    else:
        now, lat, lon = getattr(context, "now", None), getattr(context, "lat", None), getattr(context, "lon", None)
    if isinstance(now, str):
        now = dt.datetime.fromisoformat(now)
    if isinstance(now, dt.datetime) and now.tzinfo is not None:
        now = to_local(now)
    return (now or local_now(), float(lat) if lat is not None else None,
            float(lon) if lon is not None else None)


class RecommendationEngine:
    """Layer 1 + Layer 2 + rules, in memory; one :meth:`recommend` per request."""

    def __init__(self, generator, state: InteractionState, ranker: WideDeepRanker | None = None, *,
                 registry=None, max_per_category: int = 2, diversity_window: int = 5):
        self.generator = generator
        self.state = state
        self.registry = registry
        self.max_per_category = max_per_category
        self.diversity_window = diversity_window
        self._lock = threading.Lock()
        self._builder: FeatureBuilder | None = None
        #: per catalog row, what a recommendation shows of its menus (a catalog never changes; a refresh makes a new one)
        self._menu_facts: tuple[Any, dict[int, _RowFacts]] = (None, {})
        self.ranker: WideDeepRanker | None = None
        self._wide_weights: np.ndarray | None = None
        if ranker is not None:
            self.set_ranker(ranker)

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, engine, registry, *, generator=None, embedder=None) -> RecommendationEngine:
        """Layer 1 from the registry (or the one given), the interaction counts from the DB, the production ranker."""
        gen = generator or CandidateGenerator.load(engine, registry, embedder=embedder)
        state = InteractionState.load(engine, gen.catalog)
        rec = cls(gen, state, registry=registry)
        rec.reload_ranker()
        return rec

    def with_state(self, state: InteractionState) -> RecommendationEngine:
        """A new engine with the same Layer 1 and ranker over other interaction counts (``self`` is unchanged)."""
        return type(self)(self.generator, state, self.ranker, registry=self.registry,
                          max_per_category=self.max_per_category, diversity_window=self.diversity_window)

    def set_ranker(self, ranker: WideDeepRanker | None) -> None:
        with self._lock:
            self.ranker = ranker
            if ranker is None:
                self._wide_weights = None
            else:
                self._wide_weights = ranker.wide_weights()

    def reload_ranker(self) -> bool:
        """Load the registry's production ranker; on failure keep serving the current one. True if swapped."""
        if self.registry is None:
            return False
        try:
            ranker = load_production(self.registry)
        except RankerLoadError as exc:
            log.error("ranker not loaded, keeping %s: %s",
                      self.ranker.version if self.ranker else "the Layer 1 order", exc)
            return False
        if ranker is None:
            return False
        if self.ranker is not None and ranker.version == self.ranker.version:
            return False
        self.set_ranker(ranker)
        log.info("ranker %s serving", ranker.version)
        return True

    @property
    def ranking_path(self) -> str:
        return RANKING_WIDE_DEEP if self.ranker is not None else RANKING_FALLBACK

    def builder(self) -> FeatureBuilder:
        catalog = self.generator.catalog
        b = self._builder
        if b is None or b.catalog is not catalog:
            b = self._builder = FeatureBuilder(catalog)
            self.state.add_shops(catalog)
        return b

    # ------------------------------------------------------------------ requests
    def candidate_features(self, user: int | None, nlu_output: dict[str, Any] | None, context: Any = None):
        """Layer 1's result, the ranker's query and the feature rows of every candidate (None when there are none).

        This is exactly what :meth:`recommend` scores; tests use it to check
        that serving computes the training set's features.
        """
        nlu = dict(nlu_output or {})
        filters = dict(nlu.get("filters") or {})
        now, lat, lon = _context_parts(context)
        l1 = self.generator.candidates(user, nlu, RequestContext(now=now, lat=lat, lon=lon))
        origin = l1.origin
        query = RankingQuery(
            user_id=user, filters=filters, semantic_query=str(nlu.get("semantic_query") or nlu.get("text") or ""),
            when=now, position=(origin.lat, origin.lon) if origin else None,
            position_source=(origin.label if origin else None),
        )
        rows = self.builder().build(query, l1.candidates, self.state,
                                    similarity=self.generator.funnels.get("itemknn")) if l1.candidates else None
        return l1, query, rows

    def relaxed_filters(self, user: int | None, filters: dict[str, Any], context: Any = None) -> list[str]:
        """The filters :meth:`recommend` would relax for these ``filters`` (Layer 1's first step alone)."""
        now, lat, lon = _context_parts(context)
        return self.generator.relaxed_filters(user, filters, RequestContext(now=now, lat=lat, lon=lon))

    def recommend(self, user: int | None, nlu_output: dict[str, Any] | None, context: Any = None,
                  top_k: int = DEFAULT_TOP_K, *, reasons: bool = True) -> RecommendationResult:
        """Top ``top_k`` recommendations (core.contract.Recommendation) for a user, an NLU object and a request context.

        ``context`` is a dict or object with optional ``now``, ``lat``, ``lon``. With ``reasons=False`` every
        ``reason`` is None until :meth:`RecommendationResult.add_reasons` fills it for the shops a caller shows
        (the same sentence, built only for them).
        """
        t0 = time.perf_counter()
        l1, query, rows = self.candidate_features(user, nlu_output, context)
        t1 = time.perf_counter()
        cands = l1.candidates
        builder = self.builder()
        origin = l1.origin
        filters = query.filters
        now = query.when
        ranker = self.ranker
        wide_weights = self._wide_weights
        version = ranker.version if ranker is not None else None
        path = RANKING_FALLBACK
        if ranker is not None and rows is not None:
            try:
                scores = ranker.score_rows(rows)
                path = RANKING_WIDE_DEEP
            except Exception:  # noqa: BLE001 - a broken ranker must not break the answer
                log.exception("ranker %s failed; using the Layer 1 order", version)
                scores = np.array([c.score for c in cands], dtype=np.float64)
        else:
            scores = np.array([c.score for c in cands], dtype=np.float64)
        order = sorted(range(len(cands)), key=lambda i: (-scores[i], i))
        t2 = time.perf_counter()

        cat = builder.catalog
        ranked_cats = [cat.categories[cat.row_of[cands[i].shop_id]] for i in order]
        asked_category = bool(filters.get("category") or filters.get("menu"))
        if asked_category:
            picked = list(range(min(top_k, len(order))))
        else:
            picked = diversify(ranked_cats, top_k, self.max_per_category, self.diversity_window)
        final = [order[j] for j in picked]

        recs, pending = self._compose(final, cands, scores, rows, query, origin, cat.open_at(now), wide_weights,
                                      reasons=reasons)
        t3 = time.perf_counter()
        return RecommendationResult(
            user_id=user, recommendations=recs, ranking=path,
            ranker_version=version if path == RANKING_WIDE_DEEP else None,
            relaxed_filters=list(l1.relaxed_filters), explanations=list(l1.explanations),
            metadata={
                "ranking": path, "ranker_version": version if path == RANKING_WIDE_DEEP else None,
                "index_version": l1.index_version, "n_candidates": len(cands), "funnels": l1.funnels,
                "cold_start_user": l1.cold_start_user, "diversity_applied": not asked_category,
                "timings_ms": {"layer1_and_features": round((t1 - t0) * 1000, 3),
                               "rank": round((t2 - t1) * 1000, 3), "compose": round((t3 - t2) * 1000, 3),
                               "total": round((t3 - t0) * 1000, 3)},
            },
            pending_reasons=pending,
        )

    def _compose(self, final: list[int], cands, scores: np.ndarray, rows: FeatureRows | None, query: RankingQuery,
                 origin, open_mask: np.ndarray, wide_weights: np.ndarray | None, *, reasons: bool,
                 ) -> tuple[list[dict[str, Any]], dict[int, Callable[[], str]]]:
        """The recommendations of the candidates picked (``final``), with their reasons, or without them and what
        builds each (``reasons=False``)."""
        pending: dict[int, Callable[[], str]] = {}
        recs = []
        distances = rows.distance_m.tolist() if rows is not None else None
        for i in final:
            rec, make_reason = self._recommendation(cands[i], float(scores[i]), rows, i, query, origin,
                                                    query.filters, open_mask, wide_weights, distances)
            if reasons:
                rec["reason"] = make_reason()
            else:
                pending[rec["shop_id"]] = make_reason
            recs.append(rec)
        return recs, pending

    def _recommendation(self, cand, score: float, rows: FeatureRows | None, i: int, query: RankingQuery,
                        origin, filters: dict[str, Any], open_mask: np.ndarray,
                        wide_weights: np.ndarray | None, distances: list[float] | None = None,
                        ) -> tuple[dict[str, Any], Callable[[], str]]:
        """One recommendation (its ``reason`` None) and what builds its reason. ``distances``: the list of
        ``rows.distance_m`` (made once per list by the caller)."""
        cat = self.builder().catalog
        r = cat.row_of[cand.shop_id]
        shop = self._row_facts(cat, r)
        menu = shop.menu
        sid = int(cand.shop_id)
        rating = self.state.shop_rating(sid)
        if rating is None:
            rating = shop.catalog_rating
        distance = None
        if rows is not None:
            d = distances[i] if distances is not None else float(rows.distance_m[i])
            if math.isfinite(d):
                distance = d
        if distance is None and cand.distance_m is not None:
            distance = float(cand.distance_m)
        funnels = candidate_funnels(cand)

        def make_reason() -> str:
            return build_reason(self._reason_inputs(cand, rows, i, query, origin, filters, rating, distance,
                                                    menu.meal_price, funnels), wide_weights)

        return {
            "shop_id": sid,
            "name": shop.name,
            "category": shop.category,
            "district": shop.district,
            "distance_m": round(distance, 1) if distance is not None else None,
            "price_range": {"min": menu.price_range[0], "max": menu.price_range[1], "text": menu.price_range[2]}
            if menu.price_range else None,
            "signature_menus": [{"name": name, "price": price} for name, price in menu.signature],
            "rating": round(rating, 2) if rating is not None else None,
            "is_good_shop": shop.is_good_shop,
            "accepts_meal_card": shop.accepts_meal_card,
            "open_now": bool(open_mask[r]),
            "score": round(score, 6),
            "funnels": {k: round(v, 4) for k, v in funnels.items()},
            "reason": None,
        }, make_reason

    def _row_facts(self, cat, r: int) -> _RowFacts:
        """What a recommendation shows of catalog row ``r`` that the catalog alone decides, kept while ``cat``
        serves (a catalog never changes; a refresh makes a new one)."""
        cached_cat, facts = self._menu_facts
        if cached_cat is not cat:
            facts = {}
            self._menu_facts = (cat, facts)
        found = facts.get(r)
        if found is None:
            rating = float(cat.rating[r])
            found = facts[r] = _RowFacts(
                menu=_menu_facts(cat.menus[r]), name=cat.names[r], category=cat.categories[r],
                district=cat.districts[r], is_good_shop=bool(cat.is_good_shop[r]),
                accepts_meal_card=bool(cat.accepts_meal_card[r]),
                catalog_rating=rating if math.isfinite(rating) else None)
        return found

    def _reason_inputs(self, cand, rows: FeatureRows | None, i: int, query: RankingQuery, origin,
                       filters: dict[str, Any], rating: float | None, distance: float | None,
                       meal_price: float | None, funnels: dict[str, float]) -> ReasonInputs:
        """What the reason of one recommendation may talk about (naviyam.recommend.reasons)."""
        cat = self.builder().catalog
        r = cat.row_of[cand.shop_id]
        menus = cat.menus[r]
        sid = int(cand.shop_id)
        uid = query.user_id
        user = self.state.users.get(uid) if uid is not None else None
        asked_menu = filters.get("menu")
        return ReasonInputs(
            category=cat.categories[r],
            wide=rows.wide[i].astype(np.float64) if rows is not None else np.zeros(50),
            distance_m=distance, origin_label=origin.label if origin else None,
            accepts_meal_card=bool(cat.accepts_meal_card[r]), is_good_shop=bool(cat.is_good_shop[r]),
            cheapest_price=meal_price,
            budget=int(filters["budget_filter"]) if filters.get("budget_filter") else None,
            meal_card_asked=filters.get("payment_method") == "meal_card",
            meal_card_holder=bool(user.is_meal_card_holder) if user else False,
            orders_here=self.state.user_shop_orders.get((uid, sid), 0) if uid is not None else 0,
            is_favourite=(uid, sid) in self.state.favourites if uid is not None else False,
            rating=rating, review_count=self.state.shop_reviews.get(sid, int(cat.review_count[r])),
            asked_menu=asked_menu,
            serves_asked_menu=bool(asked_menu) and any(m.dish == asked_menu or asked_menu in m.name for m in menus),
            dietary=list(filters.get("dietary_preferences") or ()),
            time_of_day=filters.get("time_of_day"), funnels=funnels,
        )


@dataclass(frozen=True)
class _MenuFacts:
    """What a recommendation shows of one shop's menus, worked out once per catalog."""

    #: (min, max, text) over the real main menus, None without one
    price_range: tuple[int, int, str] | None
    #: (name, price) of up to three signature menus (else the cheapest real ones)
    signature: tuple[tuple[str, int], ...]
    #: the cheapest real meal, for the reason (:func:`_meal_price`)
    meal_price: float | None


@dataclass(frozen=True)
class _RowFacts:
    """What a recommendation shows of one catalog row that the catalog alone decides, worked out once per
    catalog (numpy's scalars cost more than the lookups they save when read shop by shop on every request)."""

    menu: _MenuFacts
    name: str
    category: str
    district: str
    is_good_shop: bool
    accepts_meal_card: bool
    #: the catalog's mean rating (None without reviews): used when the interaction state has none
    catalog_rating: float | None


def _menu_facts(menus) -> _MenuFacts:
    real = [m for m in menus if m.price > 0 and m.is_main]
    sig = [m for m in menus if m.is_signature] or sorted(real, key=lambda m: m.price)
    price_range = (min(m.price for m in real), max(m.price for m in real), _price_text(real)) if real else None
    return _MenuFacts(price_range, tuple((m.name, m.price) for m in sig[:3]), _meal_price(real))


def _meal_price(real) -> float | None:
    """The cheapest real meal: menus that are a known dish (else signature menus), so a 1,000원 drink or side
    never makes a reason promise a meal at that price."""
    mains = [m.price for m in real if m.dish] or [m.price for m in real if m.is_signature]
    return float(min(mains)) if mains else None


def _price_text(real) -> str:
    lo, hi = min(m.price for m in real), max(m.price for m in real)
    return f"{lo:,}원" if lo == hi else f"{lo:,}원~{hi:,}원"


def latency_percentiles(samples_ms: list[float]) -> dict[str, float]:
    """p50 / p95 / mean of a list of milliseconds."""
    if not samples_ms:
        return {"p50": math.nan, "p95": math.nan, "mean": math.nan}
    a = np.asarray(samples_ms, dtype=np.float64)
    return {"p50": float(np.percentile(a, 50)), "p95": float(np.percentile(a, 95)), "mean": float(a.mean())}
