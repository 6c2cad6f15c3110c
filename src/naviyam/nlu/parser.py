"""The NLU parser: text (+ session) → the contract object.

Pipeline per message: normalise → kiwipiepy morphemes + lexicon matches →
intent classifier (calibrated) → CRF tagger (conditioned on the intent) →
canonicalisation → dialogue-state update. ``parse`` never raises on user
input: any string (empty, 10,000 characters, emoji, control characters)
gives a valid object.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from naviyam.core.contract import INTENTS, LEARNED_INTENTS
from naviyam.core.safety import is_safety_message
from naviyam.nlu import features
from naviyam.nlu.canonical import SEARCH_INTENTS, Canonicaliser, Span, clean_filters, semantic_query
from naviyam.nlu.features import analyse, crf_features, intent_features, spans_from_bio
from naviyam.nlu.intent import IntentClassifier
from naviyam.nlu.lexicon import Lexicon, compact
from naviyam.nlu.matcher import Matcher
from naviyam.nlu.state import NLUSession
from naviyam.nlu.tagger import CRFTagger

log = logging.getLogger(__name__)

MODEL_FORMAT = 1
#: Texts whose session-independent understanding a parser keeps (most recently used first out last).
NLU_CACHE_SIZE = 4096
#: Lexicon matches the tagger may have missed that are safe to add back (never inside a shop name).
_BACKUP_LABELS = {"BUDGET", "PAY", "GOOD", "DIST", "DONG", "PARTY"}
#: …and, in a search turn, these too.
_BACKUP_SEARCH = {"DIET", "TIME", "SORT", "OPEN", "GOOD"}
_FOOD_KEYS = ("category", "menu")
_SEARCH_KEYS = ("category", "menu", "budget_filter", "companion", "party_size", "time_of_day", "dietary_preferences",
                "payment_method", "good_shop", "location_filter", "open_now", "sort", "exclude_categories",
                "exclude_menus")


@dataclass
class NLUResult:
    text: str
    intent: str
    confidence: float
    entities: list[dict[str, Any]] = field(default_factory=list)
    semantic_query: str = ""
    filters: dict[str, Any] = field(default_factory=dict)
    intent_scores: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The contract object (intent_scores are not part of it)."""
        return {"text": self.text, "intent": self.intent, "confidence": round(float(self.confidence), 4),
                "entities": [dict(e) for e in self.entities], "semantic_query": self.semantic_query,
                "filters": json.loads(json.dumps(self.filters, ensure_ascii=False))}


