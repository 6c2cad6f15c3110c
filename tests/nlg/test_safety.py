import pytest

from naviyam.nlg.safety import (
    RequestRisk,
    classify_request,
    crisis_intro,
    is_alcohol_shop,
    may_see_alcohol_shops,
    refusal_text,
)


@pytest.mark.parametrize("text", ["돈이 없어서 굶었어", "집에 밥이 없어", "배고픈데 돈이 없어요ㅠㅠ", "어제부터 밥을 못 먹었어",
                                  "먹을 게 하나도 없어"])
def test_a_child_in_need_is_recognised(text):
    assert classify_request(text) is RequestRisk.CRISIS


@pytest.mark.parametrize("text", ["아빠가 때렸어", "집에 혼자 있는데 무서워", "죽고 싶어", "자해했어"])
def test_danger_and_self_harm_are_safety(text):
    assert classify_request(text) is RequestRisk.SAFETY


@pytest.mark.parametrize("text", ["떡볶이 먹고 싶어", "매운 거 무서워", "배고파 살려줘ㅋㅋ", "미술학원 근처 분식집",
                                  "기술 배우고 밥 먹으러 가", "니 말이 맞았어", "메뉴 고르는 거 도와줘", "배고파 죽겠다"])
def test_ordinary_requests_are_not_flagged(text):
    assert classify_request(text) is RequestRisk.NONE


@pytest.mark.parametrize("text,risk", [("맥주 파는 데 알려줘", RequestRisk.ALCOHOL), ("술집 추천해줘", RequestRisk.ALCOHOL),
                                       ("소주 한잔 하고 싶다", RequestRisk.ALCOHOL), ("담배 어디서 사?", RequestRisk.TOBACCO),
                                       ("전자담배 파는 곳", RequestRisk.TOBACCO), ("19금 영상", RequestRisk.ADULT)])
def test_alcohol_tobacco_and_adult_requests(text, risk):
    assert classify_request(text) is risk


@pytest.mark.parametrize("name,category,expected", [("신림 호프집", "고기", True), ("봉천 이자카야", "일식", True),
                                                    ("바다포차", "한식", True), ("Bar 101", None, True),
                                                    ("행복분식", "분식", False), ("바다횟집", "일식", False)])
def test_alcohol_shops_are_recognised(name, category, expected):
    assert is_alcohol_shop(name, category) is expected


def test_only_known_adults_may_see_alcohol_shops():
    assert not may_see_alcohol_shops(None)
    assert not may_see_alcohol_shops(18)
    assert may_see_alcohol_shops(19)


def test_replies_are_kind_korean_and_crisis_names_the_helpline():
    assert "1388" in crisis_intro()
    assert "19살" in refusal_text(RequestRisk.ALCOHOL, minor=True)
    with pytest.raises(ValueError):
        refusal_text(RequestRisk.NONE, minor=True)
