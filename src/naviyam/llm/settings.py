"""The LLM path's settings: the ``llm_*`` fields of the one settings object (``NAVIYAM_LLM_*``).

Off by default: with ``NAVIYAM_LLM_ENABLED=false`` nothing loads torch weights.
"""

from __future__ import annotations

from functools import lru_cache

from naviyam.config import LLMSettings, Settings

__all__ = ["LLMSettings", "get_llm_settings"]


@lru_cache
def get_llm_settings() -> LLMSettings:
    return Settings().llm  # read afresh: the cache is this function's (tests clear it after changing the env)
