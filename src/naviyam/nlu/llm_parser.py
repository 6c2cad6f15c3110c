"""Understanding with the LLM: an instruction prompt that must answer the NLU contract's JSON.

:class:`LLMNLUParser` has the interface of :class:`naviyam.nlu.NLUParser`
(``parse(text, session=None)``, ``version``). Per message:

1. the model is asked (greedy, stopping at the closed JSON object, within the
   token and time budget) for ``{"intent", "filters", "semantic_query"}`` —
   what *this turn* says;
2. the object is parsed and checked: known intent, filters that pass
   :func:`naviyam.nlu.contract.validate_filters` after
   :func:`~naviyam.nlu.canonical.clean_filters`;
3. the dialogue-state rules (:meth:`naviyam.nlu.state.DialogueState.apply`)
   turn the turn's filters into the search state, exactly as for the trained
   parser (reset phrases and additive dietary words are read with the same
   lexicon helpers);
4. entities are located in the text from the lexicon matches that agree with
   the filters; confidence is the geometric mean of the generated tokens'
   probabilities; the whole object must pass
   :func:`naviyam.nlu.contract.validate_result`.

Any failure — an exception, a timeout, unparsable or invalid JSON — hands the
message, with the untouched session, to the trained parser.
``last_backend`` (and ``result.backend``) say which one answered.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from dataclasses import dataclass
from typing import Any

from naviyam.core.contract import INTENTS
from naviyam.llm.backend import extract_json_object
from naviyam.llm.prompts import NLU_INSTRUCTION
from naviyam.nlu import canonical
from naviyam.nlu.canonical import Canonicaliser, clean_filters
from naviyam.nlu.contract import validate_filters, validate_result
from naviyam.nlu.features import analyse
from naviyam.nlu.lexicon import Lexicon, compact
from naviyam.nlu.matcher import Matcher
from naviyam.nlu.parser import NLUParser, NLUResult

log = logging.getLogger(__name__)

_LABEL_KEY = {"CAT": "category", "DISH": "menu", "BUDGET": "budget_filter", "COMP": "companion",
              "PARTY": "party_size", "TIME": "time_of_day", "DIET": "dietary_preferences",
              "PAY": "payment_method", "GOOD": "good_shop", "OPEN": "open_now", "SORT": "sort",
              "DIST": "location_filter.district", "DONG": "location_filter.dong",
              "LMK": "location_filter.landmark", "NEAR": "location_filter.near", "SHOP": "shop_name"}
_EXCLUDE_KEY = {"CAT": "exclude_categories", "DISH": "exclude_menus"}
_ENTITY_NAME = {"category": "category", "menu": "menu", "budget_filter": "budget", "companion": "companion",
                "party_size": "party_size", "time_of_day": "time_of_day", "dietary_preferences": "dietary",
                "payment_method": "payment_method", "good_shop": "good_shop", "open_now": "open_now",
                "sort": "sort", "location_filter.district": "district", "location_filter.dong": "dong",
                "location_filter.landmark": "landmark", "location_filter.near": "near", "shop_name": "shop_name",
                "exclude_categories": "exclude_category", "exclude_menus": "exclude_menu"}


class LLMOutputError(ValueError):
    """The model's answer is not a usable contract object."""


@dataclass
class LLMNLUResult(NLUResult):
    """An :class:`NLUResult` that also says which backend produced it ("llm" or "trained")."""

    backend: str = "llm"


def _filter_values(filters: dict[str, Any]) -> dict[str, set[str]]:
    """filter key (location sub-keys dotted) → the set of its values as JSON strings."""
    out: dict[str, set[str]] = {}
    for k, v in filters.items():
        if k == "location_filter" and isinstance(v, dict):
            for kk, vv in v.items():
                out.setdefault(f"{k}.{kk}", set()).add(json.dumps(vv, ensure_ascii=False))
        elif isinstance(v, list):
            out.setdefault(k, set()).update(json.dumps(x, ensure_ascii=False) for x in v)
        else:
            out.setdefault(k, set()).add(json.dumps(v, ensure_ascii=False))
    return out


