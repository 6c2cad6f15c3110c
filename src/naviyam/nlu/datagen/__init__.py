"""Compositional NLU training-data generator.

Every example is built from *pieces* — plain text or a tagged slot surface
with its canonical value — so character offsets stay exact after noise is
applied. Sentences are composed from random slot combinations, many carrier
phrases per intent, 반말/존댓말 endings, fillers, slang and emoji, spacing
noise and typing errors; the gold ``filters`` are computed from the chosen
slot values, not from the text, so the generator does not share the parser's
canonicalisation code (a test checks both agree).

Output lines: ``{"text", "intent", "entities": [{entity, value, text, start,
end}], "semantic_query", "filters"}``.

The parts: ``pieces`` (a piece, a draft, money surfaces, typing noise),
``phrases`` (carrier phrases from ``resources/nlu/phrases.json``), ``slots``
(each slot's pieces and filters), ``intents`` (a draft per intent, the
:class:`Generator`), ``render`` (noise and exact offsets).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from naviyam.nlu.datagen.intents import DEFAULT_INTENT_WEIGHTS, Generator
from naviyam.nlu.datagen.pieces import Draft, Piece, korean_number, money_surface
from naviyam.nlu.datagen.render import normalise_filters, render
from naviyam.nlu.lexicon import Lexicon

__all__ = ["DEFAULT_INTENT_WEIGHTS", "Draft", "Generator", "Piece", "generate_dataset", "korean_number",
           "money_surface", "normalise_filters", "render", "split_dataset", "write_jsonl"]


def generate_dataset(lexicon: Lexicon, n: int, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` examples, deterministic for a seed; duplicates of text are dropped."""
    gen = Generator(lexicon, seed)
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    for ex in gen.generate(int(n * 1.3) + 10):
        if ex["text"] in seen or not ex["text"].strip():
            continue
        seen.add(ex["text"])
        out.append(ex)
        if len(out) >= n:
            break
    return out


def split_dataset(data: list[dict[str, Any]], heldout: float = 0.15, seed: int = 0):
    rng = random.Random(seed)
    idx = list(range(len(data)))
    rng.shuffle(idx)
    k = int(len(data) * heldout)
    held = [data[i] for i in idx[:k]]
    train = [data[i] for i in idx[k:]]
    return train, held


def write_jsonl(rows: list[dict[str, Any]], path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
