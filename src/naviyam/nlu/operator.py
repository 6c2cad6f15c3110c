"""The operator's own labelled NLU examples (``naviyam train nlu --data FILE``).

Two file forms are read:

* the contract's JSONL form: one NLU object per line, ``{"text", "intent",
  "entities": [{"entity", "value", "text"?, "start", "end"}], "filters"?}``
  (``filters`` in the contract's canonical values; derived from the entities
  when absent);
* the original design's NLU JSON form: a JSON array of such objects, or an
  object holding one (``{"training_data": [...]}``). Its entity names
  (``food_type``, ``budget``, ``dietary_preference``, ``location``) and
  surface values (``"아이"``, ``"건강한"``) are mapped to the contract's, its
  ``filters`` (in the design's own vocabulary) are recomputed from the
  entities, and a span whose offsets miss its ``value`` by a few characters is
  moved onto it (with a warning).

Every problem names the file, the line and the field, in Korean; one bad
example refuses the whole load (:class:`OperatorDataError`), so nothing is
trained on half a file.

What the examples teach, beyond the tagger and intent training rows:

* an entity word the lexicon does not know but whose value it can read
  (``"떡튀순"`` tagged menu=떡볶이, ``"급카"`` payment_method=meal_card)
  becomes an alias in the model's own lexicon (:func:`operator_aliases`);
* the rows are repeated (:func:`operator_repeat`) so that a few dozen
  examples weigh about ``share`` of the generated training set.

A stable part of the examples (by a hash of the text) is held out for the
promotion gate (:func:`split_operator`).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from naviyam.core.contract import INTENTS, LEARNED_INTENTS
from naviyam.nlu.canonical import Canonicaliser, Span, clean_filters
from naviyam.nlu.features import analyse
from naviyam.nlu.lexicon import ENTITY_NAMES, Lexicon, compact
from naviyam.nlu.matcher import Matcher

#: Entity names accepted in operator files → tagger label ("LOC": district, dong or landmark by lookup).
ENTITY_LABELS: dict[str, str] = {v: k for k, v in ENTITY_NAMES.items()}
ENTITY_LABELS.update({
    "exclude_category": "CAT", "exclude_menu": "DISH", "exclude_categories": "CAT", "exclude_menus": "DISH",
    # the original design's names
    "food_type": "CAT", "food": "CAT", "dish": "DISH", "budget_filter": "BUDGET", "dietary_preference": "DIET",
    "dietary_preferences": "DIET", "location": "LOC", "time": "TIME", "payment": "PAY", "shop": "SHOP",
    "companion_type": "COMP", "price": "BUDGET",
})
#: Labels whose words become lexicon aliases when the operator teaches a new surface.
ALIAS_LABELS = ("CAT", "DISH", "COMP", "TIME", "DIET", "SORT", "NEAR", "PAY")
#: Filter keys of the contract (for checking the JSONL form's ``filters``).
FILTER_KEYS = {"category", "menu", "budget_filter", "companion", "party_size", "time_of_day", "dietary_preferences",
               "payment_method", "good_shop", "location_filter", "open_now", "sort", "exclude_categories",
               "exclude_menus", "shop_name"}
#: Filter key that holds the value of an entity label (to read a missing entity value from ``filters``).
_LABEL_FILTER = {"CAT": "category", "DISH": "menu", "COMP": "companion", "TIME": "time_of_day",
                 "DIET": "dietary_preferences", "PAY": "payment_method", "SORT": "sort"}
_TOP_LISTS = ("training_data", "examples", "data", "nlu", "nlu_examples")


class OperatorDataError(ValueError):
    """Operator examples that cannot be used; ``errors`` lists every problem (file, line, field)."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        more = f" 외 {len(errors) - 1}건" if len(errors) > 1 else ""
        super().__init__(f"{errors[0]}{more}" if errors else "예시를 읽을 수 없어요.")


@dataclass
class OperatorData:
    rows: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    aliases: list[tuple[str, str, str]] = field(default_factory=list)


# --------------------------------------------------------------------------- reading files


