import pytest

from naviyam.nlg.normalizer import (
    ChildFriendlyNormalizer,
    Mapping,
    learn_mappings,
    limit_emoji,
    merge_mappings,
    read_pairs,
)


@pytest.fixture(scope="module")
def norm():
    return ChildFriendlyNormalizer()


@pytest.mark.parametrize("formal,friendly", [
    ("예산 범위를 초과하는 가격대입니다.", "가진 돈보다 비싼 가격대예요."),
    ("행복분식은 학교 근처 분식집입니다.", "행복분식은 학교 근처 분식집이에요."),
    ("결제는 카드로 하십시오.", "계산은 카드로 해요."),
    ("매장이 문을 열었습니다.", "가게가 문을 열었어요."),
])
def test_formal_speech_becomes_gentle_haeyo(norm, formal, friendly):
    assert norm.for_child(formal) == friendly


def test_particles_follow_the_replacement_word(norm):
    # 매장이 → 가게가, 결제가 → 계산이 (the particle changes with the new word's final consonant)
    assert norm.for_child("매장이 좋습니다.") == "가게가 좋아요."
    assert norm.for_child("결제를 했습니다.") == "계산을 했어요."


def test_at_most_two_emoji_survive():
    assert limit_emoji("맛있어요 😀😀😀🍕 최고") == "맛있어요 😀😀 최고"


def test_long_sentences_are_split_at_conjunctions(norm):
    text = "이 가게는 걸어서 오 분 거리에 있고 값도 싸서 자주 가기 좋아요, 그리고 착한가게예요."
    assert norm.for_child(text).count(".") == 2


def test_adults_keep_polite_standard_speech(norm):
    text = "해당 매장은 아동급식카드 결제가 가능합니다."
    assert norm.normalize(text, age=40) == text
    assert norm.normalize(text, age=None) == text
    assert norm.normalize(text, age=9) != text


def test_learns_word_and_ending_mappings_from_pairs():
    pairs = [("이 메뉴는 저렴합니다", "이 메뉴는 싸요"), ("국물이 시원합니다", "국물이 시원해요"),
             ("가게가 조용합니다", "가게가 조용해요"), ("메뉴를 추천합니다", "메뉴를 골라 줄게요")]
    learned = learn_mappings(pairs, min_count=2)
    assert Mapping("합니다", "해요", "ending") in learned
    assert all(m.original != "저렴합니다" for m in learned)  # seen once only
    learned_once = learn_mappings(pairs, min_count=1)
    assert Mapping("저렴합니다", "싸요", "word") in learned_once or Mapping("저렴합니다", "싸요", "ending") in learned_once


def test_learned_mappings_are_used_and_base_wins(tmp_path):
    base = [Mapping("음식", "밥", "word")]
    extra = [Mapping("음식", "요리", "word"), Mapping("근사한", "멋진", "word")]
    merged = merge_mappings(base, extra)
    n = ChildFriendlyNormalizer(merged)
    assert n.for_child("근사한 음식") == "멋진 밥"


def test_shipped_pairs_file_is_in_the_seed_format():
    from importlib import resources

    with resources.as_file(resources.files("naviyam.resources") / "nlg" / "child_friendly_pairs.jsonl") as p:
        pairs = read_pairs(p)
    assert len(pairs) >= 5 and all(a and b for a, b in pairs)
