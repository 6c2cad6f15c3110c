"""The generator's carrier phrases and budget values, read from resources/nlu/phrases.json."""

from __future__ import annotations

from naviyam.core.taxonomy import read_resource

_PHRASES = read_resource("nlu", "phrases.json")
BUDGET_VALUES: list[int] = _PHRASES["budget_values"]


# ---------------------------------------------------------------- carrier phrases (resources/nlu/phrases.json)

REQ: list[str] = _PHRASES["req"]
WANT: list[str] = _PHRASES["want"]
HEADS: list[str] = _PHRASES["heads"]
FOOD_CTX: list[str] = _PHRASES["food_ctx"]
INTRO: list[str] = _PHRASES["intro"]
TAIL: list[str] = _PHRASES["tail"]
DECOY_ADJ: list[str] = _PHRASES["decoy_adj"]
DECOY_HEAD: list[str] = _PHRASES["decoy_head"]
BUDGET_FRAMES: list[tuple[str, list[str]]] = [(head, tails) for head, tails in _PHRASES["budget_frames"]]
BUDGET_MOD: list[str] = _PHRASES["budget_mod"]
MENU_Q: list[str] = _PHRASES["menu_q"]
SHOP_Q: list[str] = _PHRASES["shop_q"]
SHOP_PAY_Q: list[str] = _PHRASES["shop_pay_q"]
SHOP_OPEN_Q: list[str] = _PHRASES["shop_open_q"]
COUPON_Q: list[str] = _PHRASES["coupon_q"]
COUPON_BARE: list[str] = _PHRASES["coupon_bare"]
GREET: list[str] = _PHRASES["greet"]
BYE: list[str] = _PHRASES["bye"]
HELP: list[str] = _PHRASES["help"]
FEEDBACK_S: list[str] = _PHRASES["feedback_s"]
FEEDBACK_PAY: list[str] = _PHRASES["feedback_pay"]
FEEDBACK_BARE: list[str] = _PHRASES["feedback_bare"]
OOS: list[str] = _PHRASES["oos"]
FOLLOW_FOOD: list[str] = _PHRASES["follow_food"]
FOLLOW_SORT: dict[str, list[str]] = _PHRASES["follow_sort"]
RESET: list[str] = _PHRASES["reset"]
GENERIC_FOOD: list[str] = _PHRASES["generic_food"]
NEG_MARKERS: list[str] = _PHRASES["neg_markers"]
