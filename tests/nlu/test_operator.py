"""The operator's own NLU examples: reading both file forms, refusing bad lines, weighting, the gate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from naviyam.core.registry import ModelRegistry
from naviyam.nlu.evaluate import cases_from_examples, evaluate_cases
from naviyam.nlu.lexicon import Lexicon
from naviyam.nlu.operator import (
    OperatorDataError,
    load_operator_examples,
    operator_repeat,
    read_examples,
    split_operator,
)
from naviyam.nlu.parser import NLUParser
from naviyam.nlu.train import train_nlu

#: A local slang word the generator never produces: 떡튀순 (떡볶이·튀김·순대) → menu 떡볶이.
SLANG_TRAIN = [
    "떡튀순 땡겨", "떡튀순 먹고 싶다", "떡튀순 파는 데 알려줘", "떡튀순 맛집 추천해줘", "떡튀순 잘하는 곳 있어?",
    "오늘은 떡튀순 먹을래", "떡튀순 ㄱㄱ", "떡튀순 먹으러 가자", "떡튀순 어디가 맛있어?", "떡튀순 집 찾아줘",
    "떡튀순 당긴다", "떡튀순 먹을 데", "배고파 떡튀순 추천", "떡튀순 세트 파는 곳", "떡튀순 먹고싶다ㅠㅠ",
    "떡튀순 가게 알려 줘", "떡튀순 추천 좀", "떡튀순 하는 데 어디야", "떡튀순 먹을 만한 곳", "떡튀순 땡기는데 어디 가지",
    "떡튀순 먹자", "떡튀순 집 추천해 주세요", "떡튀순 파는 가게", "떡튀순 맛있는 데", "떡튀순 찾아줘",
    "떡튀순 먹으러 갈래", "떡튀순 어디서 팔아?", "나 떡튀순 먹고 싶어", "떡튀순 잘하는 집", "떡튀순 먹을 곳 추천",
]
#: Paraphrases in no file: what the examples should carry over to.
SLANG_PARAPHRASES = ["떡튀순 땡긴다", "떡튀순 먹고 싶어요", "떡튀순 맛집 알려줘", "떡튀순 파는 곳 추천해줘",
                     "떡튀순 먹으러 가고 싶어"]
SLANG_FILTERS = {"category": "분식", "menu": "떡볶이"}

N_TINY = 400


def slang_line(text: str) -> str:
    i = text.index("떡튀순")
    return json.dumps({"text": text, "intent": "FOOD_RECOMMENDATION",
                       "entities": [{"entity": "menu", "value": "떡볶이", "text": "떡튀순", "start": i, "end": i + 3}],
                       "filters": SLANG_FILTERS}, ensure_ascii=False)


@pytest.fixture(scope="module")
def lex() -> Lexicon:
    return Lexicon.build()


@pytest.fixture
def registry(sqlite_engine, tmp_path):
    return ModelRegistry(sqlite_engine, tmp_path / "models")


@pytest.fixture
def slang_file(tmp_path) -> Path:
    p = tmp_path / "slang.jsonl"
    p.write_text("\n".join(slang_line(t) for t in SLANG_TRAIN) + "\n", encoding="utf-8")
    return p


SEED_FORM = """{
  "training_data": [
    {
      "text": "아이랑 갈만한 건강한 저녁 식당 추천해줘",
      "intent": "FOOD_RECOMMENDATION",
      "entities": [
        {"entity": "companion", "value": "아이", "start": 0, "end": 2},
        {"entity": "dietary_preference", "value": "건강한", "start": 6, "end": 9},
        {"entity": "time_of_day", "value": "저녁", "start": 12, "end": 14}
      ],
      "semantic_query": "가족 건강식 저녁 식당",
      "filters": {"dietary_preferences": ["건강식"], "companion": "family", "time_of_day": "dinner"}
    },
    {
      "text": "만원으로 치킨 먹을 수 있는 곳 있어?",
      "intent": "BUDGET_FOOD_INQUIRY",
      "entities": [
        {"entity": "budget", "value": "10000", "start": 0, "end": 2},
        {"entity": "food_type", "value": "치킨", "start": 4, "end": 6}
      ],
      "semantic_query": "치킨",
      "filters": {"budget_filter": 10000, "category": "치킨"}
    }
  ]
}
"""


def test_original_design_form_is_read_with_contract_names_and_values(tmp_path, lex):
    p = tmp_path / "design.json"
    p.write_text(SEED_FORM, encoding="utf-8")
    data = load_operator_examples([p], lex)
    assert [r["origin"] for r in data.rows] == ["design.json:3", "design.json:14"]
    a, b = data.rows
    assert a["filters"] == {"companion": "family", "dietary_preferences": ["healthy"], "time_of_day": "dinner"}
    assert [(e["entity"], e["text"]) for e in a["entities"]] == [
        ("companion", "아이"), ("dietary", "건강한"), ("time_of_day", "저녁")]
    assert b["filters"] == {"budget_filter": 10000, "category": "치킨"}
    # the design's loose offsets are moved onto their words, with a warning naming line and field
    assert any("design.json:3번째 줄" in w and "entities[1]" in w for w in data.warnings)
    # a bare JSON array works too
    p2 = tmp_path / "array.json"
    p2.write_text(json.dumps(json.loads(SEED_FORM)["training_data"], ensure_ascii=False, indent=1), encoding="utf-8")
    assert len(load_operator_examples([p2], lex).rows) == 2


def test_contract_jsonl_form_and_the_word_it_teaches(slang_file, lex):
    data = load_operator_examples([slang_file], lex)
    assert len(data.rows) == len(SLANG_TRAIN)
    assert all(r["filters"] == SLANG_FILTERS for r in data.rows)
    assert data.aliases == [("DISH", "떡튀순", "떡볶이")]
    elems, form, errors = read_examples(slang_file)
    assert form == "jsonl" and not errors and elems[0][0] == 1


def test_bad_lines_are_refused_naming_file_line_and_field(tmp_path, lex):
    p = tmp_path / "bad.jsonl"
    p.write_text("\n".join([
        slang_line("떡튀순 땡겨"),
        json.dumps({"text": "떡튀순 줘", "intent": "FOOD_REC"}, ensure_ascii=False),
        "{not json",
        json.dumps({"text": "급카 되는 곳", "intent": "FOOD_RECOMMENDATION",
                    "entities": [{"entity": "payment_method", "value": "meal_card", "text": "급카", "start": 0,
                                  "end": 3}]}, ensure_ascii=False),
        json.dumps({"text": "짧아", "intent": "GREETING", "entities": [{"entity": "menu", "start": 0, "end": 9}]},
                   ensure_ascii=False),
        json.dumps({"text": "안녕", "intent": "GREETING", "filters": {"colour": "red"}}, ensure_ascii=False),
        json.dumps({"intent": "GREETING"}),
    ]) + "\n", encoding="utf-8")
    with pytest.raises(OperatorDataError) as ei:
        load_operator_examples([p], lex)
    errs = ei.value.errors
    joined = "\n".join(errs)
    for where, fld in (("2번째 줄", "'intent'"), ("3번째 줄", "JSON"), ("4번째 줄", "entities[0].text"),
                       ("5번째 줄", "entities[0]"), ("6번째 줄", "filters.colour"), ("7번째 줄", "'text'")):
        assert any(f"bad.jsonl:{where}" in e and fld in e for e in errs), (where, fld, joined)
    assert not any("1번째 줄" in e for e in errs)


def test_split_is_stable_and_repeat_weighs_a_share():
    rows = [{"text": t} for t in SLANG_TRAIN]
    train, held = split_operator(rows)
    assert 1 <= len(held) < len(rows) // 2 and len(train) + len(held) == len(rows)
    train2, held2 = split_operator(list(reversed(rows)) + [{"text": "떡튀순 새 예시"}])
    assert {r["text"] for r in held} <= {r["text"] for r in held2}
    assert split_operator(rows[:3]) == (rows[:3], [])
    assert operator_repeat(14000, 24) == 88 and operator_repeat(360, 24) == 3 and operator_repeat(10 ** 6, 1) == 100


def _exact(parser: NLUParser, texts: list[str]) -> float:
    rows = [{"text": t, "intent": "FOOD_RECOMMENDATION", "filters": SLANG_FILTERS} for t in texts]
    return evaluate_cases(parser.parse, cases_from_examples(rows))["exact"]


def test_a_few_dozen_examples_visibly_change_a_tiny_model(registry, slang_file, lex):
    rows = load_operator_examples([slang_file], lex).rows
    plain = train_nlu(None, registry, epochs=1, n_examples=N_TINY, seed=7, with_baselines=False)
    taught = train_nlu(None, registry, epochs=1, n_examples=N_TINY, seed=7, with_baselines=False,
                       operator_rows=rows)
    p0 = NLUParser.load(Path(plain.path))
    p1 = NLUParser.load(Path(taught.path))
    op = taught.metrics["operator"]
    assert op["n_train"] + op["n_heldout"] == len(SLANG_TRAIN) and op["repeat"] >= 3
    held_texts = [json.loads(x)["text"] for x in (Path(taught.path) / "operator_heldout.jsonl").read_text(
        encoding="utf-8").splitlines()]
    assert held_texts and set(held_texts) <= set(SLANG_TRAIN)
    before = {"examples": _exact(p0, SLANG_TRAIN), "paraphrases": _exact(p0, SLANG_PARAPHRASES)}
    after = {"examples": _exact(p1, SLANG_TRAIN), "paraphrases": _exact(p1, SLANG_PARAPHRASES),
             "held_out_examples": _exact(p1, held_texts)}
    print("slang exact before", before, "after", after)
    assert before["examples"] <= 0.1 and before["paraphrases"] <= 0.2
    assert after["examples"] >= 0.9 and after["paraphrases"] >= 0.8 and after["held_out_examples"] >= 0.5
    assert taught.metrics["operator_heldout"]["turns"] == len(held_texts)
    # the generated data's figures stay where they were
    assert taught.metrics["heldout_generated"]["exact"] >= plain.metrics["heldout_generated"]["exact"] - 0.1
    # a later retrain without --data (plain `train nlu`, `learn`, a stale rebuild) keeps what was taught
    again = train_nlu(None, registry, epochs=1, n_examples=N_TINY, seed=7, with_baselines=False)
    assert again.metrics["operator"]["n_train"] == op["n_train"]
    assert _exact(NLUParser.load(Path(again.path)), SLANG_PARAPHRASES) >= 0.8


# --------------------------------------------------------------------------- the gate and the commands


def test_operator_gate_needs_no_worse_on_both_sets():
    from naviyam.learning.promotion import SanityResult, nlu_operator_gate

    ok = SanityResult(True)
    prod = {"operator_exact": 0.5, "heldout_exact": 0.80}
    assert nlu_operator_gate({"operator_exact": 0.5, "heldout_exact": 0.798}, prod, ok).promote
    d = nlu_operator_gate({"operator_exact": 0.9, "heldout_exact": 0.70}, prod, ok)
    assert not d.promote and any("heldout_exact" in r for r in d.reasons)
    assert not nlu_operator_gate({"operator_exact": 0.4, "heldout_exact": 0.9}, prod, ok).promote
    assert nlu_operator_gate({"operator_exact": 0.0}, None, ok).promote  # the first NLU
    assert not nlu_operator_gate({"operator_exact": 1.0}, None, SanityResult(False, reason="x")).promote


@pytest.fixture
def cli(monkeypatch, registry):
    import typer

    from naviyam.cli.nlu import register

    monkeypatch.setattr("naviyam.cli.nlu.default_registry", lambda: registry)
    root, train, ev = typer.Typer(), typer.Typer(), typer.Typer()
    root.add_typer(train, name="train")
    root.add_typer(ev, name="eval")
    register(root, train, ev)
    return root


def test_train_nlu_data_goes_through_the_gate(cli, registry, slang_file, tmp_path):
    from typer.testing import CliRunner

    design = tmp_path / "design.json"
    design.write_text(SEED_FORM, encoding="utf-8")
    base = ["train", "nlu", "--epochs", "1", "--examples", str(N_TINY), "--no-baselines", "--seed", "7",
            "--tolerance", "0.15"]
    env = {"COLUMNS": "200"}
    run = CliRunner().invoke
    first = run(cli, base + ["--data", str(slang_file)], env=env)
    assert first.exit_code == 0, first.output
    assert "첫 NLU" in first.output and "떡튀순→떡볶이" in first.output
    prod = registry.current("nlu")
    assert (Path(prod.path) / "operator_heldout.jsonl").exists()
    # a second file: the candidate also learns what production was taught (never forgets 떡튀순), so on
    # production's held-out operator examples it is no worse, and the table says who won
    second = run(cli, base + ["--data", str(design)], env=env)
    assert second.exit_code == 0, second.output
    assert "이긴 쪽" in second.output and "operator_exact" in second.output and "주의" in second.output
    cand = registry.latest("nlu", "archived") if registry.current("nlu").version == prod.version else None
    winner = registry.current("nlu")
    assert (winner.metrics["operator"]["n_train"] > prod.metrics["operator"]["n_train"]) or cand is not None
    serving = NLUParser.load(Path(winner.path))
    assert serving.parse("떡튀순 땡겨").to_dict()["filters"].get("menu") == "떡볶이"
    third = run(cli, base + ["--data", str(design), "--force"], env=env)
    assert third.exit_code == 0, third.output
    assert registry.current("nlu").version != winner.version


def test_train_nlu_refuses_a_bad_file_and_trains_nothing(cli, registry, slang_file, tmp_path):
    from typer.testing import CliRunner

    bad = tmp_path / "bad.jsonl"
    bad.write_text(slang_line("떡튀순 땡겨") + "\n" + json.dumps({"text": "안녕", "intent": "HELLO"}) + "\n",
                   encoding="utf-8")
    res = CliRunner().invoke(cli, ["train", "nlu", "--examples", "400", "--data", str(slang_file), "--data", str(bad)])
    assert res.exit_code == 2
    assert "bad.jsonl:2번째 줄" in res.output and "'intent'" in res.output and "아무것도 학습하지 않았어요" in res.output
    assert registry.list("nlu") == []


def test_eval_nlu_out_writes_a_report(parser, monkeypatch, cli, tmp_path, slang_file):
    from typer.testing import CliRunner


    monkeypatch.setattr("naviyam.cli.nlu.load_parser", lambda *a, **k: parser)
    out = tmp_path / "report"
    res = CliRunner().invoke(cli, ["eval", "nlu", "--out", str(out)])
    assert res.exit_code == 0, res.output
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "## 의도별 정밀도/재현율/F1" in md and "| FOOD_RECOMMENDATION |" in md and "가장 나쁜 실수" in md
    for png in ("confusion.png", "confidence.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["per_intent"]["FOOD_RECOMMENDATION"]["support"] > 0
    # the operator's own file: the slang is unknown to this model, so its mistakes head the report
    res = CliRunner().invoke(cli, ["eval", "nlu", "--data", str(slang_file), "--out", str(out / "slang")])
    assert res.exit_code == 0, res.output
    mistakes = [json.loads(x) for x in (out / "slang" / "mistakes.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(mistakes) >= 25 and all("떡튀순" in m["text"] for m in mistakes)
    confs = [m["confidence"] for m in mistakes]
    assert confs == sorted(confs)
