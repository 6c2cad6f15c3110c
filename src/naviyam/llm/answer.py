"""Grounded answers: the LLM writes the answer text from the ranked recommendations, the guard checks it.

``GroundedAnswerer.answer(question, recommendations, template_answer, age)``
returns ``(text, backend)``: the model's answer (made child-friendly for the
user's age by :class:`~naviyam.nlg.normalizer.ChildFriendlyNormalizer`) with
backend ``"llm"`` when it passes :class:`~naviyam.llm.grounding.GroundingGuard`,
else the template answer with backend ``"template"`` (also when there are no
recommendations, the model fails, or it runs out of time).
"""

from __future__ import annotations

import logging
from typing import Any
from collections.abc import Iterable

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
            from naviyam.nlg.normalizer import ChildFriendlyNormalizer

            self._normalizer = ChildFriendlyNormalizer()
        return self._normalizer

    def prompt(self, question: str, recommendations: list[dict[str, Any]]) -> str:
        from naviyam.llm.prompts import ANSWER_INSTRUCTION, answer_input

        return self.llm.prompt(ANSWER_INSTRUCTION, answer_input(question, recommendations))

    def guard(self, question: str, recommendations: list[dict[str, Any]]):
        from naviyam.llm.grounding import GroundingGuard

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
