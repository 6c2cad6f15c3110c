"""Everything heavy the service needs, loaded once: the NLU parser and the recommendation engine.

The API keeps one :class:`Runtime` on ``app.state``; ``naviyam chat`` builds
one too. Both talk to it only through :meth:`Runtime.chat_service`.

Hot swap. Every request takes one :class:`~naviyam.service.chat.ChatService`
(parser, recommenders and their versions, fixed for its lifetime), so a
request always sees one consistent set of models. At most every
``reload_interval_s`` seconds a request notices that it is time to look at
the registry and starts a background thread (never waiting for it) that
compares the registry's production versions — and, while an online A/B test
runs (``ab_share`` > 0), the newest candidate ranker — with what is loaded,
loads what changed off the request path, and then replaces the one
reference to the chat service. ``/admin/reload`` does the same at once
(:meth:`Runtime.refresh`). A model that cannot be loaded (missing or corrupt
files) leaves the previous one serving and writes an ``alert`` row
(kind ``model_load_failed``) once per version; later checks try it again, so
a transient failure heals by itself.

Interaction counts. The ranker's features read the orders, favourites,
reviews and the users' own chat feedback as of the moment the state was
loaded (:meth:`InteractionState.load`). A refresh reads them again when the
database has newer events (:func:`event_marks`) and either it was asked to
(``reload_state``: ``POST /admin/reload``, the hot reload after the nightly
learning in ``naviyam simulate``) or the loaded state is older than
``state_reload_s``; the new state is swapped in with the models, never
modified under a request.

With the LLM path on (``NAVIYAM_LLM_ENABLED``), the trained NLU still serves
behind the LLM parser as its fallback: a new production NLU is swapped in
under the same LLM parser, and a new production ``lora`` adapter (when the
service reads its adapter from the registry) loads a new LLM backend with
its parser and answerer, off the request path like the other models.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from naviyam.config import Settings
from naviyam.core.registry import ModelRegistry
from naviyam.db.models import Alert, Shop
from naviyam.db.session import session_scope
from naviyam.llm.backend import LLMBackend
from naviyam.llm.settings import get_llm_settings
from naviyam.nlg.responses import ResponseWriter
from naviyam.nlu import load_parser
from naviyam.nlu.parser import NLUParser
from naviyam.recommend.engine import RecommendationEngine
from naviyam.recommend.features import InteractionState, event_marks
from naviyam.recommend.ranker.serving import WideDeepRanker
from naviyam.service.chat import ChatService
from naviyam.service.llm import build_llm_components, components_for
from naviyam.service.warm import query_embedder

log = logging.getLogger(__name__)
#: How often a runtime without a recommender tries to load one again.
RETRY_SECONDS = 30.0
#: How often the registry is checked while some model kind is still missing (a first start builds them).
WARMING_CHECK_SECONDS = 5.0
ALERT_MODEL_LOAD_FAILED = "model_load_failed"


@dataclass
class RefreshResult:
    """What one registry check changed: kind -> (old version, new version); failures: kind -> message."""

    changed: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    candidate_versions: dict[str, str] | None = None
    #: the interaction counts the features read were loaded again
    state_reloaded: bool = False


@dataclass
class Runtime:
    engine: Engine
    settings: Settings
    registry: ModelRegistry
    parser: Any
    recommender: Any | None
    writer: ResponseWriter = field(default_factory=ResponseWriter)
    #: The grounded LLM answerer when NAVIYAM_LLM_ENABLED (answers fall back to templates), else None.
    answerer: Any | None = None
    #: The recommender serving the A/B candidate arm (None when no test runs).
    candidate_recommender: Any | None = None
    #: The LLM components (backend, parser, answerer) when the LLM path is on, else None.
    llm: Any | None = None
    #: The trained NLU parser (the LLM parser's fallback when the LLM path is on; else ``parser`` itself).
    base_parser: Any | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _refresh_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _chat: ChatService | None = field(default=None, repr=False)
    _last_attempt: float = field(default_factory=time.monotonic, repr=False)
    _last_check: float = field(default_factory=time.monotonic, repr=False)
    _refreshing: threading.Thread | None = field(default=None, repr=False)
    _failed_versions: set[str] = field(default_factory=set, repr=False)
    _state_loaded: float = field(default_factory=time.monotonic, repr=False)
    #: Components handed to :meth:`load` explicitly (tests, tools) are never swapped.
    pinned: frozenset[str] = frozenset()
    #: Called (in the refreshing thread) after every swap; a server settles its heap there (naviyam.core.heap).
    after_swap: list[Callable[[], Any]] = field(default_factory=list, repr=False)

    @classmethod
    def load(cls, engine: Engine, settings: Settings, *, parser: Any = None, recommender: Any = None) -> Runtime:
        """Load the production models. Missing models degrade (rules NLU, no recommender), never fail."""
        registry = ModelRegistry(engine, settings.models_dir)
        pinned = frozenset(k for k, v in (("nlu", parser), ("recommender", recommender)) if v is not None)
        if parser is None:
            parser = load_parser(registry, fallback="rules")
        if recommender is None:
            recommender = load_recommender(engine, registry)
        parser.parse("급식카드 되는 떡볶이집 추천해줘")  # warm the morphological analyser before the first user
        answerer = None
        base_parser = parser
        llm = load_llm(parser, registry, engine)
        if llm is not None:
            parser = llm.parser or parser
            answerer = llm.answerer
        rt = cls(engine=engine, settings=settings, registry=registry, parser=parser, recommender=recommender,
                 answerer=answerer, llm=llm, base_parser=base_parser, pinned=pinned)
        if settings.ab_share > 0 and recommender is not None:
            rt.candidate_recommender = rt._load_candidate(recommender, None, RefreshResult())
        return rt

    # ------------------------------------------------------------------ versions
    @staticmethod
    def _versions(parser: Any, recommender: Any | None) -> dict[str, str]:
        versions = {"nlu": getattr(parser, "version", "unknown")}
        if recommender is not None:
            versions["index"] = recommender.generator.version or "unknown"
            ranker = getattr(recommender, "ranker", None)
            versions["ranker"] = ranker.version if ranker is not None else "layer1_fallback"
        return versions

    def model_versions(self) -> dict[str, str]:
        versions = self._versions(self.parser, self.recommender)
        adapter = getattr(getattr(self.llm, "backend", None), "adapter_path", None)
        if adapter is not None:
            versions["lora"] = Path(adapter).name
        return versions

    def cache_counts(self) -> dict[str, tuple[int, int]]:
        """(hits, misses) of the serving caches so far: ``query_embedding`` (Layer 1's dense queries) and
        ``nlu`` (parses of the same text), where the loaded models have them."""
        counts: dict[str, tuple[int, int]] = {}
        embedder = query_embedder(self)
        if embedder is not None:
            counts["query_embedding"] = (embedder.hits, embedder.misses)
        parser_counts = getattr(self.parser, "cache_counts", None)
        if callable(parser_counts):
            counts["nlu"] = parser_counts()
        return counts

    def candidate_versions(self) -> dict[str, str] | None:
        if self.candidate_recommender is None:
            return None
        return self._versions(self.parser, self.candidate_recommender)

    # ------------------------------------------------------------------ serving
    def chat_service(self) -> ChatService:
        """The current chat service: one consistent snapshot of the models for a whole request."""
        self._maybe_refresh_in_background()
        chat = self._chat
        if chat is not None:
            return chat
        with self._lock:
            if self.recommender is None and time.monotonic() - self._last_attempt > RETRY_SECONDS:
                # Start-up may have found no index or no database; try again now and then.
                self._last_attempt = time.monotonic()
                self.recommender = load_recommender(self.engine, self.registry)
            if self._chat is None:
                self._chat = self._build_chat()
            return self._chat

    def _build_chat(self) -> ChatService:
        return ChatService(self.engine, self.parser, self.recommender, self.writer,
                           model_versions=self.model_versions(), answerer=self.answerer,
                           candidate_recommender=self.candidate_recommender,
                           candidate_versions=self.candidate_versions(),
                           ab_share=self.settings.ab_share, ab_salt=self.settings.ab_salt,
                           settings=self.settings)

    def _incomplete(self) -> bool:
        """Some model kind is not served yet (first start: the background build has not finished it)."""
        return (self.recommender is None or getattr(self.recommender, "ranker", None) is None
                or getattr(self.parser, "version", None) == "rules")

    def _maybe_refresh_in_background(self) -> None:
        interval = self.settings.reload_interval_s
        if interval > 0 and self._incomplete():
            interval = min(interval, WARMING_CHECK_SECONDS)  # pick each model up soon after it is built
        if interval <= 0 or time.monotonic() - self._last_check < interval:
            return
        with self._lock:
            if time.monotonic() - self._last_check < interval:
                return
            self._last_check = time.monotonic()
            if self._refreshing is not None and self._refreshing.is_alive():
                return
            self._refreshing = threading.Thread(target=self._refresh_quietly, name="naviyam-model-refresh",
                                                daemon=True)
            self._refreshing.start()

    def _refresh_quietly(self) -> None:
        try:
            self.refresh()
        except Exception:  # noqa: BLE001 - a failed check must never reach a request
            log.exception("model refresh failed; the loaded models keep serving")

    # ------------------------------------------------------------------ hot swap
    def refresh(self, *, reload_state: bool = False) -> RefreshResult:
        """Load what the registry changed (production versions, the A/B candidate) and swap it in at once.

        The interaction counts are read again when there are new events and ``reload_state`` is set or the
        loaded ones are older than ``state_reload_s`` (see the module doc); ``state_reloaded`` says so."""
        with self._refresh_lock:
            self._last_check = time.monotonic()
            res = RefreshResult()
            parser, recommender, llm, answerer = self.parser, self.recommender, self.llm, self.answerer
            base_parser = self.base_parser if self.base_parser is not None else parser
            prod = {mv.kind: mv for mv in self._production()}

            parser, base_parser = self._refreshed_nlu(prod.get("nlu"), parser, base_parser, llm, res)
            llm, answerer, parser = self._refreshed_llm(prod.get("lora"), llm, answerer, parser, base_parser, res)
            recommender = self._refreshed_recommender(prod, recommender, res)

            if recommender is not None and "recommender" not in self.pinned:
                recommender = self._fresh_state(recommender, reload_state, res)
            candidate = self._load_candidate(recommender, self.candidate_recommender, res)
            old_cand = getattr(getattr(self.candidate_recommender, "ranker", None), "version", None)
            new_cand = getattr(getattr(candidate, "ranker", None), "version", None)
            if new_cand != old_cand or (candidate is not None and candidate.generator is not getattr(
                    recommender, "generator", None)):
                res.changed["candidate_ranker"] = (old_cand, new_cand)

            if res.changed or res.state_reloaded:
                with self._lock:
                    self.parser, self.recommender, self.candidate_recommender = parser, recommender, candidate
                    self.base_parser, self.llm, self.answerer = base_parser, llm, answerer
                    self._chat = self._build_chat()  # the one reference every new request reads
                log.info("models swapped: %s", {k: v[1] for k, v in res.changed.items()})
                for hook in list(self.after_swap):
                    try:
                        hook()
                    except Exception:  # noqa: BLE001 - the swap happened; a hook never undoes it
                        log.exception("after-swap hook %r failed", hook)
            res.versions = self.model_versions()
            res.candidate_versions = self.candidate_versions()
            return res

    def _refreshed_nlu(self, nlu_mv, parser: Any, base_parser: Any, llm: Any, res: RefreshResult) -> tuple[Any, Any]:
        """(parser, trained parser) with a new production NLU loaded; behind the LLM parser it is the fallback."""
        if (nlu_mv is not None and "nlu" not in self.pinned
                and nlu_mv.version != getattr(base_parser, "version", None)):
            new_parser = self._try_load("nlu", nlu_mv, res, lambda: _load_parser(nlu_mv))
            if new_parser is not None:
                res.changed["nlu"] = (getattr(base_parser, "version", None), nlu_mv.version)
                base_parser = new_parser
                # Behind the LLM parser the trained NLU is the fallback: same LLM, new fallback.
                parser = _with_fallback(parser, new_parser) if getattr(llm, "parser", None) is not None \
                    else new_parser
        return parser, base_parser

    def _refreshed_llm(self, lora_mv, llm: Any, answerer: Any, parser: Any, base_parser: Any,
                       res: RefreshResult) -> tuple[Any, Any, Any]:
        """(LLM, answerer, parser) with a new production LoRA adapter loaded (when the LLM reads the registry's)."""
        if llm is not None and lora_mv is not None and _reads_registry_adapter() and \
                not _same_path(getattr(llm.backend, "adapter_path", None), lora_mv.path):
            fallback = base_parser
            new_llm = self._try_load("lora", lora_mv, res, lambda: _load_llm(self.engine, self.registry, fallback))
            if new_llm is not None:
                old = getattr(llm.backend, "adapter_path", None)
                res.changed["lora"] = (Path(old).name if old else None, lora_mv.version)
                llm, answerer = new_llm, new_llm.answerer
                parser = new_llm.parser or base_parser
        return llm, answerer, parser

    def _refreshed_recommender(self, prod: dict, recommender: Any, res: RefreshResult) -> Any:
        """The recommender with a new production index (and its ranker) or a new ranker alone."""
        index_mv, ranker_mv = prod.get("index"), prod.get("ranker")
        if "recommender" in self.pinned:
            index_mv = ranker_mv = None
        loaded_index = recommender.generator.version if recommender is not None else None
        loaded_ranker = getattr(getattr(recommender, "ranker", None), "version", None)
        if index_mv is not None and index_mv.version != loaded_index:
            new_rec = self._try_load("index", index_mv, res, lambda: _load_engine(self.engine, self.registry))
            if new_rec is not None:
                res.changed["index"] = (loaded_index, index_mv.version)
                new_ranker = getattr(new_rec.ranker, "version", None)
                if new_ranker != loaded_ranker:
                    res.changed["ranker"] = (loaded_ranker, new_ranker)
                recommender = new_rec
        elif recommender is not None and ranker_mv is not None and ranker_mv.version != loaded_ranker:
            base = recommender
            new_rec = self._try_load("ranker", ranker_mv, res, lambda: _with_ranker(base, ranker_mv))
            if new_rec is not None:
                res.changed["ranker"] = (loaded_ranker, ranker_mv.version)
                recommender = new_rec
        return recommender

    def _fresh_state(self, recommender: Any, asked: bool, res: RefreshResult) -> Any:
        """``recommender`` over interaction counts read again, when due and the database has new events."""
        state = getattr(recommender, "state", None)
        age = time.monotonic() - self._state_loaded
        due = asked or (self.settings.state_reload_s > 0 and age >= self.settings.state_reload_s)
        if state is None or not due or not hasattr(recommender, "with_state"):
            return recommender
        try:
            if event_marks(self.engine) == getattr(state, "marks", None):
                return recommender
            fresh = InteractionState.load(self.engine, recommender.generator.catalog)
        except Exception:  # noqa: BLE001 - keep serving the counts already loaded
            log.exception("interaction counts could not be read again; the loaded ones keep serving")
            return recommender
        self._state_loaded = time.monotonic()
        res.state_reloaded = True
        log.info("interaction counts reloaded: %s", fresh.marks)
        return recommender.with_state(fresh)

    def _production(self):
        with session_scope(self.engine) as s:
            return ModelRegistry.production_versions(s)

    def _load_candidate(self, recommender: Any | None, current: Any | None, res: RefreshResult):
        """The recommender for the A/B candidate arm: the newest candidate ranker over the serving Layer 1."""
        if self.settings.ab_share <= 0 or recommender is None:
            return None
        mv = self.registry.latest("ranker", "candidate")
        if mv is None:
            return None
        cur_version = getattr(getattr(current, "ranker", None), "version", None)
        if current is not None and cur_version == mv.version and current.generator is recommender.generator:
            return current
        return self._try_load("candidate_ranker", mv, res, lambda: _with_ranker(recommender, mv))

    def _try_load(self, kind: str, mv, res: RefreshResult, loader):
        try:
            return loader()
        except Exception as exc:  # noqa: BLE001 - keep serving what is loaded
            message = f"{type(exc).__name__}: {exc}"
            res.failed[kind] = message
            log.error("%s %s could not be loaded; keeping the loaded one: %s", kind, mv.version, message)
            if mv.version not in self._failed_versions:
                self._failed_versions.add(mv.version)
                _write_alert(self.engine, kind, mv.version, message)
            return None


def _load_parser(mv):
    parser = NLUParser.load(Path(mv.path), version=mv.version)
    parser.parse("급식카드 되는 떡볶이집 추천해줘")  # warm before it serves
    return parser


def _with_fallback(llm_parser: Any, fallback: Any):
    """The same LLM parser (same backend and budgets) over another trained fallback NLU."""
    return type(llm_parser)(llm_parser.llm, fallback, timeout_s=llm_parser.timeout_s,
                            max_new_tokens=llm_parser.max_new_tokens, min_confidence=llm_parser.min_confidence)


def _same_path(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return Path(a).resolve() == Path(b).resolve()


def _reads_registry_adapter() -> bool:
    """Whether the service takes its LoRA adapter from the registry (no fixed adapter folder is set)."""
    s = get_llm_settings()
    return s.adapter_path is None and s.use_registry_adapter


def _load_llm(engine: Engine, registry: ModelRegistry, fallback_parser: Any):
    """New LLM components over the registry's production adapter; raises when they cannot be loaded."""
    s = get_llm_settings()
    backend = LLMBackend.from_settings(s, registry)
    llm = components_for(backend, fallback_parser, s, known_shop_names=_shop_names(engine))
    if llm.parser is not None:
        llm.parser.parse("급식카드 되는 떡볶이집 추천해줘")  # warm before it serves
    return llm


def _shop_names(engine: Engine) -> list[str]:
    with session_scope(engine) as s:
        return list(s.scalars(select(Shop.name)))


def _load_engine(engine: Engine, registry: ModelRegistry):
    rec = RecommendationEngine.load(engine, registry)
    _warm(rec)
    return rec


def _with_ranker(base, mv):
    """A recommendation engine sharing ``base``'s Layer 1 and interaction state, ranked by version ``mv``."""
    ranker = WideDeepRanker.load(Path(mv.path), version=mv.version)
    rec = RecommendationEngine(base.generator, base.state, ranker, registry=base.registry,
                               max_per_category=base.max_per_category, diversity_window=base.diversity_window)
    _warm(rec)
    return rec


def _warm(rec) -> None:
    """One request through the new engine (builds its feature tables) and a check that its scores are finite."""
    out = rec.recommend(None, {"intent": "FOOD_RECOMMENDATION", "filters": {}, "semantic_query": "맛있는 식당"},
                        None, top_k=3)
    if any(not math.isfinite(float(r["score"])) for r in out.recommendations):
        raise ValueError("the new model gives non-finite scores")


def _write_alert(engine: Engine, kind: str, version: str, message: str) -> None:
    try:
        with session_scope(engine) as s:
            s.add(Alert(kind=ALERT_MODEL_LOAD_FAILED, severity="error",
                        message=f"새 {kind} 모델 {version}을(를) 불러오지 못해 이전 모델로 계속 서비스해요.",
                        details={"model_kind": kind, "version": version, "error": message[:2000]}))
    except Exception:  # noqa: BLE001 - the log line above still tells
        log.exception("could not write the model_load_failed alert")


def load_recommender(engine: Engine, registry: ModelRegistry):
    """The recommendation engine over the production index, or None when it cannot be loaded (yet)."""
    try:
        if registry.current("index") is None:
            log.warning("no Layer 1 index yet (run `naviyam index build`); recommendations are unavailable")
            return None
        return RecommendationEngine.load(engine, registry)
    except Exception:  # noqa: BLE001 - the service still answers everything but recommendations
        log.exception("recommendation engine could not be loaded")
        return None


def load_llm(parser: Any, registry: ModelRegistry, engine: Engine):
    """The optional large-model path (off by default): components, or None."""
    llm_settings = get_llm_settings()
    if not llm_settings.enabled:
        return None

    return build_llm_components(parser, llm_settings, registry, known_shop_names=_shop_names(engine))
