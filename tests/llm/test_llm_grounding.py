"""The grounding guard and the grounded answerer: only recommended shops, only their real prices."""

from __future__ import annotations

import pytest

from naviyam.llm.backend import Generation
from naviyam.nlg.grounded import GroundedAnswerer
from naviyam.nlg.grounding import GroundingGuard

RECS = [
    {"name": "행복분식", "category": "분식", "price_range": {"min": 3000, "max": 7000},
     "signature_menus": [{"name": "떡볶이", "price": 3500}, {"name": "김밥", "price": 3000},
                         {"name": "라볶이", "price": 5000}],
     "distance_m": 350, "accepts_meal_card": True, "is_good_shop": True, "reason": "급식카드로 먹을 수 있어요"},
    {"name": "교촌치킨 봉천점", "category": "치킨", "price_range": {"min": 16000, "max": 23000},
     "signature_menus": [{"name": "허니콤보", "price": 23000}, {"name": "교촌오리지날", "price": 16000}],
     "distance_m": 1200, "accepts_meal_card": False, "is_good_shop": False, "reason": "평점이 높아요"},
]
QUESTION = "만원으로 먹을 수 있는 데 알려줘"
TEMPLATE = "1. 행복분식 (분식) | 3,000원~7,000원"


def check(text: str):
    return GroundingGuard(RECS, question=QUESTION).check(text)


@pytest.mark.parametrize("text", [
    "행복분식은 급식카드로 먹을 수 있는 착한가게예요! 떡볶이가 3,500원이라 만원으로 충분해요.",
    "행복분식에서는 김밥 3천원, 라볶이 5,000원이에요. 걸어서 가까워요(350m).",
    "치킨이 먹고 싶으면 교촌치킨 봉천점도 있어요. 허니콤보는 23,000원이에요.",
    "교촌치킨은 1.2km 떨어져 있어요. 교촌오리지날이 16,000원이에요.",
    "분식집이 좋다면 행복분식을 추천해요. 매운떡볶이도 맛있을 거예요 😊",
])
def test_guard_accepts_answers_that_stick_to_the_recommendations(text):
    report = check(text)
    assert report.ok, report.problems


@pytest.mark.parametrize("text, why", [
    ("무지개분식도 가 보세요! 떡볶이가 맛있어요.", "shop-like"),
    ("맘스터치에 가면 버거를 먹을 수 있어요.", "not recommended"),
    ("행복분식 떡볶이는 2,500원이에요.", "price"),
    ("교촌치킨 봉천점 허니콤보는 19,000원이에요.", "price"),
    ("행복분식에서는 23,000원이면 충분해요.", "price"),             # a real price, but of the other shop
    ("행복분식의 떡볶이는 5,000원이에요.", "menu's price"),          # the price of another menu
    ("교촌치킨 봉천점은 급식카드로 먹을 수 있어요.", "meal card"),
    ("행복분식은 걸어서 3km 거리에 있어요.", "distance"),
    ("'해피키친'을 추천해요.", "quoted"),
])
def test_guard_rejects_shops_prices_and_claims_that_were_not_recommended(text, why):
    report = check(text)
    assert not report.ok
    assert any(why in p for p in report.problems), report.problems


def test_guard_reports_which_recommended_shops_the_answer_names():
    report = check("행복분식이랑 교촌치킨 봉천점 둘 다 좋아요.")
    assert report.ok and report.shops_named == ["행복분식", "교촌치킨 봉천점"]


def test_known_shop_names_from_the_database_count_as_shops():
    guard = GroundingGuard(RECS, known_shop_names=["별빛식탁"])
    assert not guard.check("별빛식탁도 맛있어요.").ok


class ScriptedLLM:
    version = "scripted"

    def __init__(self, text: str, timed_out: bool = False):
        self.text, self.timed_out, self.prompts = text, timed_out, []

    def prompt(self, instruction: str, input_text: str) -> str:
        return instruction + "\n" + input_text

    def generate(self, prompt: str, **kw) -> Generation:
        self.prompts.append(prompt)
        return Generation(self.text, 20, 0.1, self.timed_out, not self.timed_out, -0.5)


def test_answerer_uses_a_grounded_answer_and_shows_the_model_the_real_prices():
    good = "행복분식은 급식카드로 먹을 수 있어요. 떡볶이가 3,500원이에요!"
    llm = ScriptedLLM(good)
    text, backend = GroundedAnswerer(llm).answer(QUESTION, RECS, TEMPLATE, age=10)
    assert backend == "llm" and "3,500원" in text and "행복분식" in text
    assert "떡볶이 3,500원" in llm.prompts[0] and "교촌치킨 봉천점" in llm.prompts[0]


@pytest.mark.parametrize("llm, recs", [
    (ScriptedLLM("무지개분식 떡볶이가 1,000원이에요!"), RECS),
    (ScriptedLLM("행복분식 좋아요.", timed_out=True), RECS),
    (ScriptedLLM("행복분식 좋아요."), []),
    (ScriptedLLM(""), RECS),
])
def test_answerer_falls_back_to_the_template(llm, recs):
    assert GroundedAnswerer(llm).answer(QUESTION, recs, TEMPLATE, age=10) == (TEMPLATE, "template")


def test_answerer_with_a_real_tiny_model_never_returns_an_ungrounded_text(tiny_model_dir):
    from naviyam.llm.backend import LLMBackend

    llm = LLMBackend.load(tiny_model_dir, device="cpu", max_new_tokens=20, timeout_s=20)
    text, backend = GroundedAnswerer(llm).answer(QUESTION, RECS, TEMPLATE, age=10)
    assert backend in ("llm", "template")
    if backend == "llm":
        assert GroundingGuard(RECS, question=QUESTION).check(text).ok
    else:
        assert text == TEMPLATE