class NLUParser:
    """A loaded NLU model. ``intent_model``/``tagger`` None means the rules-only fallback."""

    def __init__(self, lexicon: Lexicon, intent_model: IntentClassifier | None = None,
                 tagger: CRFTagger | None = None, version: str = "rules"):
        self.lexicon = lexicon
        self.matcher = Matcher(lexicon)
        self.canon = Canonicaliser(lexicon, self.matcher)
        self.intent_model = intent_model
        self.tagger = tagger
        self.version = version
        self._lock = threading.Lock()
        # What a text means before the dialogue state is applied (analysis, intent scores, spans) depends on
        # the text alone, and children send the same few messages again and again.
        self._understood: OrderedDict[tuple, tuple[Any, dict[str, float] | None, tuple[Span, ...]]] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._hits = 0
        self._misses = 0

    # ---- persistence ----------------------------------------------------
    def save(self, folder: Path, extra_config: dict[str, Any] | None = None) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "lexicon.json").write_text(json.dumps(self.lexicon.to_dict(), ensure_ascii=False), encoding="utf-8")
        if self.intent_model is not None:
            self.intent_model.save(folder)
        cfg = {"format": MODEL_FORMAT, "version": self.version, **(extra_config or {})}
        (folder / "config.json").write_text(json.dumps(cfg, ensure_ascii=False, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, version: str | None = None) -> NLUParser:
        folder = Path(folder)
        cfg = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        if cfg.get("format") != MODEL_FORMAT:
            raise ValueError(f"unsupported NLU model format {cfg.get('format')!r} in {folder}")
        lex = Lexicon.from_dict(json.loads((folder / "lexicon.json").read_text(encoding="utf-8")))
        return cls(lex, IntentClassifier.load(folder), CRFTagger.load(folder), version or cfg.get("version", folder.name))

    # ---- parsing --------------------------------------------------------
    def predict_intent(self, an) -> dict[str, float]:
        if self.intent_model is None:
            return rule_intent(an)
        return self.intent_model.predict_proba(intent_features(an))

    def tag_spans(self, an, intent: str) -> list[Span]:
        if self.tagger is None:
            spans = [Span("LMK" if m.label == "LMKPAT" else m.label, m.start, m.end) for m in an.greedy]
        else:
            with self._lock:
                tags = self.tagger.tag(crf_features(an, intent))
            spans = [Span(lab, s, e) for lab, s, e in spans_from_bio(an, tags)]
        # Add back unambiguous lexicon hits the tagger missed (never inside one of its spans).
        covered = set()
        for sp in spans:
            covered.update(range(sp.start, sp.end))
        backup = _BACKUP_LABELS | (_BACKUP_SEARCH if intent in SEARCH_INTENTS else set())
        for m in an.greedy:
            if m.label in backup and not covered.intersection(range(m.start, m.end)):
                spans.append(Span(m.label, m.start, m.end))
                covered.update(range(m.start, m.end))
        return sorted(spans, key=lambda s: s.start)

    def parse(self, text: Any, session: NLUSession | None = None) -> NLUResult:
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        try:
            return self._parse(text, session)
        except Exception:  # noqa: BLE001 - the service must always answer
            log.exception("NLU parse failed; answering OUT_OF_SCOPE for %r", text[:80])
            return NLUResult(text=text, intent="OUT_OF_SCOPE", confidence=0.0, semantic_query=" ".join(text.split())[:40])

    def cache_counts(self) -> tuple[int, int]:
        """(hits, misses) of the per-text cache (``/metrics``: ``naviyam_cache_lookups_total{cache="nlu"}``)."""
        return self._hits, self._misses

    def clear_cache(self) -> None:
        """Forget every text understood so far (a latency measurement times the models, not the cache)."""
        with self._cache_lock:
            self._understood.clear()

    def _understand(self, text: str) -> tuple[Any, dict[str, float] | None, tuple[Span, ...]]:
        """The analysis, intent scores and spans of ``text`` (scores None: empty or a safety message), cached."""
        # Keyed by the models too: training fills in a parser's models after it was made, a benchmark turns
        # the decoration masking off.
        key = (text, id(self.intent_model), id(self.tagger), features.MASK_DECORATIONS)
        with self._cache_lock:
            got = self._understood.get(key)
            if got is not None:
                self._understood.move_to_end(key)
                self._hits += 1
                return got
        an = analyse(text, self.matcher)
        if not an.idx or is_safety_message(text):
            got = (an, None, ())
        else:
            scores = self.predict_intent(an)
            got = (an, scores, tuple(self.tag_spans(an, max(scores, key=scores.get))))
        with self._cache_lock:
            self._misses += 1
            self._understood[key] = got
            while len(self._understood) > NLU_CACHE_SIZE:
                self._understood.popitem(last=False)
        return got

    def _parse(self, text: str, session: NLUSession | None) -> NLUResult:
        an, cached_scores, cached_spans = self._understand(text)
        if not an.idx:
            intent = "OUT_OF_SCOPE"
            scores = {i: (1.0 if i == intent else 0.0) for i in INTENTS}
            if session is not None:
                session.state.apply(intent, {})
            return NLUResult(text, intent, 1.0 if not text.strip() else 0.5, [], "", {}, scores)
        if cached_scores is None:
            # Self-harm, abuse or danger: never a search, whatever the model thinks (contracts/nlu.md).
            if session is not None:
                session.state.apply("SAFETY", {})
            scores = {i: (1.0 if i == "SAFETY" else 0.0) for i in INTENTS}
            return NLUResult(text, "SAFETY", 1.0, [], "", {}, scores)
        scores = dict(cached_scores)
        intent = max(scores, key=scores.get)
        spans = list(cached_spans)
        entities, turn = self.canon.canonicalise(text, an.norm, spans, intent)
        state = session.state if session is not None else None
        has_search_state = bool(state and (state.search or state.last_search_intent))
        reset = self.canon.is_reset(an.norm)
        if reset and ("exclude_categories" in turn or "exclude_menus" in turn) and "다른" in compact(an.norm):
            reset = False  # "치킨 말고 다른 거" is an exclusion, not a restart
        new_intent = intent
        if intent not in SEARCH_INTENTS and "shop_name" not in turn:
            if reset and intent not in ("GOODBYE",):
                new_intent = "FOOD_RECOMMENDATION"
            elif intent in ("OUT_OF_SCOPE", "GREETING", "HELP") and any(k in turn for k in _FOOD_KEYS):
                new_intent = "FOOD_RECOMMENDATION"
            elif intent in ("MENU_INQUIRY", "SHOP_INFO") and any(
                    k in turn for k in ("category", "menu", "dietary_preferences", "location_filter", "sort",
                                        "exclude_categories", "exclude_menus", "companion", "time_of_day")):
                # these intents are about one *named* shop; without a name it is a search
                new_intent = "FOOD_RECOMMENDATION"
            elif (has_search_state and intent in ("OUT_OF_SCOPE", "HELP", "GREETING", "FEEDBACK", "COUPON_INQUIRY")
                  and any(k in turn for k in _SEARCH_KEYS) and scores[intent] < 0.9):
                new_intent = "FOOD_RECOMMENDATION"
        if new_intent == "BUDGET_FOOD_INQUIRY" and "budget_filter" not in turn and has_search_state:
            new_intent = "FOOD_RECOMMENDATION"
        if new_intent != intent:
            if (new_intent in SEARCH_INTENTS) != (intent in SEARCH_INTENTS):
                entities, turn = self.canon.canonicalise(text, an.norm, spans, new_intent)
            confidence = max(scores.get(new_intent, 0.0), 0.6)
            intent = new_intent
        else:
            confidence = scores[intent]
        if intent in SEARCH_INTENTS:
            # "매운 거 말고", "…도" add to the dietary list; a plain new preference replaces it.
            additive = bool(turn.get("dietary_preferences")) and (
                "not_spicy" in turn.get("dietary_preferences", []) and self._diet_negated(an)
                or self._diet_also(an, entities))
        else:
            additive = False
        if state is not None:
            filters = state.apply(intent, turn, reset=reset and intent in SEARCH_INTENTS, diet_additive=additive)
        else:
            filters = clean_filters(turn)
        sq = semantic_query(filters, text)
        return NLUResult(text, intent, float(min(1.0, max(0.0, confidence))), entities, sq, filters, scores)

    def _diet_negated(self, an) -> bool:
        return any(m.label == "NEG" for m in an.matches)

    @staticmethod
    def _diet_also(an, entities) -> bool:
        """"건강한 것도", "그리고 가벼운": the user adds a preference rather than changing it."""
        if any(w in an.norm for w in ("그리고", "추가로", "또 ", "까지 ")):
            return True
        for e in entities:
            if e["entity"] == "dietary":
                tail = compact(an.norm[e["end"]:e["end"] + 4])
                if tail.startswith(("도", "거도", "것도", "걸로도", "곳도", "데도")):
                    return True
        return False


_GREET = ("안녕", "하이", "ㅎㅇ", "반가", "hello", "hi")
_BYE = ("고마", "감사", "잘 있", "바이", "ㅂㅂ", "빠이", "bye", "땡큐", "ㄱㅅ")
_HELP = ("사용법", "도움말", "뭐 할 수", "기능", "어떻게 써", "help")


def rule_intent(an) -> dict[str, float]:
    """Keyword intent for the rules-only fallback (used only when no trained model can be had)."""
    t = an.norm
    labels = {m.label for m in an.greedy}
    if labels & {"SHOP"}:
        guess = "SHOP_INFO"
    elif "BUDGET" in labels and any(w in t for w in ("으로", "있는데", "밖에", "가지고")):
        guess = "BUDGET_FOOD_INQUIRY"
    elif labels & {"CAT", "DISH", "DIET", "SORT", "TIME", "COMP", "NEAR", "LMK", "DIST", "DONG", "GOOD", "OPEN"}:
        guess = "FOOD_RECOMMENDATION"
    elif "PAY" in labels and any(w in t for w in ("잔액", "한도", "충전", "유효", "사용법")):
        guess = "COUPON_INQUIRY"
    elif any(w in t for w in _BYE):
        guess = "GOODBYE"
    elif any(w in t for w in _GREET):
        guess = "GREETING"
    elif any(w in t for w in _HELP):
        guess = "HELP"
    elif any(w in t for w in ("먹", "배고", "식당", "맛집")):
        guess = "FOOD_RECOMMENDATION"
    else:
        guess = "OUT_OF_SCOPE"
    return {i: (0.5 if i == guess else 0.5 / (len(LEARNED_INTENTS) - 1)) for i in LEARNED_INTENTS}