class LLMNLUParser:
    """NLU through a causal LM, falling back to a trained :class:`~naviyam.nlu.NLUParser`."""

    def __init__(self, llm: Any, fallback_parser: Any, timeout_s: float | None = None,
                 max_new_tokens: int | None = None, min_confidence: float = 0.0):
        self.llm = llm
        self.fallback = fallback_parser
        self.timeout_s = timeout_s
        self.max_new_tokens = max_new_tokens
        self.min_confidence = min_confidence
        self.version = f"llm:{getattr(llm, 'version', 'llm')}"
        self.fallback_version = getattr(fallback_parser, "version", "trained")
        self.last_backend: str | None = None
        self.last_error: str | None = None
        self._helpers: tuple[Any, Any] | None = None
        self._lock = threading.Lock()

    # ---- lexicon helpers (shared with the trained parser when it has them) ----
    def _lexicon_tools(self):
        if self._helpers is None:
            matcher = getattr(self.fallback, "matcher", None)
            canon = getattr(self.fallback, "canon", None)
            if matcher is None or canon is None:

                matcher = Matcher(Lexicon.build(None))
                canon = Canonicaliser(matcher.lexicon, matcher)
            self._helpers = (matcher, canon)
        return self._helpers

    # ---- public --------------------------------------------------------
    def prompt(self, text: str) -> str:

        return self.llm.prompt(NLU_INSTRUCTION, text)

    def parse(self, text: Any, session: Any = None) -> NLUResult:
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        if text.strip():
            try:
                result = self._parse_llm(text, session)
                self._note("llm", None)
                return result
            except Exception as e:  # noqa: BLE001 - any failure goes to the trained parser
                reason = f"{type(e).__name__}: {e}"
                log.info("LLM NLU fell back to the trained parser (%s) for %r", reason[:200], text[:60])
        else:
            reason = "empty message"
        res = self.fallback.parse(text, session)
        self._note("trained", reason)
        return LLMNLUResult(res.text, res.intent, res.confidence, list(res.entities), res.semantic_query,
                            dict(res.filters), dict(getattr(res, "intent_scores", {}) or {}), backend="trained")

    def _note(self, backend: str, error: str | None) -> None:
        with self._lock:
            self.last_backend, self.last_error = backend, error

    # ---- the LLM path --------------------------------------------------
    def _parse_llm(self, text: str, session: Any) -> LLMNLUResult:
        gen = self.llm.generate(self.prompt(text), max_new_tokens=self.max_new_tokens, timeout_s=self.timeout_s,
                                stop_at_json=True)
        if gen.timed_out:
            raise TimeoutError(f"generation took {gen.seconds:.1f}s")
        confidence = math.exp(gen.mean_logprob) if gen.mean_logprob is not None else 0.5
        if confidence < self.min_confidence:
            raise LLMOutputError(f"confidence {confidence:.2f} below {self.min_confidence}")
        intent, turn, sq = self.read_output(gen.text)
        return self.build_result(text, intent, turn, sq, confidence, session)

    @staticmethod
    def read_output(generated: str) -> tuple[str, dict[str, Any], str | None]:
        """(intent, this turn's filters, semantic_query or None) from the model's text; raises LLMOutputError."""

        try:
            obj = extract_json_object(generated)
        except (ValueError, json.JSONDecodeError) as e:
            raise LLMOutputError(f"not JSON: {e}") from e
        if not isinstance(obj, dict):
            raise LLMOutputError("not a JSON object")
        intent = obj.get("intent")
        if intent not in INTENTS:
            raise LLMOutputError(f"unknown intent {intent!r}")
        raw = obj.get("filters", {})
        if not isinstance(raw, dict):
            raise LLMOutputError("filters is not an object")
        errs = validate_filters({k: v for k, v in raw.items() if v not in (None, [], {}, "")})
        if errs:
            raise LLMOutputError("; ".join(errs))
        turn = clean_filters(raw)
        sq = obj.get("semantic_query")
        if sq is not None and not isinstance(sq, str):
            raise LLMOutputError("semantic_query is not a string")
        return intent, turn, (sq.strip() or None) if isinstance(sq, str) else None

    def build_result(self, text: str, intent: str, turn: dict[str, Any], semantic_query: str | None,
                     confidence: float, session: Any) -> LLMNLUResult:
        """Apply the dialogue-state rules to one turn and return the validated contract result."""

        matcher, canon = self._lexicon_tools()
        an = analyse(text, matcher)
        entities = self._entities(text, an, canon, turn)
        search = intent in canonical.SEARCH_INTENTS
        reset = canon.is_reset(an.norm)
        if reset and ("exclude_categories" in turn or "exclude_menus" in turn) and "다른" in compact(an.norm):
            reset = False
        additive = False
        if search and turn.get("dietary_preferences"):
            negated = any(m.label == "NEG" for m in an.matches)
            additive = ("not_spicy" in turn["dietary_preferences"] and negated) or NLUParser._diet_also(an, entities)
        # Validate before touching the session, so a fallback sees the state as it was.
        filters_now = canonical.clean_filters(turn)
        probe = {"text": text, "intent": intent, "confidence": round(float(min(1.0, max(0.0, confidence))), 4),
                 "entities": entities, "semantic_query": semantic_query or "", "filters": filters_now}
        errs = validate_result(probe)
        if errs:
            raise LLMOutputError("; ".join(errs))
        if session is not None:
            filters = session.state.apply(intent, turn, reset=reset and search, diet_additive=additive)
        else:
            filters = filters_now
        sq = semantic_query if semantic_query and session is None else canonical.semantic_query(filters, text)
        return LLMNLUResult(text, intent, float(min(1.0, max(0.0, confidence))), entities, sq, filters,
                            {intent: float(confidence)}, backend="llm")

    @staticmethod
    def _entities(text: str, an: Any, canon: Any, turn: dict[str, Any]) -> list[dict[str, Any]]:
        """Spans of the text whose lexicon reading agrees with a filter of the turn (no overlaps)."""
        want = _filter_values(turn)
        found: list[dict[str, Any]] = []
        taken: set[int] = set()
        for m in sorted(an.matches, key=lambda m: (-(m.end - m.start), m.start)):
            if m.label not in _LABEL_KEY or taken.intersection(range(m.start, m.end)):
                continue
            try:
                v = canon.value(m.label, text[m.start:m.end])
            except Exception:  # noqa: BLE001
                continue
            label = m.label
            if isinstance(v, tuple):
                label, v = v
            if v is None or label not in _LABEL_KEY:
                continue
            value = json.dumps(v, ensure_ascii=False)
            for key in (_LABEL_KEY[label], _EXCLUDE_KEY.get(label)):
                if key and value in want.get(key, ()):
                    found.append({"entity": _ENTITY_NAME[key], "value": v, "text": text[m.start:m.end],
                                  "start": m.start, "end": m.end})
                    taken.update(range(m.start, m.end))
                    break
        # Values written as-is (shop names, landmarks) that the lexicon does not know.
        for key in ("shop_name", "location_filter.landmark", "location_filter.dong", "location_filter.district"):
            for value in want.get(key, ()):
                v = json.loads(value)
                i = text.find(v) if isinstance(v, str) and v else -1
                if i >= 0 and not taken.intersection(range(i, i + len(v))):
                    found.append({"entity": _ENTITY_NAME[key], "value": v, "text": v, "start": i, "end": i + len(v)})
                    taken.update(range(i, i + len(v)))
        return sorted(found, key=lambda e: e["start"])
