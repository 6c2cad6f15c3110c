"""The LLM NLU path: valid contract JSON is accepted (state rules applied), anything else falls back."""

from __future__ import annotations

import json
import os
import socket

import pytest

from naviyam.llm.backend import Generation, LLMBackend, extract_json_object, load_model_and_tokenizer
from naviyam.nlu import NLUSession
from naviyam.nlu.contract import validate_result
from naviyam.nlu.llm_parser import LLMNLUParser


class ScriptedLLM:
    """A stand-in for LLMBackend whose generations are given in advance."""

    version = "scripted"

    def __init__(self, *outputs: str, timed_out: bool = False):
        self.outputs = list(outputs)
        self.timed_out = timed_out
        self.prompts: list[str] = []

    def prompt(self, instruction: str, input_text: str) -> str:
        return f"{instruction}\n{input_text}\n"

    def generate(self, prompt: str, **kw) -> Generation:
        self.prompts.append(prompt)
        return Generation(self.outputs.pop(0), 10, 0.01, self.timed_out, True, -0.05)


def _obj(intent: str, filters: dict, sq: str = "") -> str:
    return json.dumps({"intent": intent, "filters": filters, "semantic_query": sq}, ensure_ascii=False)


def test_valid_json_is_accepted_and_the_dialogue_state_rules_still_apply(rules_parser):
    llm = ScriptedLLM("설명 없이 답할게요: " + _obj("FOOD_RECOMMENDATION", {"category": "치킨", "payment_method": "meal_card"}),
                      _obj("FOOD_RECOMMENDATION", {"sort": "price"}),
                      _obj("FOOD_RECOMMENDATION", {"category": "피자"}))
    parser = LLMNLUParser(llm, rules_parser, timeout_s=2)
    session = NLUSession()
    first = parser.parse("급식카드 되는 치킨집 추천해줘", session)
    assert parser.last_backend == "llm" and first.backend == "llm"
    assert validate_result(first.to_dict()) == []
    assert first.filters == {"category": "치킨", "payment_method": "meal_card"}
    assert {e["entity"] for e in first.entities} >= {"category", "payment_method"}
    assert 0.9 < first.confidence <= 1.0
    second = parser.parse("더 싼 데는?", session)
    assert second.filters == {"category": "치킨", "payment_method": "meal_card", "sort": "price"}
    third = parser.parse("피자는?", session)
    assert third.filters["category"] == "피자" and third.filters["sort"] == "price"
    assert session.state.turns == 3
    assert "급식카드 되는 치킨집 추천해줘" in llm.prompts[0]


@pytest.mark.parametrize("output", [
    "죄송해요, 잘 모르겠어요.",                                             # no JSON at all
    '{"intent": "FOOD_RECOMMENDATION", "filters": {"category": "치킨"',        # cut off
    _obj("ORDER_PIZZA", {}),                                               # unknown intent
    _obj("FOOD_RECOMMENDATION", {"category": "우주음식"}),                   # not in the taxonomy
    _obj("FOOD_RECOMMENDATION", {"budget_filter": "만원"}),                  # not an int
    '["FOOD_RECOMMENDATION"]',                                             # not an object
])
def test_invalid_output_falls_back_to_the_trained_parser_without_touching_the_session(rules_parser, output):
    parser = LLMNLUParser(ScriptedLLM(output), rules_parser)
    session = NLUSession()
    res = parser.parse("급식카드 되는 치킨집 추천해줘", session)
    expected = rules_parser.parse("급식카드 되는 치킨집 추천해줘", NLUSession())
    assert parser.last_backend == "trained" and res.backend == "trained"
    assert res.to_dict() == expected.to_dict()
    assert session.state.turns == 1  # applied once, by the fallback


def test_a_timed_out_generation_falls_back(rules_parser):
    parser = LLMNLUParser(ScriptedLLM(_obj("GREETING", {}), timed_out=True), rules_parser, timeout_s=0.1)
    assert parser.parse("안녕").backend == "trained"
    assert "Timeout" in (parser.last_error or "")


def test_json_extraction_ignores_text_around_the_object():
    assert extract_json_object('앞말 {"a": "}{", "b": {"c": 1}} 뒷말 {"d": 2}') == {"a": "}{", "b": {"c": 1}}
    with pytest.raises(ValueError):
        extract_json_object('{"a": 1')


def test_real_generation_with_a_tiny_model_taught_one_answer_is_accepted(json_model_dir, json_example,
                                                                           rules_parser):
    JSON_TEXT, JSON_OUTPUT = json_example
    llm = LLMBackend.load(json_model_dir, device="cpu", max_new_tokens=80, timeout_s=20)
    parser = LLMNLUParser(llm, rules_parser, timeout_s=20)
    res = parser.parse(JSON_TEXT, NLUSession())
    assert parser.last_backend == "llm", parser.last_error
    assert res.intent == JSON_OUTPUT["intent"] and res.filters == JSON_OUTPUT["filters"]
    assert validate_result(res.to_dict()) == []


def test_real_generation_of_a_random_model_falls_back(tiny_model_dir, rules_parser):
    llm = LLMBackend.load(tiny_model_dir, device="cpu", max_new_tokens=24, timeout_s=20)
    gen = llm.generate(llm.prompt("지시", "안녕"), max_new_tokens=24)
    assert gen.n_tokens > 0 and not gen.timed_out
    parser = LLMNLUParser(llm, rules_parser, max_new_tokens=24)
    res = parser.parse("만원으로 치킨 먹을 수 있어?")
    assert parser.last_backend == "trained"
    assert res.filters.get("budget_filter") == 10000


def test_generation_stops_at_the_time_budget(tiny_model_dir):
    llm = LLMBackend.load(tiny_model_dir, device="cpu", max_new_tokens=5000, timeout_s=0.05)
    gen = llm.generate(llm.prompt("지시", "안녕"))
    assert gen.timed_out and gen.n_tokens < 5000


def test_models_load_from_their_folder_without_the_network_and_leave_the_environment_alone(
        tiny_model_dir, tmp_path, monkeypatch):
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    tried: list[object] = []

    def no_network(self, address):
        tried.append(address)
        raise OSError("no network in this test")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    environment = dict(os.environ)
    llm = LLMBackend.load(tiny_model_dir, device="cpu", max_new_tokens=4, timeout_s=20)
    assert llm.generate(llm.prompt("지시", "안녕"), max_new_tokens=4).n_tokens > 0
    assert tried == [] and dict(os.environ) == environment
    with pytest.raises(FileNotFoundError, match="config.json missing"):
        load_model_and_tokenizer(tmp_path / "no-model")
