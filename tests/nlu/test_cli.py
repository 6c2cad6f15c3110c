"""`naviyam parse`, `naviyam eval nlu`, `naviyam train nlu` through Typer's runner."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from naviyam.cli.nlu import register


@pytest.fixture
def app(parser, monkeypatch):
    monkeypatch.setattr("naviyam.cli.nlu.load_parser", lambda *a, **k: parser)
    root, train, ev = typer.Typer(), typer.Typer(), typer.Typer()
    root.add_typer(train, name="train")
    root.add_typer(ev, name="eval")
    register(root, train, ev)
    return root


def test_parse_prints_one_json_line(app):
    res = CliRunner().invoke(app, ["parse", "급식카드 되는 치킨집 추천해줘"])
    assert res.exit_code == 0
    lines = res.output.strip().splitlines()
    assert len(lines) == 1
    d = json.loads(lines[0])
    assert d["filters"] == {"category": "치킨", "payment_method": "meal_card"}
    assert "급식카드" in lines[0]  # ensure_ascii=False


def test_parse_jsonl_shares_a_session_per_line_and_reports_malformed_lines(app, tmp_path):
    f = tmp_path / "in.jsonl"
    f.write_text("\n".join([
        json.dumps({"id": "a", "turns": ["김밥 추천해 줘", "피자는?", "더 싼 데는?"]}, ensure_ascii=False),
        "{not json",
        json.dumps({"id": "b", "turns": "oops"}),
        "",
        json.dumps({"id": 7, "turns": ["안녕하세요"]}, ensure_ascii=False),
    ]), encoding="utf-8")
    res = CliRunner().invoke(app, ["parse", "--jsonl", str(f)])
    assert res.exit_code == 0
    out = [json.loads(x) for x in res.output.strip().splitlines()]
    assert len(out) == 4
    assert out[0]["id"] == "a"
    assert [r["filters"] for r in out[0]["results"]] == [
        {"category": "분식", "menu": "김밥"}, {"category": "피자"}, {"category": "피자", "sort": "price"}]
    assert "error" in out[1] and out[1]["id"] is None
    assert out[2] == {"id": "b", "error": out[2]["error"]}
    assert out[3]["id"] == 7 and out[3]["results"][0]["intent"] == "GREETING"


def test_parse_without_input_is_a_usage_error(app):
    assert CliRunner().invoke(app, ["parse"]).exit_code == 2


def test_eval_nlu_json_last_line(app, tmp_path):
    res = CliRunner().invoke(app, ["eval", "nlu", "--json"])
    assert res.exit_code == 0
    m = json.loads(res.output.strip().splitlines()[-1])
    assert {"intent_accuracy", "per_key", "filters_exact", "exact", "multiturn_exact"} <= set(m)


def test_train_nlu_command_runs_and_prints_metrics(app, monkeypatch, sqlite_engine, tmp_path):
    from naviyam.core import registry as reg_mod

    reg = reg_mod.ModelRegistry(sqlite_engine, tmp_path / "models")
    monkeypatch.setattr("naviyam.cli.nlu.default_registry", lambda: reg)
    res = CliRunner().invoke(app, ["train", "nlu", "--epochs", "1", "--examples", "400", "--no-baselines"])
    assert res.exit_code == 0, res.output
    assert "nlu_examples" in res.output
    assert reg.current("nlu") is not None


def test_chat_debug_shows_the_nlu_json_and_each_shops_funnels(trained_world, monkeypatch):
    from typer.testing import CliRunner

    from naviyam.cli import app
    from naviyam.config import get_settings
    from naviyam.db.session import get_engine

    monkeypatch.setenv("NAVIYAM_VAR_DIR", str(trained_world.settings.var_dir))
    monkeypatch.delenv("NAVIYAM_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    get_engine.cache_clear()
    try:
        res = CliRunner().invoke(app, ["chat", "--debug", "-m", "떡볶이 먹고 싶어"], env={"COLUMNS": "200"})
    finally:
        get_engine().dispose()
        get_settings.cache_clear()
        get_engine.cache_clear()
    assert res.exit_code == 0, res.output
    assert '"menu": "떡볶이"' in res.output and "추천 근거" in res.output and "popularity" in res.output


def test_eval_nlu_latency_prints_percentiles_as_one_json_line(app, parser, monkeypatch):
    monkeypatch.setattr("naviyam.nlu.latency.load_parser", lambda *a, **k: parser)
    monkeypatch.setattr("naviyam.nlu.latency.default_registry", lambda: type("R", (), {"current": lambda s, k: None})())
    res = CliRunner().invoke(app, ["eval", "nlu-latency", "--repeat", "1"])
    assert res.exit_code == 0, res.output
    m = json.loads(res.output.strip().splitlines()[-1])
    assert m["n"] > 50 and 0 < m["p50_ms"] <= m["p95_ms"] <= m["p99_ms"] <= m["max_ms"]
    assert m["model"] == parser.version and m["model_load_s"] >= 0
