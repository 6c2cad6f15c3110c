"""Everything heavy the service needs, loaded once: the NLU parser and the recommendation engine.

The API keeps one :class:`Runtime` on ``app.state``; ``naviyam chat`` builds
one too. Both talk to it only through :meth:`Runtime.chat_service`.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from naviyam.config import Settings
from naviyam.learning.registry import ModelRegistry
from naviyam.nlg.responses import ResponseWriter
from naviyam.service.chat import ChatService

log = logging.getLogger(__name__)
#: How often a runtime without a recommender tries to load one again.
RETRY_SECONDS = 30.0


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
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _chat: ChatService | None = field(default=None, repr=False)
    _last_attempt: float = field(default_factory=time.monotonic, repr=False)

    @classmethod
    def load(cls, engine: Engine, settings: Settings, *, parser: Any = None, recommender: Any = None) -> "Runtime":
        """Load the production models. Missing models degrade (rules NLU, no recommender), never fail."""
        from naviyam.nlu import load_parser

        registry = ModelRegistry(engine, settings.models_dir)
        if parser is None:
            parser = load_parser(registry, fallback="rules")
        if recommender is None:
            recommender = load_recommender(engine, registry)
        parser.parse("급식카드 되는 떡볶이집 추천해줘")  # warm the morphological analyser before the first user
        answerer = None
        llm = load_llm(parser, registry, engine)
        if llm is not None:
            parser = llm.parser or parser
            answerer = llm.answerer
        return cls(engine=engine, settings=settings, registry=registry, parser=parser, recommender=recommender,
                   answerer=answerer)

    def model_versions(self) -> dict[str, str]:
        versions = {"nlu": getattr(self.parser, "version", "unknown")}
        if self.recommender is not None:
            versions["index"] = self.recommender.generator.version or "unknown"
            ranker = getattr(self.recommender, "ranker", None)
            versions["ranker"] = ranker.version if ranker is not None else "layer1_fallback"
        return versions

    def chat_service(self) -> ChatService:
        with self._lock:
            if self.recommender is None and time.monotonic() - self._last_attempt > RETRY_SECONDS:
                # Start-up may have found no index or no database; try again now and then.
                self._last_attempt = time.monotonic()
                self.recommender = load_recommender(self.engine, self.registry)
                if self.recommender is not None:
                    self._chat = None
            if self._chat is None:
                self._chat = ChatService(self.engine, self.parser, self.recommender, self.writer,
                                         model_versions=self.model_versions(), answerer=self.answerer)
            return self._chat


def load_recommender(engine: Engine, registry: ModelRegistry):
    """The recommendation engine over the production index, or None when it cannot be loaded (yet)."""
    from naviyam.recommend.engine import RecommendationEngine

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
    from naviyam.llm.settings import get_llm_settings

    llm_settings = get_llm_settings()
    if not llm_settings.enabled:
        return None
    from sqlalchemy import select

    from naviyam.db.models import Shop
    from naviyam.db.session import session_scope
    from naviyam.llm import build_llm_components

    with session_scope(engine) as s:
        names = list(s.scalars(select(Shop.name)))
    return build_llm_components(parser, llm_settings, registry, known_shop_names=names)
