"""Data files shipped in the package (taxonomy, Seoul geography, lexicons)."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any


def read_json(name: str) -> Any:
    return json.loads((resources.files(__name__) / name).read_text(encoding="utf-8"))