def _json_elements(text: str) -> tuple[list[tuple[int, Any]], str | None]:
    """(line, element) of the example list in a JSON document, or an error message."""
    dec = json.JSONDecoder()
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        return [], f"{e.lineno}번째 줄: JSON 형식이 아니에요 ({e.msg})"
    if isinstance(doc, dict) and "text" in doc:
        return [(1 + text[: text.find("{")].count("\n"), doc)], None
    start = None
    if isinstance(doc, list):
        start = text.find("[")
    elif isinstance(doc, dict):
        for k in _TOP_LISTS:
            if isinstance(doc.get(k), list):
                pos = text.find(json.dumps(k))
                start = text.find("[", pos + len(k) + 2) if pos >= 0 else -1
                break
    if start is None or start < 0:
        return [], "1번째 줄: 예시 배열([...])이나 \"training_data\": [...]가 없어요"
    out: list[tuple[int, Any]] = []
    i = start + 1
    while i < len(text):
        while i < len(text) and text[i] in " \t\r\n,":
            i += 1
        if i >= len(text) or text[i] == "]":
            break
        obj, end = dec.raw_decode(text, i)
        out.append((text.count("\n", 0, i) + 1, obj))
        i = end
    return out, None


def read_examples(path: Path) -> tuple[list[tuple[int, Any]], str, list[str]]:
    """(line, raw object) pairs of one file, its form ('jsonl' or 'json') and file-level errors."""
    path = Path(path)
    if not path.exists():
        return [], "", [f"{path}: 파일이 없어요"]
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    stripped = text.lstrip()
    as_json = path.suffix.lower() == ".json" or (path.suffix.lower() != ".jsonl" and stripped.startswith("["))
    if not as_json and path.suffix.lower() != ".jsonl" and stripped.startswith("{"):
        try:  # a whole-file JSON object ({"training_data": [...]}) rather than JSONL
            doc = json.loads(text)
            as_json = isinstance(doc, dict) and any(isinstance(doc.get(k), list) for k in _TOP_LISTS)
        except json.JSONDecodeError:
            as_json = False
    if as_json:
        elems, err = _json_elements(text)
        return elems, "json", ([f"{path}: {err}"] if err else [])
    out, errors = [], []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append((n, json.loads(line)))
        except json.JSONDecodeError as e:
            errors.append(f"{path}:{n}번째 줄: JSON 형식이 아니에요 ({e.msg})")
    return out, "jsonl", errors


# --------------------------------------------------------------------------- checking one example


