"""Prompt formats shared by inference and LoRA training: instruction / input / output.

Training and inference must render a row the same way, so both call
:func:`render_prompt`. Two styles:

* ``plain`` — an Alpaca-like layout (``### 지시`` / ``### 입력`` / ``### 응답``),
  works with any causal LM, including the tiny models built in tests;
* ``chat`` — the tokenizer's own chat template (system = instruction,
  user = input), better for instruction-tuned models such as A.X-3.1-Light.

``auto`` picks ``chat`` when the tokenizer has a chat template. The style a
LoRA adapter was trained with is stored beside it (``naviyam_lora.json``) and
reused when the adapter is loaded.
"""

from __future__ import annotations

import json
from typing import Any

#: Task names of the rows in lora_training_data.jsonl.
TASK_NLU = "nlu"
TASK_CHILD = "child_friendly"
TASK_ANSWER = "answer"

NLU_INSTRUCTION = (
    "사용자의 음식 요청을 분석하고 적절한 검색 조건을 추출하세요. "
    "JSON 객체 하나만 답하세요: {\"intent\": 의도, \"filters\": 검색 조건, \"semantic_query\": 짧은 검색어}. "
    "intent는 FOOD_RECOMMENDATION, BUDGET_FOOD_INQUIRY, MENU_INQUIRY, SHOP_INFO, COUPON_INQUIRY, GREETING, "
    "GOODBYE, HELP, FEEDBACK, OUT_OF_SCOPE 중 하나예요. filters에는 사용자가 실제로 말한 조건만 넣으세요 "
    "(category, menu, budget_filter, companion, party_size, time_of_day, dietary_preferences, payment_method, "
    "good_shop, location_filter, open_now, sort, exclude_categories, exclude_menus, shop_name)."
)

CHILD_INSTRUCTION = "다음 문장을 어린이가 이해하기 쉬운 다정한 해요체 문장으로 바꿔 주세요."

ANSWER_INSTRUCTION = (
    "너는 어린이와 가족에게 급식카드로 먹을 수 있는 가게를 알려 주는 나비얌이야. "
    "아래 '추천 가게' 목록에 있는 가게만, 적힌 이름과 가격 그대로 써서 질문에 답해. "
    "목록에 없는 가게 이름이나 가격은 절대 말하지 마. "
    "초등학생도 알아듣게 짧고 다정한 해요체로 세 문장 안팎으로 답해."
)

_PLAIN = "### 지시:\n{instruction}\n\n### 입력:\n{input}\n\n### 응답:\n"


def output_text(output: Any) -> str:
    """The target text of a row: objects (the NLU task) as one compact JSON line."""
    if isinstance(output, str):
        return output
    return json.dumps(output, ensure_ascii=False, separators=(", ", ": "))


def resolve_style(tokenizer: Any, style: str = "auto") -> str:
    if style not in ("auto", "plain", "chat"):
        raise ValueError(f"unknown prompt style {style!r}")
    if style == "auto":
        return "chat" if getattr(tokenizer, "chat_template", None) else "plain"
    return style


def render_prompt(tokenizer: Any, instruction: str, input_text: str, style: str = "plain") -> str:
    """The text the model continues with its answer."""
    if resolve_style(tokenizer, style) == "chat":
        messages = [{"role": "system", "content": instruction}, {"role": "user", "content": input_text}]
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return _PLAIN.format(instruction=instruction, input=input_text)


def nlu_target(intent: str, filters: dict[str, Any], semantic_query: str) -> dict[str, Any]:
    """The object the NLU task asks for (order: intent, filters, semantic_query)."""
    return {"intent": intent, "filters": filters, "semantic_query": semantic_query}
