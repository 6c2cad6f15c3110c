"""Korean reasons built from a recommendation's real features."""

from __future__ import annotations

import numpy as np

from naviyam.recommend.features import WIDE_DIM, W
from naviyam.recommend.reasons import ReasonInputs, build_reason, clauses, copula, obj


def wide(**values) -> np.ndarray:
    w = np.zeros(WIDE_DIM)
    w[W["dietary_match"]] = 0.5
    for k, v in values.items():
        w[W[k]] = v
    return w


def test_close_shop_with_meal_card_and_budget_gives_the_example_sentence():
    x = ReasonInputs(category="분식", wide=wide(distance=0.72, budget_compatibility=1.0), distance_m=330,
                     origin_label="집", accepts_meal_card=True, cheapest_price=4000, budget=8000,
                     meal_card_asked=True)
    assert build_reason(x) == "집에서 걸어서 5분 거리에 있고, 급식카드로 8,000원 이하 메뉴를 먹을 수 있어요."


def test_a_repeat_favourite_shop_is_said_so():
    x = ReasonInputs(category="치킨", wide=wide(user_x_shop_history=1.0), is_favourite=True, orders_here=4)
    assert build_reason(x).startswith("즐겨찾기해 둔 가게")


def test_far_shops_do_not_claim_to_be_close_and_landmarks_are_named():
    far = ReasonInputs(category="한식", wide=wide(distance=0.05), distance_m=3000, origin_label="집")
    assert "거리" not in build_reason(far)
    near = ReasonInputs(category="한식", wide=wide(distance=0.9), distance_m=100, origin_label="서울대입구역")
    assert build_reason(near).startswith("서울대입구역에서 걸어서 2분 거리에 있어요") or "서울대입구역에서" in build_reason(near)


def test_reason_without_strong_features_is_still_a_sentence():
    x = ReasonInputs(category="카페", wide=wide())
    assert build_reason(x) == "지금 조건에 잘 맞는 카페 가게예요."


def test_a_good_shop_and_the_asked_dish():
    x = ReasonInputs(category="분식", wide=wide(good_shop=0.3), is_good_shop=True, asked_menu="떡볶이",
                     serves_asked_menu=True)
    text = build_reason(x)
    assert "찾는 떡볶이를 팔" in text and "착한가게" in text and text.endswith("요.")


def test_ranker_weights_change_which_features_lead():
    x = ReasonInputs(category="분식", wide=wide(distance=0.8, rating=0.8), distance_m=200, rating=4.7,
                     review_count=20, funnels={})
    by_distance = np.zeros(WIDE_DIM)
    by_distance[W["distance"]] = 3.0
    by_rating = np.zeros(WIDE_DIM)
    by_rating[W["rating"]] = 3.0
    assert "거리" in clauses(x, by_distance)[0][2]
    assert "평점" in clauses(x, by_rating)[0][2]


def test_particles_follow_the_final_consonant():
    assert obj("떡볶이") == "떡볶이를" and obj("김밥") == "김밥을"
    assert copula("분식집") == "분식집이에요" and copula("카페") == "카페예요"
