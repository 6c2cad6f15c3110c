"""Users who say they are children ("나 초3인데") are treated as under 14 for their conversation."""

import pytest

from naviyam.nlu.age import says_child


@pytest.mark.parametrize("text", ["나 초3인데 떡볶이 먹고 싶어", "중1이에요", "초등학교 5학년인데 배고파", "신림초 3학년이야",
                                  "열두 살이야 뭐 먹지", "13살인데 치킨", "초딩인데 만원 있어", "중학생인데 뭐 먹을까",
                                  "중2임"])
def test_what_a_child_says_about_their_age(text):
    assert says_child(text)


@pytest.mark.parametrize("text", ["떡볶이 먹고 싶어", "중국집 추천해줘", "중3이에요", "고1인데 뭐 먹지", "18살", "14살이야",
                                  "스무 살", "초밥 2개 먹고 싶어", "집중1시간 했더니 배고파", "3초 만에 골라줘", ""])
def test_what_does_not_say_so(text):
    assert not says_child(text)
