"""The LLM backend: a local causal LM (optionally with a LoRA adapter) that generates under a budget.

Everything loads from local folders: every transformers and peft call is
given ``local_files_only=True``, so nothing is downloaded at run time (and the
process environment is left alone). On a GPU
with bitsandbytes installed the weights load in 4-bit (NF4); otherwise
bfloat16 on GPU and float32 on CPU (see :class:`~naviyam.llm.settings.LLMSettings`).

Used by :class:`~naviyam.nlu.llm_parser.LLMNLUParser` (understanding, with
the trained NLU as fallback) and :class:`~naviyam.nlg.grounded.GroundedAnswerer`
(answer text, with the template answer as fallback); both are re-exported here.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from naviyam.llm.prompts import render_prompt, resolve_style
from naviyam.llm.settings import get_llm_settings

log = logging.getLogger(__name__)

#: File written beside every adapter the trainer saves (base model, prompt style, metrics).
ADAPTER_META = "naviyam_lora.json"


def json_object_end(text: str, start: int | None = None) -> int | None:
    """Index just past the first complete top-level ``{...}`` in ``text`` (string aware), or None."""
    i = text.find("{") if start is None else start
    if i < 0:
        return None
    depth, in_str, esc = 0, False, False
    for j in range(i, len(text)):
        c = text[j]
        if in_str:
            if esc:
                esc = False
            elif c == "\\":
                esc = True
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return j + 1
    return None


def extract_json_object(text: str) -> Any:
    """The first JSON object in a generation (text around it is ignored); raises ValueError if none."""
    start = text.find("{")
    end = json_object_end(text, start) if start >= 0 else None
    if end is None:
        raise ValueError("no complete JSON object in the generation")
    return json.loads(text[start:end])


def resolve_device(device: str = "auto") -> str:
    import torch  # lazy: torch loads in seconds and only training and the LLM path need it

    if device in ("", "auto", None):
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def read_adapter_meta(adapter_path: Path | str) -> dict[str, Any]:
    p = Path(adapter_path) / ADAPTER_META
    return json.loads(p.read_text(encoding="utf-8")) if p.exists() else {}


def adapter_base_model(adapter_path: Path | str) -> str | None:
    """The base model folder an adapter was trained on (our metadata first, then PEFT's config)."""
    meta = read_adapter_meta(adapter_path)
    if meta.get("base_model"):
        return str(meta["base_model"])
    cfg = Path(adapter_path) / "adapter_config.json"
    if cfg.exists():
        return json.loads(cfg.read_text(encoding="utf-8")).get("base_model_name_or_path")
    return None


def is_adapter_dir(path: Path | str) -> bool:
    return (Path(path) / "adapter_config.json").exists()


@dataclass
class Generation:
    """One generation: the new text and how it ended."""

    text: str
    n_tokens: int
    seconds: float
    timed_out: bool
    finished: bool  # stopped by end-of-sequence or a closed JSON object (not by the budget)
    mean_logprob: float | None = None


def _dtype(name: str, device: str):
    import torch  # lazy: torch loads in seconds and only training and the LLM path need it

    if name == "auto":
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    return getattr(torch, name)


def load_model_and_tokenizer(model_path: Path | str, *, device: str = "auto", dtype: str = "auto",
                             load_in_4bit: bool = False, for_training: bool = False):
    """(model, tokenizer, device) from a local folder; 4-bit only with a GPU and bitsandbytes."""
    import torch  # lazy: torch loads in seconds and only training and the LLM path need it
    from transformers import AutoModelForCausalLM, AutoTokenizer  # lazy: the optional LLM path only

    path = Path(model_path)
    if not (path / "config.json").exists():
        raise FileNotFoundError(f"no Hugging Face model in {path} (config.json missing); "
                                "download the model folder first and point NAVIYAM_LLM_MODEL_PATH at it")
    device = resolve_device(device)
    kwargs: dict[str, Any] = {"local_files_only": True, "dtype": _dtype(dtype, device)}
    quantised = False
    if load_in_4bit and device.startswith("cuda") and importlib.util.find_spec("bitsandbytes") is not None:
        from transformers import BitsAndBytesConfig  # lazy: the optional LLM path only

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=kwargs["dtype"])
        kwargs["device_map"] = {"": torch.device(device).index or 0}
        quantised = True
    elif load_in_4bit and device.startswith("cuda"):
        log.info("bitsandbytes is not installed: loading %s without 4-bit quantisation", path.name)
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    if not quantised:
        model.to(device)
    if for_training and quantised:
        from peft import prepare_model_for_kbit_training  # lazy: the optional LLM path only

        model = prepare_model_for_kbit_training(model)
    return model, tokenizer, device


class _StopOnJson:
    """Stopping criterion: the generated text holds a complete JSON object."""

    def __init__(self, tokenizer: Any, prompt_len: int):
        self.tokenizer = tokenizer
        self.prompt_len = prompt_len
        self.hit = False

    def __call__(self, input_ids, scores, **kwargs):
        import torch  # lazy: torch loads in seconds and only training and the LLM path need it

        text = self.tokenizer.decode(input_ids[0, self.prompt_len:], skip_special_tokens=True)
        self.hit = json_object_end(text) is not None
        return torch.full((input_ids.shape[0],), self.hit, dtype=torch.bool, device=input_ids.device)


