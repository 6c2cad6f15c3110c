"""Korean text helpers shared by the NLG, the importer, the generator and the reasons."""

import pytest

from naviyam.core.taxonomy import category_names, dish_names, district_names, taxonomy
from naviyam.core.text import WEEKDAYS_KO, has_batchim, particle


@pytest.mark.parametrize(("word", "expected"), [("치킨", True), ("피자", False), ("떡볶이", False), ("김밥", True),
                                                ("", False), ("KFC", False), ("김밥2", False)])
def test_has_batchim_reads_the_last_character(word, expected):
    assert has_batchim(word) is expected


def test_has_batchim_can_skip_trailing_non_hangul():
    assert has_batchim("김밥2", last_hangul=True) is True
    assert has_batchim("떡볶이!!", last_hangul=True) is False
    assert has_batchim("123", last_hangul=True) is False


@pytest.mark.parametrize(("word", "pair", "expected"), [
    ("치킨", ("은", "는"), "은"), ("피자", ("은", "는"), "는"),
    ("국밥", ("이", "가"), "이"), ("라면", ("을", "를"), "을"), ("우동", ("을", "를"), "을"),
    ("초밥", ("으로", "로"), "으로"), ("피자", ("으로", "로"), "로"), ("서울", ("으로", "로"), "로"),
])
def test_particle_fits_the_word(word, pair, expected):
    assert particle(word, *pair) == expected


def test_particle_after_a_digit_or_latin_uses_the_fallback():
    assert particle("KFC", "은", "는") == "은"
    assert particle("KFC", "을", "를", otherwise="를") == "를"


def test_weekdays_start_on_monday():
    assert WEEKDAYS_KO[0] == "월" and WEEKDAYS_KO[6] == "일" and len(set(WEEKDAYS_KO)) == 7


def test_taxonomy_loader_has_one_owner():
    from naviyam.data import validation
    from naviyam.nlu.lexicon import load_taxonomy

    assert load_taxonomy() is taxonomy()
    assert validation.categories() == category_names() and validation.dishes() == dish_names()
    assert len(district_names()) == 25 and "떡볶이" in dish_names()
