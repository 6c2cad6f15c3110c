"""Data files shipped in the package (taxonomy, Seoul geography, lexicons)."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any


def read_json(name: str) -> Any:
    return json.loads((resources.files(__name__) / name).read_text(encoding="utf-8"))


@lru_cache
def taxonomy() -> dict[str, Any]:
    """The binding food taxonomy (contracts/taxonomy.json)."""
    return read_json("taxonomy.json")


@lru_cache
def district_names() -> tuple[str, ...]:
    """The 25 Seoul 구 in the taxonomy's order."""
    return tuple(taxonomy()["districts_seoul"])
