"""Rendering a draft with noise (typos, spacing) into an example with exact entity offsets."""

from __future__ import annotations

import random
from typing import Any

from naviyam.nlu.canonical import semantic_query
from naviyam.nlu.datagen.pieces import Draft, Piece, typo_syllable
from naviyam.nlu.lexicon import ENTITY_NAMES


def render(rng: random.Random, d: Draft) -> dict[str, Any]:
    """The example of a draft: ``{"text", "intent", "entities", "semantic_query", "filters"}``."""
    pieces = [Piece(p.text, p.label, p.value, p.noisy) for p in d.pieces if p.text]
    _typos(rng, pieces)
    text, spans = _join(rng, pieces)
    new, remap = _collapse_spaces(text)
    entities = []
    for p, s, e in spans:
        ns, ne = remap[s], remap[e]
        ent_text = new[ns:ne]
        if not ent_text.strip():
            continue
        entities.append({"entity": ENTITY_NAMES[p.label], "value": p.value, "text": ent_text,
                         "start": ns, "end": ne})
    filters = _gold_filters(d.filters, entities)
    return {"text": new, "intent": d.intent, "entities": entities,
            "semantic_query": semantic_query(filters, new), "filters": filters}


def _typos(rng: random.Random, pieces: list[Piece]) -> None:
    """Typing errors: one syllable of plain text, sometimes one jamo inside a long food word."""
    if rng.random() < 0.18:
        plain = [i for i, p in enumerate(pieces) if p.label is None and p.noisy and any("가" <= c <= "힣" for c in p.text)]
        if plain:
            i = rng.choice(plain)
            t = pieces[i].text
            pos = [j for j, c in enumerate(t) if "가" <= c <= "힣"]
            j = rng.choice(pos)
            pieces[i].text = t[:j] + typo_syllable(rng, t[j]) + t[j + 1:]
    # one-jamo typo inside a long food word (the matcher folds it back)
    if rng.random() < 0.06:
        cand = [p for p in pieces if p.label in ("DISH", "CAT") and len(p.text) >= 3 and p.noisy]
        if cand:
            p = rng.choice(cand)
            j = rng.randrange(1, len(p.text))  # first syllables are rarely mistyped
            p.text = p.text[:j] + typo_syllable(rng, p.text[j]) + p.text[j + 1:]


def _join(rng: random.Random, pieces: list[Piece]) -> tuple[str, list[tuple[Piece, int, int]]]:
    """(text, (piece, start, end) of the tagged pieces) with spacing noise: spaces dropped, all or some."""
    text = ""
    spans = []
    spacing = rng.random()
    for p in pieces:
        t = p.text
        if spacing < 0.22:
            t = t.replace(" ", "") if p.label is None else t
        elif spacing < 0.45:
            t = "".join(c for c in t if c != " " or rng.random() < 0.5) if p.label is None else t
        if spacing < 0.45 and p.label is not None and " " in t and rng.random() < 0.5:
            t = t.replace(" ", "")
        start = len(text)
        text += t
        if p.label is not None:
            spans.append((p, start, len(text)))
    return text, spans


def _collapse_spaces(text: str) -> tuple[str, dict[int, int]]:
    """(text with double spaces collapsed and trailing spaces stripped, old offset -> new offset)."""
    out_chars: list[str] = []
    remap: dict[int, int] = {}
    for i, c in enumerate(text):
        if c == " " and (not out_chars or out_chars[-1] == " "):
            remap[i] = len(out_chars)
            continue
        remap[i] = len(out_chars)
        out_chars.append(c)
    remap[len(text)] = len(out_chars)
    new = "".join(out_chars)
    while new.endswith(" "):
        new = new[:-1]
    return new, remap


def _gold_filters(draft_filters: dict[str, Any], entities: list[dict[str, Any]]) -> dict[str, Any]:
    """The draft's filters, with names as written, a bare 간식, and exclusions winning; contract shape."""
    filters = dict(draft_filters)
    # Names are gold "as written": after spacing noise, take them from the rendered text.
    for e in entities:
        if e["entity"] == "shop_name":
            filters["shop_name"] = e["text"].strip()
            e["value"] = e["text"].strip()
        elif e["entity"] == "landmark":
            lf = dict(filters.get("location_filter", {}))
            lf["landmark"] = e["text"].strip()
            filters["location_filter"] = lf
            e["value"] = e["text"].strip()
    # "간식" is both a time (snack) and a category alias (디저트): a bare 간식 sets both.
    if any(e["text"].replace(" ", "").startswith("간식") and e["entity"] in ("time_of_day", "category")
           for e in entities):
        filters["time_of_day"] = "snack"
        if not filters.get("category"):
            filters["category"] = "디저트"
    if filters.get("category") and filters.get("category") in filters.get("exclude_categories", []):
        filters.pop("category")
        filters.pop("menu", None)
    if filters.get("menu") and filters.get("menu") in filters.get("exclude_menus", []):
        filters.pop("menu")
    return normalise_filters(filters)


def normalise_filters(f: dict[str, Any]) -> dict[str, Any]:
    """Contract shape: sorted keys, no empties, lists deduplicated, location sub-keys ordered."""
    out: dict[str, Any] = {}
    for k in sorted(f):
        v = f[k]
        if v is None or v == [] or v == {}:
            continue
        if isinstance(v, list):
            seen: list[Any] = []
            for x in v:
                if x not in seen:
                    seen.append(x)
            v = seen
        if isinstance(v, dict):
            v = {kk: v[kk] for kk in ("district", "dong", "landmark", "near") if v.get(kk)}
            if not v:
                continue
        out[k] = v
    return out

