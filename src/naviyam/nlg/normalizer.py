"""The child-friendly normaliser.

For users under 14 it turns formal speech into gentle 해요체, replaces hard
words with easy ones, keeps sentences short and allows at most two emoji.
For adults it keeps polite standard speech and only limits emoji.

It is data-driven: word and ending mappings come from a file in the seed's
pair format (``{"original": ..., "child_friendly": ..., "kind": "word"|"ending"}``),
and :func:`learn_mappings` extracts more of them from whole-sentence pairs
(``naviyam train normalizer``).
"""

from __future__ import annotations

import difflib
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from naviyam.core.text import has_batchim
from naviyam.core.text import particle as korean_particle

#: Age below which answers are rewritten for children.
CHILD_AGE_LIMIT = 14
MAX_EMOJI = 2
#: Sentences longer than this (characters) are split at a conjunction when possible.
MAX_SENTENCE_CHARS = 45

_EMOJI = re.compile(
    "[\U0001F300-\U0001FAFF\U00002600-\U000027BF\U0001F000-\U0001F02F\U0001F0A0-\U0001F0FF"
    "\U0001F100-\U0001F1FF\U00002B00-\U00002BFF]\uFE0F?"
)
_CONJUNCTIONS = ("그리고 ", "또한 ", "하지만 ", "그래서 ", "게다가 ")


@dataclass(frozen=True)
class Mapping:
    original: str
    child_friendly: str
    kind: str = "word"  # "word" anywhere, "ending" before punctuation/space/end

    def to_dict(self) -> dict:
        return {"kind": self.kind, "original": self.original, "child_friendly": self.child_friendly}


def read_mappings(path: Path | str) -> list[Mapping]:
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            out.append(Mapping(d["original"], d["child_friendly"], d.get("kind", "word")))
    return out


def write_mappings(path: Path, mappings: Iterable[Mapping]) -> None:
    path.write_text("".join(json.dumps(m.to_dict(), ensure_ascii=False) + "\n" for m in mappings), encoding="utf-8")


def base_mappings() -> list[Mapping]:
    """The hand-curated mappings shipped with the package."""
    with resources.as_file(resources.files("naviyam.resources") / "nlg" / "child_friendly_mappings.jsonl") as p:
        return read_mappings(p)


def read_pairs(path: Path | str) -> list[tuple[str, str]]:
    """Sentence pairs in the seed's format, JSON list or JSON lines."""
    text = Path(path).read_text(encoding="utf-8").strip()
    rows = json.loads(text) if text.startswith("[") else [json.loads(x) for x in text.splitlines() if x.strip()]
    return [(r["original"], r["child_friendly"]) for r in rows]


#: Particle pairs (after a final consonant, after a vowel); a word swap can change which is right.
_PARTICLES = {"이": ("이", "가"), "가": ("이", "가"), "은": ("은", "는"), "는": ("은", "는"),
              "을": ("을", "를"), "를": ("을", "를"), "과": ("과", "와"), "와": ("과", "와"),
              "으로": ("으로", "로"), "로": ("으로", "로")}
_PARTICLE_RE = r"(?:(으로|로|이|가|은|는|을|를|과|와)(?=[\s.,!?]|$))?"


def _particle_for(word: str, particle: str) -> str:
    consonant, vowel = _PARTICLES[particle]
    return korean_particle(word, consonant, vowel, otherwise=particle)


def limit_emoji(text: str, limit: int = MAX_EMOJI) -> str:
    seen = 0

    def keep(m: re.Match) -> str:
        nonlocal seen
        seen += 1
        return m.group(0) if seen <= limit else ""

    return re.sub(r"(?<=\S) {2,}(?=\S)", " ", _EMOJI.sub(keep, text)).strip()


