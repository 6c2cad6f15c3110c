import random

from naviyam.nlg.normalizer import _EMOJI
from naviyam.nlg.responses import ResponseWriter, describe_search

RECS = [
    {"name": "행복분식", "category": "분식", "price_range": {"min": 3000, "max": 8000}, "distance_m": 420,
     "accepts_meal_card": True, "is_good_shop": True, "open_now": True,
     "signature_menus": [{"name": "떡볶이", "price": 4000}], "reason": "급식카드로 4,000원 떡볶이를 먹을 수 있어요."},
    {"name": "엄마손김밥", "category": "분식", "price_range": {"min": 2500, "max": 6000}, "distance_m": 1500,
     "accepts_meal_card": True, "is_good_shop": False, "open_now": True, "signature_menus": [], "reason": "가까워요."},
    {"name": "동네식당", "category": "한식", "price_range": {"min": 7000, "max": 9000}, "distance_m": None,
     "accepts_meal_card": True, "is_good_shop": True, "open_now": True, "signature_menus": [], "reason": "든든해요."},
]


def test_answers_vary_in_phrasing():
    w = ResponseWriter()
    texts = {w.recommendations(RECS, {"category": "분식"}, age=30, rng=random.Random(s)) for s in range(20)}
    assert len(texts) >= 3
    greetings = {w.greeting(30, random.Random(s)) for s in range(20)}
    assert len(greetings) >= 2


def test_the_bubble_is_short_and_the_cards_carry_the_details():
    bubble = ResponseWriter().recommendations(RECS, {}, age=30, rng=random.Random(0))
    assert "행복분식" not in bubble and bubble.count("\n") <= 1
    text = ResponseWriter().cards_text(RECS)
    assert "1. 행복분식 (분식)" in text and "3,000원~8,000원" in text and "420m, 걸어서 6분" in text
    assert "1.5km" in text and text.count("급식카드 가능") == 3 and text.count("착한가게") == 2
    assert "대표 메뉴: 떡볶이 4,000원" in text and "급식카드로 4,000원 떡볶이를 먹을 수 있어요." in text


def test_relaxed_filters_are_told_to_the_user():
    text = ResponseWriter().recommendations(RECS, {}, relaxed=["open_now", "budget_filter"], age=10,
                                            rng=random.Random(0))
    assert "지금 문 연 곳, 가격 조건" in text and "넓혀서" in text


def test_child_answers_keep_at_most_two_emoji():
    w = ResponseWriter()
    for s in range(30):
        text = w.recommendations(RECS, {}, age=9, rng=random.Random(s), crisis=True)
        assert len(_EMOJI.findall(text)) <= 2
        assert "1388" in text


def test_search_description_reads_naturally():
    assert describe_search({"payment_method": "meal_card", "category": "분식"}) == "급식카드 되는 분식 가게"
    assert describe_search({"budget_filter": 10000, "menu": "떡볶이"}) == "10,000원으로 먹을 수 있는 떡볶이 가게"


def test_menu_answer_respects_the_budget():
    shop = {"name": "행복분식", "menus": [{"name": "떡볶이", "price": 4000}, {"name": "모둠튀김", "price": 9000}]}
    text = ResponseWriter().menu(shop, budget=5000, age=30)
    assert "떡볶이 4,000원" in text and "모둠튀김" not in text


def test_a_relaxed_category_is_not_named_in_the_card_holders_lead():
    from naviyam.service.policy import Plan

    recs = [{"shop_id": 1, "name": "하늘빙수", "category": "디저트", "open_now": True}]
    w = ResponseWriter()
    relaxed = w.recommendations(recs, {"category": "치킨"}, relaxed=["category"], age=11, rng=random.Random(0),
                                plan=Plan({}, card_budget=9000))
    assert "치킨 가게예요" not in relaxed and "급식카드 한 끼 9,000원 안에서 먹을 수 있는 곳이에요" in relaxed
    kept = w.recommendations(recs, {"category": "치킨"}, age=11, rng=random.Random(0), plan=Plan({}, card_budget=9000))
    assert "급식카드 한 끼 9,000원 안에서 먹을 수 있는 치킨 가게예요" in kept
