"""Builders of lora_training_data.jsonl.

Every row is ``{"task", "instruction", "input", "output"}``:

* ``nlu`` — from the NLU training data (:func:`naviyam.nlu.datagen.generate_dataset`)
  and from good conversations: the input is the user's message, the output the
  object ``{"intent", "filters", "semantic_query"}`` of that one turn;
* ``child_friendly`` — the child-friendly pairs (``original`` → ``child_friendly``).

A conversation is *good* when the user chose one of its
recommendations (clicked, ordered, favorited, or rated it 4 or more) and no
satisfaction score given for it is below 4. Only turns whose stored filters
are that turn's own are used: the first turn of a session in the export, or
a turn of a non-search intent. Later search turns carry the session's search
state, which the LLM is not asked to produce (the dialogue-state rules do it),
and the stored object must pass the contract check.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import tempfile
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

from naviyam.learning.store import export_learning_data
from naviyam.llm.prompts import CHILD_INSTRUCTION, NLU_INSTRUCTION, TASK_CHILD, TASK_NLU, nlu_target
from naviyam.nlu.canonical import SEARCH_INTENTS
from naviyam.nlu.contract import validate_result
from naviyam.nlu.datagen import generate_dataset
from naviyam.nlu.evaluate import cases_from_examples

log = logging.getLogger(__name__)

POSITIVE_FEEDBACK = ("clicked", "ordered", "favorited", "rated")
MIN_SATISFACTION = 4.0


def nlu_row(text: str, intent: str, filters: dict[str, Any], semantic_query: str) -> dict[str, Any]:
    return {"task": TASK_NLU, "instruction": NLU_INSTRUCTION, "input": text,
            "output": nlu_target(intent, filters, semantic_query)}


def nlu_rows(lexicon: Any, n: int, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` NLU rows from the generated NLU training data."""
    return [nlu_row(r["text"], r["intent"], r["filters"], r.get("semantic_query", ""))
            for r in generate_dataset(lexicon, n, seed=seed)]


def child_friendly_rows(path: Path | str | None = None) -> list[dict[str, Any]]:
    """The child-friendly pairs as the second task (default: the packaged seed pairs)."""
    if path is None:
        text = (resources.files("naviyam.resources") / "nlg" / "child_friendly_pairs.jsonl").read_text(encoding="utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    rows = []
    for line in text.splitlines():
        if line.strip():
            d = json.loads(line)
            rows.append({"task": TASK_CHILD, "instruction": CHILD_INSTRUCTION, "input": d["original"],
                         "output": d["child_friendly"]})
    return rows


def is_good_conversation(record: dict[str, Any], min_satisfaction: float = MIN_SATISFACTION) -> bool:
    fb = record.get("user_feedback") or {}
    kinds = set(fb.get("interaction_types") or [])
    score = fb.get("satisfaction_score")
    if not (kinds & set(POSITIVE_FEEDBACK)) or not fb.get("selected_shops"):
        return False
    if kinds == {"rated"} or kinds == {"rated", "dismissed"}:
        return score is not None and score >= min_satisfaction
    return score is None or score >= min_satisfaction


def conversation_rows(records: Iterable[dict[str, Any]], min_satisfaction: float = MIN_SATISFACTION
                      ) -> list[dict[str, Any]]:
    """NLU rows from exported conversation records (``export_learning_data``'s conversations file)."""
    recs = [r for r in records if r.get("type", "conversation") == "conversation"]
    first_of_session: set[Any] = set()
    seen: set[Any] = set()
    for r in sorted(recs, key=lambda r: (str(r.get("timestamp") or ""), r.get("interaction_id") or 0)):
        sid = r.get("session_id")
        if sid not in seen:
            seen.add(sid)
            first_of_session.add(r.get("interaction_id"))
    out = []
    for r in recs:
        nlu = r.get("chatbot_output")
        if not isinstance(nlu, dict) or not is_good_conversation(r, min_satisfaction):
            continue
        if nlu.get("intent") in SEARCH_INTENTS and r.get("interaction_id") not in first_of_session:
            continue
        if validate_result(nlu):
            continue
        out.append(nlu_row(r.get("user_input") or nlu["text"], nlu["intent"], nlu["filters"],
                           nlu.get("semantic_query", "")))
    return out


def read_jsonl(path: Path | str) -> list[dict[str, Any]]:
    return [json.loads(x) for x in Path(path).read_text(encoding="utf-8").splitlines() if x.strip()]


def conversation_rows_from_db(engine: Any, start: dt.datetime, end: dt.datetime,
                              min_satisfaction: float = MIN_SATISFACTION) -> list[dict[str, Any]]:
    """NLU rows from the interactions and feedback stored in ``[start, end)``."""
    with tempfile.TemporaryDirectory(prefix="naviyam-lora-") as tmp:
        res = export_learning_data(engine, Path(tmp), start, end)
        return conversation_rows(read_jsonl(res.conversations), min_satisfaction)


def write_rows(rows: Iterable[dict[str, Any]], path: Path | str) -> int:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
            n += 1
    tmp.replace(path)
    return n


def heldout_cases(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """NLU evaluation cases (nlu_examples.jsonl format) from the ``nlu`` rows of a LoRA data set."""
    ex = [{"text": r["input"], "intent": r["output"]["intent"], "filters": r["output"].get("filters", {})}
          for r in rows if r.get("task", TASK_NLU) == TASK_NLU and isinstance(r.get("output"), dict)]
    return cases_from_examples(ex)
