"""Multi-turn rules of the contract, on the dialogue state directly."""

from __future__ import annotations

import json

from naviyam.nlu.state import DialogueState, NLUSession

F = "FOOD_RECOMMENDATION"


def test_new_value_replaces_and_category_change_drops_menu():
    s = DialogueState()
    assert s.apply(F, {"category": "분식", "menu": "김밥"}) == {"category": "분식", "menu": "김밥"}
    assert s.apply(F, {"category": "피자"}) == {"category": "피자"}
    assert s.apply(F, {"sort": "price"}) == {"category": "피자", "sort": "price"}


def test_exclude_lists_grow():
    s = DialogueState()
    s.apply(F, {"exclude_categories": ["분식"]})
    assert s.apply(F, {"exclude_categories": ["중식"]}) == {"exclude_categories": ["분식", "중식"]}


def test_reset_keeps_only_the_turn():
    s = DialogueState()
    s.apply(F, {"category": "일식", "sort": "rating"})
    assert s.apply(F, {}, reset=True) == {}
    assert s.apply(F, {"category": "한식"}) == {"category": "한식"}


def test_other_intents_leave_the_search_state_alone():
    s = DialogueState()
    s.apply(F, {"category": "한식", "payment_method": "meal_card"})
    assert s.apply("SHOP_INFO", {"shop_name": "나래분식"}) == {"shop_name": "나래분식"}
    assert s.apply(F, {"sort": "rating"}) == {"category": "한식", "payment_method": "meal_card", "sort": "rating"}


def test_dietary_adds_on_negation_and_replaces_on_change_of_mind():
    s = DialogueState()
    s.apply(F, {"dietary_preferences": ["healthy"]})
    assert s.apply(F, {"dietary_preferences": ["not_spicy"]}, diet_additive=True)["dietary_preferences"] == \
        ["healthy", "not_spicy"]
    assert s.apply(F, {"dietary_preferences": ["hearty"]})["dietary_preferences"] == ["hearty"]


def test_location_merges_per_sub_key():
    s = DialogueState()
    s.apply(F, {"location_filter": {"district": "관악구", "landmark": "신림역"}})
    out = s.apply(F, {"location_filter": {"landmark": "서울대입구역"}})
    assert out["location_filter"] == {"district": "관악구", "landmark": "서울대입구역"}


def test_excluding_the_current_category_drops_it():
    s = DialogueState()
    s.apply(F, {"category": "치킨", "menu": "양념치킨"})
    assert s.apply(F, {"exclude_categories": ["치킨"]}) == {"exclude_categories": ["치킨"]}


def test_state_round_trips_through_json():
    s = NLUSession()
    s.state.apply(F, {"category": "피자", "budget_filter": 10000, "location_filter": {"near": "school"}})
    s.state.apply("GREETING", {})
    d = json.loads(json.dumps(s.to_dict()))
    s2 = NLUSession.from_dict(d)
    assert s2.to_dict() == s.to_dict()
    assert s2.state.apply(F, {"sort": "price"})["budget_filter"] == 10000


def test_empty_or_missing_state_dict_gives_a_fresh_session():
    assert NLUSession.from_dict(None).filters == {}
    assert NLUSession.from_dict({}).filters == {}


def test_a_damaged_stored_state_starts_afresh():
    from naviyam.nlu.state import DialogueState

    for bad in ({"search": "x"}, {"search": {"category": 5}, "turns": "many"}, ["not", "a", "dict"], {"turns": {}}):
        state = DialogueState.from_dict(bad)
        assert state.search == {} and state.to_dict() == DialogueState.from_dict(None).to_dict()