class _Checker:
    def __init__(self, lexicon: Lexicon):
        self.lexicon = lexicon
        self.canon = Canonicaliser(lexicon, Matcher(lexicon))
        self.values = {lab: set(table.values()) for lab, table in lexicon.phrases.items()}

    def label_of(self, name: str, surface: str) -> str | None:
        lab = ENTITY_LABELS.get(name)
        if lab != "LOC":
            return lab
        for cand in ("DIST", "DONG"):
            if self.canon.lookup(cand, surface):
                return cand
        return "LMK"

    def canonical(self, label: str, value: Any) -> Any:
        """The canonical value the operator meant (a canonical value, or a word the lexicon reads)."""
        if value is None or label not in ALIAS_LABELS:
            return None
        if isinstance(value, list):
            value = value[0] if len(value) == 1 else None
        if not isinstance(value, str) or not value.strip():
            return None
        if value in self.values.get(label, ()):
            return value
        if label == "DISH" and value in self.lexicon.dish_category:
            return value
        if label == "CAT" and value in self.lexicon.categories:
            return value
        return self.canon.lookup(label, value)

    def check(self, raw: Any, where: str, form: str) -> tuple[dict[str, Any] | None, list[str], list[str],
                                                              list[tuple[str, str, str]]]:
        """(training row, errors, warnings, aliases (label, surface, value)) of one raw example."""
        errors: list[str] = []
        warns: list[str] = []
        if not isinstance(raw, dict):
            return None, [f"{where}: 예시는 객체({{...}})여야 해요"], [], []
        text = raw.get("text")
        if not isinstance(text, str) or not text.strip():
            errors.append(f"{where}: 'text'가 비어 있거나 문자열이 아니에요")
            return None, errors, warns, []
        intent = raw.get("intent")
        if intent not in INTENTS:
            errors.append(f"{where}: 'intent' 값 {intent!r}은(는) 계약의 의도가 아니에요 "
                          f"({', '.join(INTENTS)} 중 하나)")
        elif intent not in LEARNED_INTENTS:
            errors.append(f"{where}: 'intent' {intent}는 규칙으로만 처리해서 학습 예시로 쓸 수 없어요")
        ents = raw.get("entities", [])
        if not isinstance(ents, list):
            errors.append(f"{where}: 'entities'는 배열이어야 해요")
            ents = []
        filters = raw.get("filters")
        if filters is not None and not isinstance(filters, dict):
            errors.append(f"{where}: 'filters'는 객체여야 해요")
            filters = None
        if form == "jsonl" and filters:
            for k in filters:
                if k not in FILTER_KEYS:
                    errors.append(f"{where}: 'filters.{k}'은(는) 계약에 없는 필터예요")
        out_ents: list[dict[str, Any]] = []
        aliases: list[tuple[str, str, str]] = []
        for j, e in enumerate(ents):
            ent = self._entity(e, f"entities[{j}]", text, filters, where, errors, warns, aliases)
            if ent is not None:
                out_ents.append(ent)
        if errors:
            return None, errors, warns, []
        row = {"text": text, "intent": intent, "entities": out_ents, "source": "operator"}
        if form == "jsonl" and filters is not None:
            row["filters"] = filters
        return row, errors, warns, aliases


    def _entity(self, e: Any, fld: str, text: str, filters: dict[str, Any] | None, where: str, errors: list[str],
                warns: list[str], aliases: list[tuple[str, str, str]]) -> dict[str, Any] | None:
        """One entity of an example as a contract entity, or None (an error told, or a label we do not learn).

        Loose offsets of the design's own examples are moved onto their word (a warning); a surface the
        lexicon does not know but whose value is given becomes an alias.
        """
        if not isinstance(e, dict):
            errors.append(f"{where}: '{fld}'는 객체여야 해요")
            return None
        name = e.get("entity")
        if name not in ENTITY_LABELS:
            errors.append(f"{where}: '{fld}.entity' 값 {name!r}을(를) 몰라요 "
                          f"({', '.join(sorted(ENTITY_NAMES.values()))} 등)")
            return None
        s, t = e.get("start"), e.get("end")
        if not isinstance(s, int) or isinstance(s, bool) or not isinstance(t, int) or isinstance(t, bool):
            errors.append(f"{where}: '{fld}.start'/'end'는 정수여야 해요")
            return None
        if not (0 <= s < t <= len(text)):
            errors.append(f"{where}: '{fld}'의 start/end ({s}, {t})가 text 길이 {len(text)} 밖이에요")
            return None
        value = e.get("value")
        given = e.get("text")
        if given is not None and given != text[s:t]:
            errors.append(f"{where}: '{fld}.text' {given!r}이(가) text[{s}:{t}] {text[s:t]!r}와 달라요")
            return None
        if given is None and isinstance(value, str) and value and text[s:t] != value and value in text:
            # the design's own examples count offsets loosely: move the span onto its word
            occ = [i for i in range(len(text)) if text.startswith(value, i)]
            ns = min(occ, key=lambda i: abs(i - s))
            warns.append(f"{where}: '{fld}' 위치를 {s}–{t}에서 '{value}'이(가) 있는 {ns}–{ns + len(value)}로 고쳤어요")
            s, t = ns, ns + len(value)
        while s < t and text[s].isspace():
            s += 1
        while t > s and text[t - 1].isspace():
            t -= 1
        surface = text[s:t]
        label = self.label_of(name, surface)
        if label is None:
            return None
        if label in ALIAS_LABELS:
            if value is None and filters:
                value = filters.get(_LABEL_FILTER.get(label, ""))
            target = self.canonical(label, value)
            known = self.canon.lookup(label, surface)
            if known is None and target is None:
                errors.append(f"{where}: '{fld}.value' {value!r}로는 '{surface}'의 뜻을 알 수 없어요 "
                              "(계약의 값이나 사전에 있는 낱말을 주세요)")
                return None
            if known is None:
                aliases.append((label, surface, target))
        return {"entity": ENTITY_NAMES[label], "value": value if isinstance(value, (str, int, float, bool)) else surface,
                "text": surface, "start": s, "end": t}

