"""LoRA data builders, adapter comparison and promotion, the CLI commands and the settings."""

from __future__ import annotations

import datetime as dt
import json

import typer
from typer.testing import CliRunner

from naviyam.core.clock import utcnow
from naviyam.core.registry import ModelRegistry
from naviyam.learning import lora_data
from naviyam.learning.lora_registry import compare_adapters, decide, evaluate_adapter, promote_if_better


def _conv(iid, session, intent, filters, kinds, score=None, ts="2025-07-30T10:00:00"):
    nlu = {"text": "치킨 먹고 싶어", "intent": intent, "confidence": 0.9, "entities": [],
           "semantic_query": "치킨 식당", "filters": filters}
    return {"type": "conversation", "timestamp": ts, "interaction_id": iid, "session_id": session,
            "user_input": "치킨 먹고 싶어", "chatbot_output": nlu,
            "user_feedback": {"satisfaction_score": score, "selected_shops": [1] if kinds else [],
                              "interaction_types": kinds}}


def test_good_conversations_become_nlu_rows_only_when_chosen_and_self_contained():
    records = [
        _conv(1, "a", "FOOD_RECOMMENDATION", {"category": "치킨"}, ["ordered"], 5.0),
        _conv(2, "a", "FOOD_RECOMMENDATION", {"category": "치킨", "sort": "price"}, ["clicked"],
              ts="2025-07-30T10:01:00"),                                           # later search turn: state
        _conv(3, "b", "FOOD_RECOMMENDATION", {"category": "치킨"}, ["clicked"], 2.0),  # unhappy
        _conv(4, "c", "FOOD_RECOMMENDATION", {"category": "치킨"}, []),               # nothing chosen
        _conv(5, "d", "FOOD_RECOMMENDATION", {"category": "치킨"}, ["rated"], 4.5),
        _conv(6, "e", "FOOD_RECOMMENDATION", {"category": "우주음식"}, ["ordered"]),   # invalid object
    ]
    rows = lora_data.conversation_rows(records)
    assert len(rows) == 2
    assert rows[0] == {"task": "nlu", "instruction": lora_data.NLU_INSTRUCTION, "input": "치킨 먹고 싶어",
                       "output": {"intent": "FOOD_RECOMMENDATION", "filters": {"category": "치킨"},
                                  "semantic_query": "치킨 식당"}}


def test_conversation_rows_come_from_the_database(sqlite_engine):
    from naviyam.db.models import FeedbackEvent
    from naviyam.db.session import session_scope
    from naviyam.learning.store import store_interaction

    nlu = {"text": "떡볶이 먹고 싶어", "intent": "FOOD_RECOMMENDATION", "confidence": 0.9, "entities": [],
           "semantic_query": "떡볶이", "filters": {"menu": "떡볶이"}}
    with session_scope(sqlite_engine) as s:
        iid = store_interaction(s, session_id="s1", user_id=1, message="떡볶이 먹고 싶어", intent=nlu["intent"],
                                nlu=nlu, recommendations=[{"shop_id": 7, "rank": 1}], response="…",
                                latency_ms=10.0, model_versions={})
        s.add(FeedbackEvent(interaction_id=iid, user_id=1, shop_id=7, feedback_type="ordered"))
    now = utcnow()
    rows = lora_data.conversation_rows_from_db(sqlite_engine, now - dt.timedelta(days=1), now + dt.timedelta(days=1))
    assert [r["output"]["filters"] for r in rows] == [{"menu": "떡볶이"}]


def test_nlu_and_child_friendly_rows_use_the_seed_format(tmp_path):
    from naviyam.nlu.lexicon import Lexicon

    rows = lora_data.nlu_rows(Lexicon.build(None), 5, seed=1) + lora_data.child_friendly_rows()
    assert {r["task"] for r in rows} == {"nlu", "child_friendly"}
    assert all(set(r) == {"task", "instruction", "input", "output"} for r in rows)
    path = tmp_path / "lora_training_data.jsonl"
    assert lora_data.write_rows(rows, path) == len(rows)
    from naviyam.llm.lora import read_rows

    assert read_rows(path) == rows
    cases = lora_data.heldout_cases(rows)
    assert len(cases) == 5 and cases[0]["expect"][0]["intent"] == rows[0]["output"]["intent"]


def _fake_eval(scores):
    def ev(adapter, heldout, **kw):
        exact, ppl = scores[str(adapter)]
        return {"adapter": str(adapter), "version": str(adapter), "nlu": {"exact": exact, "slot_micro_f1": exact,
                "intent_accuracy": exact, "valid_rate": 1.0}, "answer_perplexity": ppl}
    return ev


def test_compare_and_decide_with_a_margin():
    ev = _fake_eval({"cand": (0.80, 10.0), "prod": (0.78, 10.2)})
    cmp = compare_adapters("cand", "prod", [], evaluate=ev)
    assert round(cmp["delta"]["exact"], 4) == 0.02
    assert decide(cmp, margin=0.01)[0] is True
    assert decide(cmp, margin=0.05)[0] is False
    worse_ppl = compare_adapters("cand", "prod", [], evaluate=_fake_eval({"cand": (0.9, 20.0), "prod": (0.8, 10.0)}))
    assert decide(worse_ppl)[0] is False