class LLMBackend:
    """A loaded causal LM with its tokenizer; :meth:`generate` is greedy and bounded in tokens and time."""

    def __init__(self, model: Any, tokenizer: Any, *, device: str = "cpu", max_new_tokens: int = 160,
                 timeout_s: float = 8.0, prompt_style: str = "auto", version: str = "llm"):
        self.model = model
        self.tokenizer = tokenizer
        self.device = device
        self.max_new_tokens = max_new_tokens
        self.timeout_s = timeout_s
        self.prompt_style = resolve_style(tokenizer, prompt_style)
        self.version = version
        #: the PEFT adapter folder loaded on top of the base model (None: the base model alone)
        self.adapter_path: Path | None = None
        self._lock = threading.Lock()

    @classmethod
    def load(cls, model_path: Path | str, adapter_path: Path | str | None = None, *, device: str = "auto",
             dtype: str = "auto", load_in_4bit: bool = True, max_new_tokens: int = 160, timeout_s: float = 8.0,
             prompt_style: str | None = None) -> LLMBackend:
        """Load a base model folder and, optionally, a PEFT adapter folder on top of it."""
        t0 = time.perf_counter()
        model, tokenizer, dev = load_model_and_tokenizer(model_path, device=device, dtype=dtype,
                                                         load_in_4bit=load_in_4bit)
        version = Path(model_path).name
        style = prompt_style or "auto"
        if adapter_path:
            from peft import PeftModel  # lazy: the optional LLM path only

            model = PeftModel.from_pretrained(model, str(adapter_path), local_files_only=True)
            meta = read_adapter_meta(adapter_path)
            style = prompt_style or meta.get("prompt_style") or style
            version = f"{version}+{meta.get('version') or Path(adapter_path).name}"
        model.eval()
        log.info("loaded LLM %s on %s in %.1fs", version, dev, time.perf_counter() - t0)
        llm = cls(model, tokenizer, device=dev, max_new_tokens=max_new_tokens, timeout_s=timeout_s,
                  prompt_style=style, version=version)
        llm.adapter_path = Path(adapter_path) if adapter_path else None
        return llm

    @classmethod
    def from_settings(cls, settings: Any = None, registry: Any = None) -> LLMBackend:
        """Load what :class:`~naviyam.llm.settings.LLMSettings` names (adapter: setting, else registry)."""
        s = settings or get_llm_settings()
        if not s.model_path:
            raise ValueError("NAVIYAM_LLM_MODEL_PATH is not set")
        adapter = s.adapter_path
        if adapter is None and s.use_registry_adapter and registry is not None:
            mv = registry.current("lora")
            if mv is not None:
                adapter = Path(mv.path)
        return cls.load(s.model_path, adapter, device=s.device, dtype=s.dtype, load_in_4bit=s.load_in_4bit,
                        max_new_tokens=s.max_new_tokens, timeout_s=s.timeout_s)

    # ------------------------------------------------------------------
    def prompt(self, instruction: str, input_text: str) -> str:
        return render_prompt(self.tokenizer, instruction, input_text, self.prompt_style)

    def generate(self, prompt: str, *, max_new_tokens: int | None = None, timeout_s: float | None = None,
                 stop_at_json: bool = False) -> Generation:
        """Greedy continuation of ``prompt`` within the token and time budget."""
        import torch  # lazy: torch loads in seconds and only training and the LLM path need it

        budget = max_new_tokens or self.max_new_tokens
        limit = timeout_s if timeout_s is not None else self.timeout_s
        enc = self.tokenizer(prompt, return_tensors="pt", add_special_tokens=not self.prompt_style == "chat")
        input_ids, attention = enc["input_ids"], enc["attention_mask"]
        max_pos = getattr(getattr(self.model, "config", None), "max_position_embeddings", None)
        if max_pos and input_ids.shape[1] + budget > max_pos:
            keep = max(1, max_pos - budget)
            input_ids, attention = input_ids[:, -keep:], attention[:, -keep:]
        input_ids, attention = input_ids.to(self.model.device), attention.to(self.model.device)
        prompt_len = input_ids.shape[1]
        stops = []
        json_stop = _StopOnJson(self.tokenizer, prompt_len) if stop_at_json else None
        if json_stop is not None:
            stops.append(json_stop)
        from transformers import StoppingCriteriaList  # lazy: the optional LLM path only

        t0 = time.perf_counter()
        with self._lock, torch.inference_mode():
            out = self.model.generate(
                input_ids=input_ids, attention_mask=attention, max_new_tokens=budget, max_time=limit,
                do_sample=False, num_beams=1, pad_token_id=self.tokenizer.pad_token_id,
                eos_token_id=self.tokenizer.eos_token_id, stopping_criteria=StoppingCriteriaList(stops),
                output_scores=True, return_dict_in_generate=True)
        seconds = time.perf_counter() - t0
        new = out.sequences[0, prompt_len:]
        eos = self.tokenizer.eos_token_id
        ended_eos = len(new) > 0 and eos is not None and int(new[-1]) == eos
        finished = bool(ended_eos or (json_stop is not None and json_stop.hit))
        timed_out = not finished and len(new) < budget and seconds >= limit * 0.98
        mean_lp = None
        if out.scores:
            try:
                lp = self.model.compute_transition_scores(out.sequences, out.scores, normalize_logits=True)[0]
                lp = lp[torch.isfinite(lp)]
                mean_lp = float(lp.mean()) if len(lp) else None
            except Exception:  # noqa: BLE001 - confidence is a nicety
                mean_lp = None
        text = self.tokenizer.decode(new, skip_special_tokens=True)
        return Generation(text=text, n_tokens=int(len(new)), seconds=seconds, timed_out=timed_out,
                          finished=finished, mean_logprob=mean_lp)


__all__ = ["LLMBackend", "Generation", "load_model_and_tokenizer",
           "extract_json_object", "json_object_end", "adapter_base_model", "is_adapter_dir"]
