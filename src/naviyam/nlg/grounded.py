"""Grounded answers: the LLM writes the answer text from the ranked recommendations, the guard checks it.

``GroundedAnswerer.answer(question, recommendations, template_answer, age)``
returns ``(text, backend)``: the model's answer (made child-friendly for the
user's age by :class:`~naviyam.nlg.normalizer.ChildFriendlyNormalizer`) with
backend ``"llm"`` when it passes :class:`~naviyam.nlg.grounding.GroundingGuard`,
else the template answer with backend ``"template"`` (also when there are no
recommendations, the model fails, or it runs out of time).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from naviyam.llm.prompts import ANSWER_INSTRUCTION
from naviyam.nlg.format import distance, price_range, won
from naviyam.nlg.grounding import GroundingGuard
from naviyam.nlg.normalizer import ChildFriendlyNormalizer

log = logging.getLogger(__name__)


class GroundedAnswerer:
    def __init__(self, llm: Any, *, timeout_s: float | None = None, max_new_tokens: int | None = None,
                 max_shops: int = 3, known_shop_names: Iterable[str] = (), lexicon: Any = None,
                 normalizer: Any = None):
        self.llm = llm
        self.timeout_s = timeout_s
        self.max_new_tokens = max_new_tokens
        self.max_shops = max_shops
        self.known_shop_names = list(known_shop_names)
        self.lexicon = lexicon
        self._normalizer = normalizer
        self.last_problems: list[str] = []

    @property
    def normalizer(self):
        if self._normalizer is None:

            self._normalizer = ChildFriendlyNormalizer()
        return self._normalizer

    def prompt(self, question: str, recommendations: list[dict[str, Any]]) -> str:

        return self.llm.prompt(ANSWER_INSTRUCTION, answer_input(question, recommendations))

    def guard(self, question: str, recommendations: list[dict[str, Any]]):

        return GroundingGuard(recommendations, question=question, known_shop_names=self.known_shop_names,
                              lexicon=self.lexicon)

    def answer(self, question: str, recommendations: list[dict[str, Any]], template_answer: str,
               age: int | None = None) -> tuple[str, str]:
        self.last_problems = []
        recs = list(recommendations or [])[: self.max_shops]
        if not recs:
            return template_answer, "template"
        try:
            gen = self.llm.generate(self.prompt(question, recs), max_new_tokens=self.max_new_tokens,
                                    timeout_s=self.timeout_s)
        except Exception:  # noqa: BLE001 - the template always answers
            log.exception("LLM answer generation failed")
            self.last_problems = ["generation failed"]
            return template_answer, "template"
        if gen.timed_out:
            self.last_problems = [f"timed out after {gen.seconds:.1f}s"]
            return template_answer, "template"
        text = self.clean(gen.text)
        try:
            text = self.normalizer.normalize(text, age)
        except Exception:  # noqa: BLE001
            log.exception("normaliser failed on the LLM answer")
        report = self.guard(question, recs).check(text)
        if not report.ok:
            self.last_problems = report.problems
            log.info("LLM answer rejected by the grounding guard: %s", "; ".join(report.problems)[:300])
            return template_answer, "template"
        return text, "llm"

    @staticmethod
    def clean(text: str) -> str:
        """The answer without a trailing half sentence or a repeated prompt header."""
        t = text.split("### ")[0].strip()
        if not t:
            return t
        cut = max(t.rfind(x) for x in (".", "!", "?", "요", "😊", "😋"))
        if cut >= len(t) // 2 and cut < len(t) - 1:
            t = t[: cut + 1]
        return t.strip()


def recommendations_block(recommendations: list[dict[str, Any]]) -> str:
    """The recommended shops as the model sees them (names and prices written exactly as the guard expects)."""
    lines = []
    for i, r in enumerate(recommendations, 1):
        bits = [f"{i}. {r['name']}"]
        if r.get("category"):
            bits[0] += f" ({r['category']})"
        pr = r.get("price_range") or {}
        if pr.get("min") is not None:
            bits.append("가격 " + price_range(pr.get("min"), pr.get("max")))
        sig = r.get("signature_menus") or []
        if sig:
            bits.append("대표 메뉴 " + ", ".join(f"{m['name']} {won(m['price'])}" for m in sig[:3]))
        if r.get("distance_m") is not None:
            bits.append(distance(r["distance_m"]))
        marks = [m for m, on in (("급식카드 가능", r.get("accepts_meal_card")), ("착한가게", r.get("is_good_shop"))) if on]
        if marks:
            bits.append(", ".join(marks))
        if r.get("reason"):
            bits.append(f"추천 이유: {r['reason']}")
        lines.append(" | ".join(bits))
    return "\n".join(lines)


def answer_input(question: str, recommendations: list[dict[str, Any]]) -> str:
    return f"질문: {question}\n추천 가게:\n{recommendations_block(recommendations)}"