def test_promote_if_better_promotes_only_a_better_candidate(sqlite_engine, tmp_path):
    reg = ModelRegistry(sqlite_engine, tmp_path / "models")
    first = reg.allocate("lora")
    reg.register(first, metrics={}, status="production")
    good = reg.allocate("lora")
    reg.register(good, metrics={}, status="candidate", parent=first.version)
    bad = reg.allocate("lora")
    reg.register(bad, metrics={}, status="candidate")
    ev = _fake_eval({str(first.path): (0.7, 10.0), str(good.path): (0.8, 9.0), str(bad.path): (0.5, 9.0)})
    out = promote_if_better(reg, bad.version, [], evaluate=ev)
    assert not out["promoted"] and reg.current("lora").version == first.version
    out = promote_if_better(reg, good.version, [], evaluate=ev, margin=0.05)
    assert out["promoted"] and reg.current("lora").version == good.version
    stored = {mv.version: mv for mv in reg.list("lora")}
    assert stored[first.version].status == "archived"
    assert stored[bad.version].metrics["comparison"]["promoted"] is False


def test_evaluate_adapter_scores_the_llm_alone_on_heldout_rows(tiny_model_dir, tmp_path):
    from naviyam.llm.lora import LoraTrainConfig, train_lora

    rows = [lora_data.nlu_row("안녕", "GREETING", {}, "안녕")] * 2 + lora_data.child_friendly_rows()[:2]
    train_lora(tiny_model_dir, rows, tmp_path / "a", LoraTrainConfig(epochs=1, device="cpu", val_fraction=0.0))
    m = evaluate_adapter(tmp_path / "a", rows, device="cpu", max_new_tokens=8, max_cases=2)
    assert m["nlu"]["turns"] == 2 and 0.0 <= m["nlu"]["valid_rate"] <= 1.0
    assert m["answer_perplexity"] > 1.0 and set(m["perplexity"]["per_task"]) == {"nlu", "child_friendly"}


def _app():
    from naviyam.cli import llm as llm_cli

    app, train, data = typer.Typer(), typer.Typer(), typer.Typer()
    app.add_typer(train, name="train")
    app.add_typer(data, name="data")
    llm_cli.register(train, data)
    return app


def test_cli_builds_data_and_trains_lora_into_a_folder(tiny_model_dir, tmp_path):
    runner = CliRunner()
    data = tmp_path / "lora_training_data.jsonl"
    res = runner.invoke(_app(), ["data", "lora-data", "-o", str(data), "--nlu-examples", "0",
                                 "--no-conversations"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output.strip().splitlines()[-1])["by_source"] == {"child_friendly": 8}
    res = runner.invoke(_app(), ["train", "lora", "--base-model", str(tiny_model_dir), "--data", str(data),
                                 "--output-dir", str(tmp_path / "out"), "--epochs", "1", "--batch-size", "4",
                                 "--lr", "1e-4", "--device", "cpu"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "out" / "adapter_model.safetensors").exists()
    res = runner.invoke(_app(), ["train", "lora", "--base-model", str(tmp_path / "out"), "--incremental-data",
                                 str(data), "--output-dir", str(tmp_path / "out2"), "--epochs", "1",
                                 "--device", "cpu", "--max-steps", "1"])
    assert res.exit_code == 0, res.output
    assert "incremental" in res.output


def test_eval_nlu_backend_llm_runs_side_by_side(tiny_model_dir, tmp_path, monkeypatch):
    import naviyam.nlu as nlu_pkg
    from naviyam.cli import nlu as nlu_cli

    monkeypatch.setattr("naviyam.cli.nlu.load_parser", lambda *a, **k: nlu_pkg.rules_parser())
    monkeypatch.setenv("NAVIYAM_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("NAVIYAM_LLM_MAX_NEW_TOKENS", "8")
    from naviyam.config import get_settings
    from naviyam.llm.settings import get_llm_settings

    get_settings.cache_clear()
    get_llm_settings.cache_clear()
    from naviyam.db.session import get_engine, migrate

    (tmp_path / "var").mkdir()
    migrate(get_engine())
    cases = tmp_path / "cases.jsonl"
    cases.write_text(json.dumps({"id": "1", "turns": ["만원으로 치킨 먹을 수 있어?"],
                                 "expect": [{"intent": "BUDGET_FOOD_INQUIRY",
                                             "filters": {"budget_filter": 10000, "category": "치킨"}}]},
                                ensure_ascii=False) + "\n", encoding="utf-8")
    app = typer.Typer()
    ev = typer.Typer()
    app.add_typer(ev, name="eval")
    ev.command("nlu")(nlu_cli.eval_cmd)
    runner = CliRunner()
    try:
        res = runner.invoke(app, ["eval", "nlu", "--data", str(cases), "--backend", "llm", "--model-path",
                                  str(tiny_model_dir), "--json"])
        assert res.exit_code == 0, res.output
        m = json.loads(res.output.strip().splitlines()[-1])
        assert m["backend"] == "llm" and m["answered_by"] == {"llm": 0, "trained": 1}
        res = runner.invoke(app, ["eval", "nlu", "--data", str(cases), "--json"])
        assert res.exit_code == 0, res.output
        assert json.loads(res.output.strip().splitlines()[-1])["backend"] == "trained"
    finally:
        get_settings.cache_clear()
        get_llm_settings.cache_clear()


def test_llm_settings_are_off_by_default_and_read_their_prefix(monkeypatch, tmp_path):
    from naviyam.config import Settings
    from naviyam.service.llm import build_llm_components

    assert Settings(_env_file=None).llm.enabled is False
    assert build_llm_components(object(), Settings(_env_file=None).llm) is None
    monkeypatch.setenv("NAVIYAM_LLM_ENABLED", "true")
    monkeypatch.setenv("NAVIYAM_LLM_MODEL_PATH", str(tmp_path / "missing"))
    monkeypatch.setenv("NAVIYAM_LLM_TIMEOUT_S", "3.5")
    s = Settings(_env_file=None).llm  # the one settings object reads NAVIYAM_LLM_*
    assert s.enabled and s.timeout_s == 3.5 and s.model_path == tmp_path / "missing"
    assert build_llm_components(object(), s) is None  # a missing model is logged, not raised
