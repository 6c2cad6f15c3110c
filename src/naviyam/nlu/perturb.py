"""How children type: the same request with openers, endings, no spaces or drawn-out endings.

:func:`perturbations` gives the variants of one sentence; :func:`invariance`
parses each and counts how often intent and filters stay those of the clean
sentence (the NLU must be indifferent to them). Used by the NLU tests on our
own evaluation sets and by ``benchmarks/nlu_perturbation.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from naviyam.nlu.text import decompose

OPENERS = ("야 ", "나비얌아 ", "근데 ")
ENDINGS = (" ㅋㅋ", " ㅠㅠ", " ㅎㅎ", "~~", " 🙏", "!!")
_ECHO = {"ㅝ": "어", "ㅓ": "어", "ㅏ": "아", "ㅘ": "아", "ㅗ": "오", "ㅛ": "오", "ㅜ": "우", "ㅣ": "이", "ㅐ": "애"}


def drawn_out(text: str) -> str | None:
    """"추천해줘" → "추천해줘어~"; None when the sentence does not end on an open syllable."""
    core = text.rstrip(" ?.!")
    parts = decompose(core[-1]) if core else None
    if not parts or parts[2] or parts[1] not in _ECHO:
        return None
    return core + _ECHO[parts[1]] + "~" + text[len(core):]


def perturbations(text: str) -> list[str]:
    out = [o + text for o in OPENERS] + [text + e for e in ENDINGS]
    out.append(text.replace(" ", ""))
    d = drawn_out(text)
    if d:
        out.append(d)
    out.append("야 " + text + " ㅋㅋ")
    return [t for t in dict.fromkeys(out) if t != text]


def _key(result: Any) -> tuple[str, str]:
    d = result.to_dict() if hasattr(result, "to_dict") else result
    return d["intent"], json.dumps(d.get("filters") or {}, ensure_ascii=False, sort_keys=True)


def invariance(parse: Callable[[str], Any], sentences: Iterable[str]) -> dict[str, Any]:
    """Share of perturbed sentences whose intent (and intent + filters) equal the clean sentence's."""
    n = same_intent = same_all = 0
    misses: list[dict[str, str]] = []
    for s in sentences:
        want = _key(parse(s))
        for p in perturbations(s):
            got = _key(parse(p))
            n += 1
            same_intent += got[0] == want[0]
            same_all += got == want
            if got != want and len(misses) < 20:
                misses.append({"clean": s, "perturbed": p, "want": " ".join(want), "got": " ".join(got)})
    return {"n": n, "intent_same": same_intent / n if n else 1.0, "all_same": same_all / n if n else 1.0,
            "misses": misses}
