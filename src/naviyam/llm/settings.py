"""Settings of the optional large-model path (``NAVIYAM_LLM_*`` env vars or ``.env``).

Kept apart from :mod:`naviyam.config` so the LLM path can be switched on
without touching the service settings. Off by default: with
``NAVIYAM_LLM_ENABLED=false`` nothing here loads torch weights.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class LLMSettings(BaseSettings):
    """Where the local causal LM lives and how it may be used. The README lists these."""

    model_config = SettingsConfigDict(env_prefix="NAVIYAM_LLM_", env_file=".env", extra="ignore")

    enabled: bool = Field(False, description="Use the LLM for NLU and answers (the trained NLU and the template "
                                             "answers remain the fallback).")
    model_path: Path | None = Field(None, description="Local folder of a Hugging Face causal LM "
                                                      "(e.g. a downloaded A.X-3.1-Light). Nothing is downloaded.")
    adapter_path: Path | None = Field(None, description="Optional PEFT LoRA adapter folder applied on top of "
                                                        "model_path. Empty: the registry's production lora version.")
    use_registry_adapter: bool = Field(True, description="When adapter_path is empty, load the production `lora` "
                                                         "version from the model registry if there is one.")
    device: str = Field("auto", description="auto (GPU when available), cpu, cuda or cuda:N.")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto", description="Weights dtype: auto = bfloat16 on GPU, float32 on CPU.")
    load_in_4bit: bool = Field(True, description="Load 4-bit (NF4) weights when a GPU is present and bitsandbytes "
                                                 "is installed; ignored otherwise.")
    max_new_tokens: int = Field(160, ge=8, le=2048, description="Token budget of one generation.")
    timeout_s: float = Field(8.0, gt=0, description="Wall-clock budget of one generation (seconds); past it the "
                                                    "trained NLU / the template answer is used.")
    nlu: bool = Field(True, description="Use the LLM for understanding messages (when enabled).")
    answers: bool = Field(True, description="Use the LLM for grounded answer text (when enabled).")


@lru_cache
def get_llm_settings() -> LLMSettings:
    return LLMSettings()
