"""A checker for the NLU contract object (contracts/nlu.md); returns the list of violations.

Filter violations are worded in Korean: the API returns them to callers as they are.
"""

from __future__ import annotations

from typing import Any

from naviyam.core.contract import DIETARY, ENUMS, FILTER_KEYS, INTENTS, NEAR
from naviyam.nlu.lexicon import load_taxonomy

__all__ = ["DIETARY", "ENUMS", "FILTER_KEYS", "INTENTS", "NEAR", "validate_filters", "validate_result"]


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def validate_filters(f: Any) -> list[str]:
    tax = load_taxonomy()
    cats = set(tax["categories"])
    dishes = {d for c in tax["categories"].values() for d in c["dishes"]}
    errs: list[str] = []
    if not isinstance(f, dict):
        return ["filters는 객체여야 해요"]
    for k, v in f.items():
        if k not in FILTER_KEYS:
            errs.append(f"{k}: 알 수 없는 필터 이름이에요")
            continue
        if v is None or v == [] or v == {} or v == "":
            errs.append(f"{k}: 값이 비어 있어요")
            continue
        if k == "category" and v not in cats:
            errs.append(f"category: {v!r}는 음식 분류에 없는 종류예요")
        elif k == "menu" and v not in dishes:
            errs.append(f"menu: {v!r}는 음식 분류에 없는 메뉴예요")
        elif k in ("budget_filter", "party_size") and not (_is_int(v) and v > 0):
            errs.append(f"{k}: 1 이상의 정수여야 해요 (받은 값 {v!r})")
        elif k in ENUMS and v not in ENUMS[k]:
            errs.append(f"{k}: {v!r}는 쓸 수 없는 값이에요")
        elif k in ("good_shop", "open_now") and v is not True:
            errs.append(f"{k}: true만 쓸 수 있어요")
        elif k in ("dietary_preferences", "exclude_categories", "exclude_menus"):
            if not isinstance(v, list) or len(v) != len({str(x) for x in v}):
                errs.append(f"{k}: 중복 없는 목록이어야 해요")
            else:
                allowed = DIETARY if k == "dietary_preferences" else cats if k == "exclude_categories" else dishes
                bad = [x for x in v if x not in allowed]
                if bad:
                    errs.append(f"{k}: 알 수 없는 값이 있어요 {bad}")
        elif k == "location_filter":
            if not isinstance(v, dict):
                errs.append("location_filter: 객체여야 해요")
            else:
                for kk, vv in v.items():
                    if kk not in ("district", "dong", "landmark", "near"):
                        errs.append(f"location_filter.{kk}: 알 수 없는 위치 항목이에요")
                    elif not isinstance(vv, str) or not vv:
                        errs.append(f"location_filter.{kk}: 비어 있지 않은 문자열이어야 해요")
                if v.get("district") and v["district"] not in tax["districts_seoul"]:
                    errs.append(f"location_filter.district: {v['district']!r}는 서울의 구가 아니에요")
                if v.get("near") and v["near"] not in NEAR:
                    errs.append(f"location_filter.near: {v['near']!r}는 쓸 수 없는 값이에요")
        elif k == "shop_name" and not (isinstance(v, str) and v.strip()):
            errs.append("shop_name: 비어 있지 않은 문자열이어야 해요")
    return errs


def validate_result(obj: Any) -> list[str]:
    """Violations of the contract by one parse result (``NLUResult.to_dict()``)."""
    if not isinstance(obj, dict):
        return ["result is not an object"]
    errs: list[str] = []
    keys = {"text", "intent", "confidence", "entities", "semantic_query", "filters"}
    if set(obj) != keys:
        errs.append(f"keys {sorted(obj)} != {sorted(keys)}")
        return errs
    text = obj["text"]
    if not isinstance(text, str):
        errs.append("text is not a string")
        text = ""
    if obj["intent"] not in INTENTS:
        errs.append(f"intent {obj['intent']!r} unknown")
    c = obj["confidence"]
    if not isinstance(c, (int, float)) or isinstance(c, bool) or not 0.0 <= float(c) <= 1.0:
        errs.append(f"confidence {c!r} not in [0, 1]")
    if not isinstance(obj["semantic_query"], str):
        errs.append("semantic_query is not a string")
    ents = obj["entities"]
    if not isinstance(ents, list):
        errs.append("entities is not a list")
    else:
        for e in ents:
            if not isinstance(e, dict) or not {"entity", "value", "start", "end"} <= set(e):
                errs.append(f"bad entity {e!r}")
                continue
            s, t = e["start"], e["end"]
            if not (_is_int(s) and _is_int(t) and 0 <= s < t <= len(text)):
                errs.append(f"bad offsets {s}-{t} for text of length {len(text)}")
            elif "text" in e and text[s:t] != e["text"]:
                errs.append(f"entity text {e['text']!r} != text[{s}:{t}] {text[s:t]!r}")
    errs += validate_filters(obj["filters"])
    return errs
