"""Korean preprocessing and features for the intent classifier and the tagger.

One :class:`Analysis` per message: the normalised text (same length as the
input), its kiwipiepy morphemes, and every lexicon/gazetteer match. Features
are built from it:

* intent: character n-grams of the *space-free, typo-folded* text with
  gazetteer spans masked by their class (so unseen shop names, places and
  amounts look alike), morpheme lemma/tag features, and the classes of
  lexicon matches;
* tagger (CRF over the non-space characters): the character and its
  typo-folded form, neighbours, n-grams, space before/after, kiwi POS of the
  morpheme covering it, BIO tags of every lexicon match covering it, and the
  message intent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from naviyam.core.kiwi import get_kiwi
from naviyam.nlu.matcher import Match, Matcher
from naviyam.nlu.text import MAX_TAG_CHARS, char_type, mask_decorations, normalize, skeleton_char

log = logging.getLogger(__name__)

# Mask characters for gazetteer classes in the intent n-gram string.
_MASK = {"BUDGET": "0", "SHOP": "@", "LMK": "%", "LMKPAT": "%", "DONG": "%", "DIST": "%", "DISH": "&",
         "CAT": "&", "PARTY": "#"}
_SLOT_LABELS = {"CAT", "DISH", "BUDGET", "COMP", "PARTY", "TIME", "DIET", "PAY", "GOOD", "DIST", "DONG", "LMK",
                "NEAR", "OPEN", "SORT", "SHOP"}


@dataclass
class Analysis:
    text: str
    norm: str  # normalised, same length as text
    idx: list[int]  # positions of the non-space characters within the tagged prefix
    pos: list[str]  # kiwi tag per position of norm ("" for spaces)
    pos_begin: list[bool]
    morphs: list[tuple[str, str]]  # (form, tag)
    matches: list[Match]
    greedy: list[Match]


#: Children's openers, laughter, emoji and drawn-out endings are masked before analysis (benchmarks turn it off
#: to measure the difference).
MASK_DECORATIONS = True


def analyse(text: str, matcher: Matcher) -> Analysis:
    norm = normalize(text)
    if MASK_DECORATIONS:
        norm = mask_decorations(norm)
    prefix = norm[:MAX_TAG_CHARS]
    pos = [""] * len(prefix)
    pos_begin = [False] * len(prefix)
    morphs: list[tuple[str, str]] = []
    if prefix.strip():
        try:
            toks = get_kiwi().tokenize(prefix)
        except Exception as e:  # noqa: BLE001 - never fail a parse on the analyser
            log.debug("kiwi failed on %r: %s", prefix[:40], e)
            toks = []
        for t in toks:
            morphs.append((t.form, t.tag))
            s, e = t.start, min(t.start + t.len, len(prefix))
            for i in range(max(0, s), e):
                if not pos[i]:
                    pos[i] = t.tag
            if 0 <= s < len(prefix):
                pos_begin[s] = True
    matches = matcher.match_all(prefix)
    greedy = Matcher.greedy([m for m in matches if m.label in _SLOT_LABELS or m.label == "LMKPAT"])
    idx = [i for i, c in enumerate(prefix) if c != " "]
    return Analysis(text, norm, idx, pos, pos_begin, morphs, matches, greedy)


# ---------------------------------------------------------------- intent features

def masked_compact(an: Analysis) -> str:
    chars = list(an.norm[:MAX_TAG_CHARS])
    for m in an.greedy:
        mk = _MASK.get(m.label)
        if mk:
            for i in range(m.start, m.end):
                chars[i] = mk
    out = []
    for c in chars:
        if c == " ":
            continue
        sk = skeleton_char(c)
        if out and out[-1] == sk and sk in "0@%&#":
            continue
        out.append(sk)
    return "".join(out)


def intent_features(an: Analysis) -> dict[str, float]:
    f: dict[str, float] = {}
    s = "^" + masked_compact(an) + "$"
    for n in (1, 2, 3, 4):
        for i in range(len(s) - n + 1):
            g = s[i:i + n]
            f["g" + g] = 1.0
    for form, tag in an.morphs:
        if tag.startswith(("N", "V", "M", "X", "E", "J", "S")):
            if tag in ("NNG", "NNP", "VV", "VA", "MAG", "NP", "XR", "EF", "EC", "VX", "NNB"):
                f[f"m{form}/{tag}"] = 1.0
            f[f"t{tag}"] = 1.0
    if an.morphs:
        f[f"last{an.morphs[-1][1]}"] = 1.0
        f[f"lastf{an.morphs[-1][0]}"] = 1.0
    for m in an.greedy:
        f["L" + m.label] = 1.0
    labels = {m.label for m in an.matches}
    for lab in ("NEG", "RESET", "DECOY"):
        if lab in labels:
            f["X" + lab] = 1.0
    if not an.norm.strip():
        f["EMPTY"] = 1.0
    n = len(an.idx)
    f["len" + ("1" if n <= 2 else "2" if n <= 5 else "3" if n <= 12 else "4" if n <= 25 else "5")] = 1.0
    return f


# ---------------------------------------------------------------- tagger features

def crf_features(an: Analysis, intent: str | None) -> list[list[str]]:
    norm = an.norm
    idx = an.idx
    n = len(idx)
    chars = [norm[i] for i in idx]
    sk = [skeleton_char(c) for c in chars]
    lx: list[list[str]] = [[] for _ in range(len(norm[:MAX_TAG_CHARS]))]
    for m in an.matches:
        tag = m.label + ("~" if m.fuzzy else "")
        first = True
        for i in range(m.start, m.end):
            if i < len(lx) and norm[i] != " ":
                lx[i].append(("B-" if first else "I-") + tag)
                first = False
    greedy_lab: dict[int, str] = {}
    for m in an.greedy:
        first = True
        for i in range(m.start, m.end):
            if norm[i] != " ":
                greedy_lab[i] = ("B-" if first else "I-") + m.label
                first = False
    it = intent or "NONE"
    feats: list[list[str]] = []
    for k in range(n):
        i = idx[k]
        c = sk[k]
        prev1 = sk[k - 1] if k > 0 else "<s>"
        prev2 = sk[k - 2] if k > 1 else "<s>"
        next1 = sk[k + 1] if k + 1 < n else "</s>"
        next2 = sk[k + 2] if k + 2 < n else "</s>"
        sp_b = i == 0 or norm[i - 1] == " "
        sp_a = i + 1 >= len(norm) or norm[i + 1] == " "
        f = [
            "b", "c=" + chars[k], "s=" + c, "t=" + char_type(chars[k]),
            "p1=" + prev1, "n1=" + next1, "p2=" + prev2, "n2=" + next2,
            "p1c=" + prev1 + c, "cn1=" + c + next1, "p1cn1=" + prev1 + c + next1,
            "p2p1c=" + prev2 + prev1 + c, "cn1n2=" + c + next1 + next2,
            "I=" + it,
        ]
        if sp_b:
            f.append("spb")
            f.append("spbI=" + it)
        if sp_a:
            f.append("spa")
        if k == 0:
            f.append("BOS")
        if k == n - 1:
            f.append("EOS")
        p = an.pos[i] if i < len(an.pos) else ""
        if p:
            f.append("pos=" + p)
            if an.pos_begin[i]:
                f.append("posB=" + p)
        pp = an.pos[idx[k - 1]] if k > 0 else "<s>"
        pn = an.pos[idx[k + 1]] if k + 1 < n else "</s>"
        f.append("posp=" + pp)
        f.append("posn=" + pn)
        for t in lx[i]:
            f.append("lx=" + t)
            f.append("lxI=" + t + "|" + it)
        g = greedy_lab.get(i)
        if g:
            f.append("gr=" + g)
        # context: lexicon tags of neighbours
        if k > 0:
            for t in lx[idx[k - 1]][:3]:
                f.append("lxp=" + t)
        if k + 1 < n:
            for t in lx[idx[k + 1]][:3]:
                f.append("lxn=" + t)
        feats.append(f)
    return feats


def bio_labels(an: Analysis, entities: list[dict[str, Any]], entity_to_label: dict[str, str]) -> list[str]:
    """Gold BIO tags for the non-space characters of an analysed training example."""
    lab_at: dict[int, str] = {}
    for e in entities:
        lab = entity_to_label.get(e["entity"])
        if lab is None:
            continue
        first = True
        for i in range(e["start"], min(e["end"], MAX_TAG_CHARS)):
            if an.norm[i] == " ":
                continue
            lab_at[i] = ("B-" if first else "I-") + lab
            first = False
    return [lab_at.get(i, "O") for i in an.idx]


def spans_from_bio(an: Analysis, tags: list[str]) -> list[tuple[str, int, int]]:
    """(label, start, end) spans in text coordinates from BIO tags over the non-space characters."""
    out: list[tuple[str, int, int]] = []
    cur: list[Any] | None = None
    for k, t in enumerate(tags):
        i = an.idx[k]
        if t == "O":
            if cur:
                out.append(tuple(cur))  # type: ignore[arg-type]
                cur = None
            continue
        bi, lab = t.split("-", 1)
        if bi == "B" or cur is None or cur[0] != lab:
            if cur:
                out.append(tuple(cur))  # type: ignore[arg-type]
            cur = [lab, i, i + 1]
        else:
            cur[2] = i + 1
    if cur:
        out.append(tuple(cur))  # type: ignore[arg-type]
    return out
