"""The optional large-model path (A.X-3.1-Light or any local causal LM), off by default.

Public API (imported lazily: nothing here loads torch until used)::

    from naviyam.llm import LLMSettings, LLMBackend, LLMNLUParser, GroundedAnswerer

    llm = LLMBackend.load("/models/A.X-3.1-Light", adapter_path=None)      # local folders only
    parser = LLMNLUParser(llm, fallback_parser=load_parser(), timeout_s=5)  # same interface as NLUParser
    text, backend = GroundedAnswerer(llm).answer(question, recs, template_answer, age)

    train_lora(base_model, rows, output_dir, LoraTrainConfig())            # naviyam.llm.lora
    compare_adapters(candidate, production, heldout); promote_if_better(...)  # naviyam.llm.registry

``build_llm_components`` loads what the settings name and returns ``None``
when the path is disabled or cannot be loaded, so the service keeps working.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

_LAZY = {
    "LLMSettings": "naviyam.llm.settings", "get_llm_settings": "naviyam.llm.settings",
    "LLMBackend": "naviyam.llm.backend", "Generation": "naviyam.llm.backend",
    "LLMNLUParser": "naviyam.llm.nlu_parser", "GroundedAnswerer": "naviyam.llm.answer",
    "GroundingGuard": "naviyam.llm.grounding", "train_lora": "naviyam.llm.lora",
    "LoraTrainConfig": "naviyam.llm.lora", "compare_adapters": "naviyam.llm.registry",
    "promote_if_better": "naviyam.llm.registry",
}

__all__ = [*_LAZY, "LLMComponents", "build_llm_components", "components_for"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)


@dataclass
class LLMComponents:
    backend: Any
    parser: Any | None  # LLMNLUParser, or None when settings.nlu is off
    answerer: Any | None  # GroundedAnswerer, or None when settings.answers is off


def build_llm_components(fallback_parser: Any, settings: Any = None, registry: Any = None,
                         known_shop_names: list[str] | None = None) -> LLMComponents | None:
    """The LLM parser and answerer the settings ask for; None when disabled or the model cannot load."""
    from naviyam.llm.settings import get_llm_settings

    s = settings or get_llm_settings()
    if not s.enabled:
        return None
    try:
        from naviyam.llm.backend import LLMBackend

        backend = LLMBackend.from_settings(s, registry)
    except Exception:  # noqa: BLE001 - the service answers without the LLM
        log.exception("the LLM path is enabled but the model could not be loaded; using the trained NLU "
                      "and template answers")
        return None
    return components_for(backend, fallback_parser, s, known_shop_names)


def components_for(backend: Any, fallback_parser: Any, settings: Any,
                   known_shop_names: list[str] | None = None) -> LLMComponents:
    """The parser and answerer the settings ask for, over an already loaded backend."""
    from naviyam.llm.answer import GroundedAnswerer
    from naviyam.llm.nlu_parser import LLMNLUParser

    s = settings
    parser = LLMNLUParser(backend, fallback_parser, timeout_s=s.timeout_s) if s.nlu else None
    answerer = (GroundedAnswerer(backend, timeout_s=s.timeout_s, known_shop_names=known_shop_names or ())
                if s.answers else None)
    return LLMComponents(backend, parser, answerer)
