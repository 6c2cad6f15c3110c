"""The optional large-model backend (A.X-3.1-Light or any local causal LM), off by default.

This package is a backend the NLU and the NLG plug in; it imports nothing of
theirs (see docs/architecture.md). It holds the generation backend, the
prompts and the LoRA trainer. The parts that use it live with their layer:

- :class:`naviyam.nlu.llm_parser.LLMNLUParser`: the NLU through the model,
- :class:`naviyam.nlg.grounded.GroundedAnswerer` and its guard: answers,
- :mod:`naviyam.learning.lora_data` / :mod:`naviyam.learning.lora_registry`: training data and promotion,
- :func:`naviyam.service.llm.build_llm_components`: what the service loads.

Imported lazily: nothing here loads torch until used::

    from naviyam.llm import LLMBackend, train_lora, LoraTrainConfig
    llm = LLMBackend.load("/models/A.X-3.1-Light", adapter_path=None)      # local folders only
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

log = logging.getLogger(__name__)

_LAZY = {
    "LLMSettings": "naviyam.llm.settings", "get_llm_settings": "naviyam.llm.settings",
    "LLMBackend": "naviyam.llm.backend", "Generation": "naviyam.llm.backend",
    "train_lora": "naviyam.llm.lora", "LoraTrainConfig": "naviyam.llm.lora",
}

__all__ = [*_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)