def _expected_filters(lexicon: Lexicon, row: dict[str, Any]) -> dict[str, Any]:
    """The contract filters of an operator example, read from its spans with the (alias-extended) lexicon."""
    m = Matcher(lexicon)
    canon = Canonicaliser(lexicon, m)
    an = analyse(row["text"], m)
    spans = [Span(ENTITY_LABELS[e["entity"]], e["start"], e["end"]) for e in row["entities"]]
    _, f = canon.canonicalise(row["text"], an.norm, spans, row["intent"])
    return clean_filters(f)


def load_operator_examples(paths: list[Path], lexicon: Lexicon) -> OperatorData:
    """Read and check every file; raise :class:`OperatorDataError` listing all problems (nothing is kept)."""
    checker = _Checker(lexicon)
    data = OperatorData()
    errors: list[str] = []
    aliases: list[tuple[str, str, str]] = []
    for p in paths:
        elems, form, ferr = read_examples(Path(p))
        errors += ferr
        data.files.append(str(p))
        if not elems and not ferr:
            errors.append(f"{p}: 예시가 하나도 없어요")
        for line, raw in elems:
            row, errs, warns, al = checker.check(raw, f"{p}:{line}번째 줄", form)
            errors += errs
            data.warnings += warns
            if row is not None:
                row["origin"] = f"{Path(p).name}:{line}"
                data.rows.append(row)
                aliases += al
    if errors:
        raise OperatorDataError(errors)
    learned = add_aliases(lexicon.__class__.from_dict(json.loads(json.dumps(lexicon.to_dict()))), aliases)
    for row in data.rows:
        if "filters" not in row:
            row["filters"] = _expected_filters(learned, row)
    data.aliases = list(dict.fromkeys(aliases))
    return data


# --------------------------------------------------------------------------- what the examples teach


def operator_aliases(rows: list[dict[str, Any]], lexicon: Lexicon) -> list[tuple[str, str, str]]:
    """(label, surface, canonical value) of entity words in ``rows`` the lexicon cannot read yet."""
    checker = _Checker(lexicon)
    out: list[tuple[str, str, str]] = []
    for row in rows:
        for e in row.get("entities", []):
            lab = ENTITY_LABELS.get(e["entity"])
            if lab not in ALIAS_LABELS:
                continue
            surface = row["text"][e["start"]:e["end"]]
            if checker.canon.lookup(lab, surface) is not None:
                continue
            v = checker.canonical(lab, e.get("value"))
            if v is None:
                v = checker.canonical(lab, (row.get("filters") or {}).get(_LABEL_FILTER.get(lab, "")))
            if v is not None and (lab, surface, v) not in out:
                out.append((lab, surface, v))
    return out


def add_aliases(lexicon: Lexicon, aliases: list[tuple[str, str, str]]) -> Lexicon:
    """``lexicon`` with the aliases added (in place; returned for chaining)."""
    for lab, surface, value in aliases:
        if value is not None and compact(surface):
            lexicon.phrases.setdefault(lab, {})[surface] = value
    return lexicon


def operator_repeat(n_generated: int, n_operator: int, share: float = 0.15, min_repeat: int = 3,
                    max_repeat: int = 100) -> int:
    """How many times each operator example is repeated so they weigh about ``share`` of the training set."""
    if n_operator <= 0:
        return 0
    want = share * n_generated / n_operator
    return int(min(max_repeat, max(min_repeat, math.ceil(want))))


def _bucket(text: str) -> int:
    return int(hashlib.sha1(compact(text).encode("utf-8")).hexdigest()[:8], 16) % 1000


def split_operator(rows: list[dict[str, Any]], heldout: float = 0.2,
                   min_examples: int = 5) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(train, held-out) by a hash of each text: stable when examples are added, so versions compare fairly."""
    if len(rows) < min_examples or heldout <= 0:
        return list(rows), []
    cut = int(heldout * 1000)
    held = [r for r in rows if _bucket(r["text"]) < cut]
    if not held:
        held = [min(rows, key=lambda r: _bucket(r["text"]))]
    ids = {id(r) for r in held}
    return [r for r in rows if id(r) not in ids], held