@dataclass
class ChildFriendlyNormalizer:
    mappings: list[Mapping] = field(default_factory=base_mappings)

    def __post_init__(self) -> None:
        words = sorted((m for m in self.mappings if m.kind == "word"), key=lambda m: -len(m.original))
        endings = sorted((m for m in self.mappings if m.kind == "ending"), key=lambda m: -len(m.original))
        self._words = words
        self._word_re = (
            re.compile("(" + "|".join(re.escape(m.original) for m in words) + ")" + _PARTICLE_RE)
            if words else None
        )
        self._word_map = {m.original: m.child_friendly for m in words}
        self._ending_re = (
            re.compile("(" + "|".join(re.escape(m.original) for m in endings) + r")(?=[\s.!?~,)]|$)")
            if endings else None
        )
        self._ending_map = {m.original: m.child_friendly for m in endings}

    # ------------------------------------------------------------------ rewriting
    def _endings(self, text: str) -> str:
        if self._ending_re is None:
            return text

        def sub(m: re.Match) -> str:
            new = self._ending_map[m.group(1)]
            if new == "이에요":  # 입니다 → 이에요 after a final consonant, 예요 after a vowel
                before = text[m.start() - 1] if m.start() > 0 else ""
                return "이에요" if not before or has_batchim(before) or not ("가" <= before <= "힣") else "예요"
            return new

        return self._ending_re.sub(sub, text)

    def _words_sub(self, text: str) -> str:
        if self._word_re is None:
            return text

        def sub(m: re.Match) -> str:
            new = self._word_map[m.group(1)]
            return new + _particle_for(new, m.group(2)) if m.group(2) else new

        return self._word_re.sub(sub, text)

    @staticmethod
    def _shorten(text: str) -> str:
        """Split over-long sentences at ", 그리고 …" style conjunctions; line breaks are kept."""
        lines = []
        for line in text.split("\n"):
            sentences = re.split(r"(?<=[.!?]) +", line)
            for i, s in enumerate(sentences):
                if len(s) > MAX_SENTENCE_CHARS:
                    for conj in _CONJUNCTIONS:
                        s = s.replace(", " + conj, ". " + conj)
                sentences[i] = s
            lines.append(" ".join(sentences))
        return "\n".join(lines)

    def for_child(self, text: str) -> str:
        """Gentle 해요체, easy words, short sentences, at most two emoji."""
        text = self._endings(self._words_sub(text))
        return limit_emoji(self._shorten(text))

    def for_adult(self, text: str) -> str:
        """Polite standard speech as written; only the emoji limit applies."""
        return limit_emoji(text)

    def normalize(self, text: str, age: int | None) -> str:
        return self.for_child(text) if age is not None and age < CHILD_AGE_LIMIT else self.for_adult(text)


# ---------------------------------------------------------------------- learning


def learn_mappings(pairs: Iterable[tuple[str, str]], min_count: int = 1, max_span: int = 3) -> list[Mapping]:
    """Extract word and ending substitutions from (original, child_friendly) sentence pairs.

    Sentences are aligned on whitespace tokens (difflib). A replaced span of
    at most ``max_span`` tokens becomes a word mapping; when a single token
    keeps its stem and changes its tail (합니다 → 해요 style), the differing
    tail becomes an ending mapping. Each original keeps its most frequent
    replacement, if seen at least ``min_count`` times.
    """
    counts: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for original, friendly in pairs:
        a = re.sub(r"[.!?]+$", "", original.strip()).split()
        b = re.sub(r"[.!?]+$", "", _EMOJI.sub("", friendly).strip()).split()
        sm = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
        for op, i1, i2, j1, j2 in sm.get_opcodes():
            if op != "replace" or i2 - i1 > max_span or j2 - j1 > max_span:
                continue
            src, dst = " ".join(a[i1:i2]), " ".join(b[j1:j2])
            if i2 - i1 == 1 and j2 - j1 == 1:
                stem = len(_common_prefix(src, dst))
                if stem >= 1 and len(src) - stem >= 2:
                    counts[("ending", src[stem:])][dst[stem:]] += 1
                    continue
            counts[("word", src)][dst] += 1
    learned = []
    for (kind, src), targets in counts.items():
        dst, n = targets.most_common(1)[0]
        if n >= min_count and src and dst and src != dst:
            learned.append(Mapping(src, dst, kind))
    return sorted(learned, key=lambda m: (m.kind, m.original))


def _common_prefix(a: str, b: str) -> str:
    i = 0
    while i < min(len(a), len(b)) and a[i] == b[i]:
        i += 1
    return a[:i]


def merge_mappings(base: list[Mapping], extra: list[Mapping]) -> list[Mapping]:
    """Base mappings win over learned ones for the same original."""
    known = {(m.kind, m.original) for m in base}
    return base + [m for m in extra if (m.kind, m.original) not in known]
