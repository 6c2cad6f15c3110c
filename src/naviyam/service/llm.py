"""The LLM parser and answerer the service runs when the LLM path is enabled (off by default)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from naviyam.llm.backend import LLMBackend
from naviyam.llm.settings import get_llm_settings
from naviyam.nlg.grounded import GroundedAnswerer
from naviyam.nlu.llm_parser import LLMNLUParser

log = logging.getLogger(__name__)


@dataclass
class LLMComponents:
    backend: Any
    parser: Any | None  # LLMNLUParser, or None when settings.nlu is off
    answerer: Any | None  # GroundedAnswerer, or None when settings.answers is off


def build_llm_components(fallback_parser: Any, settings: Any = None, registry: Any = None,
                         known_shop_names: list[str] | None = None) -> LLMComponents | None:
    """The LLM parser and answerer the settings ask for; None when disabled or the model cannot load."""
    s = settings or get_llm_settings()
    if not s.enabled:
        return None
    try:

        backend = LLMBackend.from_settings(s, registry)
    except Exception:  # noqa: BLE001 - the service answers without the LLM
        log.exception("the LLM path is enabled but the model could not be loaded; using the trained NLU "
                      "and template answers")
        return None
    return components_for(backend, fallback_parser, s, known_shop_names)


def components_for(backend: Any, fallback_parser: Any, settings: Any,
                   known_shop_names: list[str] | None = None) -> LLMComponents:
    """The parser and answerer the settings ask for, over an already loaded backend."""
    s = settings
    parser = LLMNLUParser(backend, fallback_parser, timeout_s=s.timeout_s) if s.nlu else None
    answerer = (GroundedAnswerer(backend, timeout_s=s.timeout_s, known_shop_names=known_shop_names or ())
                if s.answers else None)
    return LLMComponents(backend, parser, answerer)
