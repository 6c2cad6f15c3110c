"""Spans → canonical filter values, exactly as the contract says."""

from __future__ import annotations

import pytest

from naviyam.nlu.canonical import Canonicaliser, Span, clean_filters
from naviyam.nlu.matcher import Matcher
from naviyam.nlu.text import normalize


@pytest.fixture(scope="module")
def canon(lexicon):
    return Canonicaliser(lexicon)


def rules_filters(canon, text, intent="FOOD_RECOMMENDATION"):
    m = canon.matcher
    greedy = Matcher.greedy(m.match_all(normalize(text)))
    spans = [Span("LMK" if g.label == "LMKPAT" else g.label, g.start, g.end) for g in greedy
             if g.label not in ("NEG", "RESET", "DECOY")]
    return canon.canonicalise(text, normalize(text), spans, intent)[1]


@pytest.mark.parametrize("surface, dish, category", [
    ("돈가스", "돈까스", "일식"), ("돈까쓰", "돈까스", "일식"), ("짜장", "짜장면", "중식"), ("짜장멘", "짜장면", "중식"),
    ("떡뽁이", "떡볶이", "분식"), ("김치찌게", "김치찌개", "한식"), ("후라이드", "후라이드치킨", "치킨"),
    ("햄버거", "햄버거", "패스트푸드"), ("케잌", "케이크", "디저트"),
])
def test_dish_spelling_variants_give_menu_and_category(canon, surface, dish, category):
    assert canon.value("DISH", surface) == dish
    assert canon.lex.dish_category[dish] == category


@pytest.mark.parametrize("surface, category", [
    ("치킨집", "치킨"), ("치킨잡", "치킨"), ("중국집", "중식"), ("통닭", "치킨"), ("빵집", "베이커리"), ("고깃집", "고기"),
])
def test_category_aliases(canon, surface, category):
    assert canon.value("CAT", surface) == category


def test_alias_sets_category_only(canon):
    assert rules_filters(canon, "햄버거집 추천해줘") == {"category": "패스트푸드"}
    assert rules_filters(canon, "햄버거 먹고 싶어") == {"category": "패스트푸드", "menu": "햄버거"}


@pytest.mark.parametrize("text, expected", [
    ("치킨 말고 피자", {"category": "피자", "exclude_categories": ["치킨"]}),
    ("피자는 빼고 골라줘", {"exclude_categories": ["피자"]}),
    ("우동은 빼 주세요", {"exclude_menus": ["우동"]}),
    ("치킨이나 피자 말고", {"exclude_categories": ["치킨", "피자"]}),
    ("매운 건 빼고", {"dietary_preferences": ["not_spicy"]}),
    ("패스트푸드 먹을래", {"category": "패스트푸드"}),
])
def test_exclusions(canon, text, expected):
    assert rules_filters(canon, text) == expected


@pytest.mark.parametrize("text, loc", [
    ("관악구 식당", {"district": "관악구"}),
    ("신림동 맛집", {"dong": "신림동"}),
    ("서울대입구역 근처 맛집", {"landmark": "서울대입구역"}),
    ("학교 앞 분식", {"near": "school"}),
    ("우리 집 앞 식당", {"near": "home"}),
    ("가까운 데 알려줘", {"near": "current"}),
    ("사당역에서 가까운 데", {"landmark": "사당역"}),
])
def test_location(canon, text, loc):
    assert rules_filters(canon, text)["location_filter"] == loc


def test_decoy_words_set_nothing(canon):
    assert rules_filters(canon, "맛있는 맛집 괜찮은 곳 좋은 데") == {}


def test_shop_name_particles_removed(canon):
    assert canon.value("SHOP", "행복분식에서") == "행복분식"
    assert canon.value("SHOP", "소망김밥은") == "소망김밥"


def test_words_inside_a_shop_name_set_nothing_else(canon):
    text = "행복분식 몇 시까지 해?"
    ents, f = canon.canonicalise(text, normalize(text), [Span("SHOP", 0, 4)], "SHOP_INFO")
    assert f == {"shop_name": "행복분식"}


def test_shop_name_dropped_in_search_turns(canon):
    text = "행복분식 같은 데"
    _, f = canon.canonicalise(text, normalize(text), [Span("SHOP", 0, 4)], "FOOD_RECOMMENDATION")
    assert "shop_name" not in f


def test_clean_filters_contract_shape():
    f = clean_filters({"budget_filter": 10000.0, "party_size": "3", "dietary_preferences": ["light", "light"],
                       "category": None, "exclude_menus": [], "location_filter": {"near": None, "dong": "신림동"},
                       "good_shop": 1})
    assert f == {"budget_filter": 10000, "party_size": 3, "dietary_preferences": ["light"], "good_shop": True,
                 "location_filter": {"dong": "신림동"}}
    assert isinstance(f["budget_filter"], int)


def test_offsets_survive_normalisation():
    text = "ＡＢ\u00a0만원\t치킨"
    n = normalize(text)
    assert len(n) == len(text)
