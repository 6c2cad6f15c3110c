"""The binding food taxonomy (categories, dishes, aliases, meal-card names, Seoul's 구), loaded once."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any


def read_resource(*parts: str) -> Any:
    """A JSON file shipped in ``naviyam/resources`` (e.g. ``read_resource("nlu", "lexicon.json")``)."""
    ref = resources.files("naviyam.resources")
    for p in parts:
        ref = ref / p
    return json.loads(ref.read_text(encoding="utf-8"))


@lru_cache
def taxonomy() -> dict[str, Any]:
    """The taxonomy as shipped (``resources/taxonomy.json``); callers must not change it."""
    return read_resource("taxonomy.json")


@lru_cache
def district_names() -> tuple[str, ...]:
    """The 25 Seoul 구 in the taxonomy's order."""
    return tuple(taxonomy()["districts_seoul"])


@lru_cache
def category_names() -> tuple[str, ...]:
    return tuple(taxonomy()["categories"])


@lru_cache
def dish_names() -> frozenset[str]:
    return frozenset(d for c in taxonomy()["categories"].values() for d in c.get("dishes", ()))
