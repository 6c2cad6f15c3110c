"""The NLU is indifferent to how children type: openers, laughter, emoji, no spaces, drawn-out endings."""

import json
from pathlib import Path

import pytest

from naviyam.nlu import features
from naviyam.nlu.perturb import invariance, perturbations
from naviyam.nlu.text import mask_decorations, normalize

CONTRACT_EXAMPLES = Path("/work/shared/contracts/nlu_examples.jsonl")
#: Our own evaluation sentences (children's requests and small talk).
CHILD_SENTENCES = [
    "떡볶이 먹고 싶어", "급식카드 되는 치킨집 추천해줘", "만원으로 뭐 먹지", "학교 근처 분식집 알려줘", "잘가",
    "뭐 할 수 있어?", "안녕", "고마워", "행복분식 몇 시까지 해?", "더 싼 데는?", "중국집 말고 다른 거 추천해줘",
    "안 매운 거 추천해줘", "5천원으로 먹을 수 있는 거", "돈까스 먹을래", "피자 먹고 싶어",
]


def _sentences():
    out = list(CHILD_SENTENCES)
    if CONTRACT_EXAMPLES.exists():
        for line in CONTRACT_EXAMPLES.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if len(row["turns"]) == 1:
                out.append(row["turns"][0])
    return out


def test_perturbations_cover_what_children_add():
    ps = perturbations("추천해줘")
    assert "야 추천해줘" in ps and "추천해줘 ㅋㅋ" in ps and "추천해줘 🙏" in ps and "추천해줘어~" in ps


@pytest.mark.parametrize("text,core", [("야 잘가~ 🙏", "잘가"), ("근데 뭐 할 수 있어? ㅎㅎ", "뭐 할 수 있어?"),
                                       ("나비얌아 떡볶이 추천해줘어~", "떡볶이 추천해줘"), ("야식 추천해줘", "야식 추천해줘")])
def test_decorations_become_spaces_and_offsets_stay(text, core):
    masked = mask_decorations(normalize(text))
    assert len(masked) == len(text) and " ".join(masked.split()) == core


def test_intent_and_filters_do_not_move_under_children_typing(runtime):
    parser = runtime.parser
    res = invariance(parser.parse, _sentences())
    assert res["intent_same"] >= 0.97, res["misses"]
    assert res["all_same"] >= 0.93, res["misses"]


def test_masking_is_what_makes_the_difference(runtime, monkeypatch):
    parser = runtime.parser
    with_mask = invariance(parser.parse, CHILD_SENTENCES)["intent_same"]
    monkeypatch.setattr(features, "MASK_DECORATIONS", False)
    without = invariance(parser.parse, CHILD_SENTENCES)["intent_same"]
    assert with_mask >= without
