"""The LoRA step of ``naviyam learn`` and the hot reload of adapters and NLU while the LLM path is on.

Everything runs on the tiny random Llama built in the tests (conftest); nothing is downloaded.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from naviyam.core.clock import utcnow
from naviyam.core.registry import ModelRegistry
from naviyam.learning.learn import LearnConfig, run_learning
from naviyam.learning.lora_step import HELDOUT_FILE, PRIMARY_METRIC, LoraStepConfig
from naviyam.llm.settings import LLMSettings

MESSAGES = ["떡볶이 먹고 싶어", "치킨 추천해줘", "급식카드 되는 분식집", "만원으로 피자 먹을 수 있어?",
            "한식 먹고 싶어", "짜장면 먹고 싶어", "김밥 추천해줘", "돈까스 먹고 싶어"]


def _store_good_conversations(engine, messages, user_id: int = 1, shop_id: int = 7) -> None:
    """One ordered recommendation per message: good conversations, each the first turn of its session."""
    from naviyam.db.models import FeedbackEvent
    from naviyam.db.session import session_scope
    from naviyam.learning.store import store_interaction

    with session_scope(engine) as s:
        for text in messages:
            nlu = {"text": text, "intent": "FOOD_RECOMMENDATION", "confidence": 0.9, "entities": [],
                   "semantic_query": text, "filters": {}}
            iid = store_interaction(s, session_id=f"s-{text}", user_id=user_id, message=text,
                                    intent=nlu["intent"], nlu=nlu, recommendations=[{"shop_id": shop_id, "rank": 1}],
                                    response="…", latency_ms=10.0, model_versions={})
            s.add(FeedbackEvent(interaction_id=iid, user_id=user_id, shop_id=shop_id, feedback_type="ordered"))


def _llm_settings(model_dir: Path) -> LLMSettings:
    return LLMSettings(_env_file=None, enabled=True, model_path=model_dir, device="cpu", dtype="float32",
                       load_in_4bit=False, max_new_tokens=8, timeout_s=30.0)


def _config(model_dir: Path) -> LearnConfig:
    return LearnConfig(train_ranker=False, train_nlu=False, llm_settings=_llm_settings(model_dir),
                       lora=LoraStepConfig(epochs=2, lr=5e-3, replay_nlu_rows=6, max_eval_cases=3, batch_size=8))


def test_learn_without_the_llm_path_trains_no_adapter(sqlite_engine, tmp_path):
    _store_good_conversations(sqlite_engine, MESSAGES[:2])
    cfg = LearnConfig(train_ranker=False, train_nlu=False, llm_settings=LLMSettings(_env_file=None))
    report = run_learning(sqlite_engine, ModelRegistry(sqlite_engine, tmp_path / "models"), cfg,
                          now=utcnow() + dt.timedelta(hours=1), say=lambda m: None)
    assert report.status == "trained" and report.models == []


def test_learn_trains_an_adapter_from_production_and_gates_it_on_the_same_heldout_rows(
        sqlite_engine, tmp_path, tiny_model_dir):
    registry = ModelRegistry(sqlite_engine, tmp_path / "models")
    _store_good_conversations(sqlite_engine, MESSAGES)
    lines: list[str] = []
    report = run_learning(sqlite_engine, registry, _config(tiny_model_dir), now=utcnow() + dt.timedelta(hours=1),
                          say=lines.append)
    assert report.status == "trained", report.message
    (first,) = report.models
    assert first.kind == "lora" and first.version and first.production is None
    # no adapter yet: the candidate is compared with the base model alone, on the same rows
    assert first.decision["metric"] == PRIMARY_METRIC
    cand, prod = first.candidate_metrics, first.production_metrics
    assert cand[PRIMARY_METRIC] is not None and prod[PRIMARY_METRIC] is not None
    assert cand["nlu_turns"] == prod["nlu_turns"] > 0
    assert first.decision["sanity"]["ok"] is True
    # a random tiny model learns the JSON layout of the answers: the held-out perplexity falls
    assert cand[PRIMARY_METRIC] < prod[PRIMARY_METRIC]
    assert first.status == "promoted", lines
    mv = registry.current("lora")
    assert mv.version == first.version and mv.metrics["promotion"]["promote"] is True
    held = [json.loads(x) for x in (Path(mv.path) / HELDOUT_FILE).read_text(encoding="utf-8").splitlines()]
    assert held and cand["heldout_rows"] == len(held)

    # the next night: new conversations; the candidate continues the production adapter and is judged
    # on production's held-out rows too
    _store_good_conversations(sqlite_engine, ["라면 먹고 싶어", "햄버거 추천해줘"], user_id=2)
    second = run_learning(sqlite_engine, registry, _config(tiny_model_dir),
                          now=utcnow() + dt.timedelta(hours=2), say=lambda m: None).models[0]
    assert second.kind == "lora" and second.production == first.version
    cand_mv = registry.get(second.version)
    assert {m.id: m.version for m in registry.list()}[cand_mv.parent_id] == first.version
    meta = json.loads((Path(cand_mv.path) / "naviyam_lora.json").read_text(encoding="utf-8"))
    assert meta["incremental"] is True and meta["parent"] == first.version
    held2 = {(r["task"], r["input"]) for r in
             map(json.loads, (Path(cand_mv.path) / HELDOUT_FILE).read_text(encoding="utf-8").splitlines())}
    assert {(r["task"], r["input"]) for r in held} <= held2
    assert second.candidate_metrics["nlu_turns"] == second.production_metrics["nlu_turns"]
    assert (second.status, cand_mv.status) in {("promoted", "production"), ("rejected", "archived")}


@pytest.fixture
def llm_env(monkeypatch, tmp_path, tiny_model_dir):
    from naviyam.config import get_settings
    from naviyam.llm.settings import get_llm_settings

    for k, v in {"NAVIYAM_LLM_ENABLED": "true", "NAVIYAM_LLM_MODEL_PATH": str(tiny_model_dir),
                 "NAVIYAM_LLM_DEVICE": "cpu", "NAVIYAM_LLM_DTYPE": "float32", "NAVIYAM_LLM_LOAD_IN_4BIT": "false",
                 "NAVIYAM_LLM_MAX_NEW_TOKENS": "8", "NAVIYAM_LLM_TIMEOUT_S": "30"}.items():
        monkeypatch.setenv(k, v)
    get_llm_settings.cache_clear()
    get_settings.cache_clear()
    yield
    get_llm_settings.cache_clear()
    get_settings.cache_clear()


def test_runtime_hot_reloads_the_nlu_and_a_promoted_adapter_while_llm_answers_are_on(
        llm_env, sqlite_engine, tmp_path, tiny_model_dir):
    from naviyam.config import Settings
    from naviyam.learning.lora_data import nlu_row
    from naviyam.learning.lora_registry import register_adapter
    from naviyam.llm.lora import LoraTrainConfig, train_lora
    from naviyam.nlu import train_nlu
    from naviyam.service.runtime import Runtime

    settings = Settings(var_dir=tmp_path / "var", environment="test", admin_api_key="test-admin-key",
                        database_url=None, reload_interval_s=0, _env_file=None)
    runtime = Runtime.load(sqlite_engine, settings)
    registry = runtime.registry
    assert runtime.llm is not None and runtime.answerer is not None
    assert runtime.parser.version.startswith("llm:") and runtime.llm.backend.adapter_path is None
    first_backend = runtime.llm.backend

    # a new production NLU: it becomes the LLM parser's fallback, the LLM stays loaded
    nlu_mv = train_nlu(sqlite_engine, registry, epochs=1, n_examples=200, with_baselines=False)
    res = runtime.refresh()
    assert res.changed["nlu"][1] == nlu_mv.version and not res.failed
    assert runtime.parser.version.startswith("llm:") and runtime.parser.fallback.version == nlu_mv.version
    assert runtime.base_parser.version == nlu_mv.version and runtime.llm.backend is first_backend
    assert runtime.chat_service().parser is runtime.parser

    # a promoted adapter: a new backend with it, and a new parser and answerer over it
    alloc = registry.allocate("lora")
    rows = [nlu_row("치킨 먹고 싶어", "FOOD_RECOMMENDATION", {"category": "치킨"}, "치킨")] * 2
    result = train_lora(tiny_model_dir, rows, alloc.path, LoraTrainConfig(epochs=1, device="cpu", val_fraction=0.0,
                                                                          save_checkpoints=False),
                        version=alloc.version)
    register_adapter(registry, alloc, result, status="candidate")
    assert runtime.refresh().changed == {}  # a candidate is not served
    registry.promote(alloc.version)
    res = runtime.refresh()
    assert res.changed["lora"] == (None, alloc.version) and not res.failed
    assert Path(runtime.llm.backend.adapter_path) == alloc.path
    assert alloc.version in runtime.parser.version and runtime.parser.fallback.version == nlu_mv.version
    assert runtime.answerer.llm is runtime.llm.backend
    assert runtime.model_versions()["lora"] == alloc.version
    chat = runtime.chat_service()
    assert chat.parser is runtime.parser and chat.answerer is runtime.answerer
    assert runtime.refresh().changed == {}  # nothing new: nothing reloaded
