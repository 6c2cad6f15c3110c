"""Dialogue state: the search filters carried between turns of one session.

Rules (contract, "Several turns in one session"):

* a FOOD_RECOMMENDATION / BUDGET_FOOD_INQUIRY turn starts from the previous
  search state and applies what it says: a new value replaces the old one,
  exclude lists grow, a category change drops the old category's menu,
  location merges per sub-key, dietary preferences are replaced when the
  user changes their mind and grow when they add one ("매운 거 말고", "…도");
* a reset phrase ("처음부터 다시", "새로 찾아줘", "다른 거 찾아줘") restarts
  from just what that turn says;
* other intents leave the search state alone and report only their own filters.

The state is plain data: :meth:`DialogueState.to_dict` / :meth:`from_dict`
round-trip through JSON, so it can live in a database or Redis.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from typing import Any

from naviyam.nlu.canonical import SEARCH_INTENTS, clean_filters

_CONFLICTS = {"spicy": "not_spicy", "not_spicy": "spicy", "light": "hearty", "hearty": "light"}
STATE_VERSION = 1

log = logging.getLogger(__name__)


@dataclass
class DialogueState:
    search: dict[str, Any] = field(default_factory=dict)
    last_intent: str | None = None
    last_search_intent: str | None = None
    turns: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"v": STATE_VERSION, "search": copy.deepcopy(self.search), "last_intent": self.last_intent,
                "last_search_intent": self.last_search_intent, "turns": self.turns}

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> DialogueState:
        if not d or not isinstance(d, dict):
            return cls()
        try:
            return cls(search=clean_filters(dict(d.get("search") or {})), last_intent=d.get("last_intent"),
                       last_search_intent=d.get("last_search_intent"), turns=int(d.get("turns") or 0))
        except (TypeError, ValueError, AttributeError):
            # A damaged stored state starts the conversation afresh rather than failing the turn.
            log.warning("unreadable dialogue state; starting a new one")
            return cls()

    # ------------------------------------------------------------------
    def apply(self, intent: str, turn: dict[str, Any], *, reset: bool = False,
              diet_additive: bool = False) -> dict[str, Any]:
        """Update the state with one parsed turn and return the filters to report for it."""
        self.turns += 1
        self.last_intent = intent
        if intent not in SEARCH_INTENTS:
            return clean_filters(turn)
        self.last_search_intent = intent
        if reset:
            self.search = clean_filters(turn)
            return copy.deepcopy(self.search)
        new = copy.deepcopy(self.search)
        old_cat = new.get("category")
        for k, v in turn.items():
            if k in ("exclude_categories", "exclude_menus"):
                lst = new.setdefault(k, [])
                for x in v:
                    if x not in lst:
                        lst.append(x)
            elif k == "dietary_preferences":
                old = [d for d in new.get(k, []) if d not in {_CONFLICTS.get(x) for x in v}]
                if diet_additive:
                    new[k] = old + [x for x in v if x not in old]
                else:
                    new[k] = list(v)
            elif k == "location_filter":
                loc = dict(new.get(k, {}))
                if any(x in v for x in ("district", "dong", "landmark")) and loc.get("near") == "current":
                    loc.pop("near")
                loc.update(v)
                new[k] = loc
            elif k == "shop_name":
                continue
            else:
                new[k] = v
        if "category" in turn and turn["category"] != old_cat and "menu" not in turn:
            new.pop("menu", None)
        # Excluding what is currently searched drops it.
        if new.get("category") in turn.get("exclude_categories", []):
            new.pop("category", None)
            new.pop("menu", None)
        if new.get("menu") in turn.get("exclude_menus", []):
            new.pop("menu", None)
        if new.get("category") and new.get("exclude_categories"):
            new["exclude_categories"] = [c for c in new["exclude_categories"] if c != new["category"]]
        self.search = clean_filters(new)
        return copy.deepcopy(self.search)


class NLUSession:
    """One conversation: a :class:`DialogueState` plus convenience helpers."""

    def __init__(self, state: DialogueState | None = None):
        self.state = state or DialogueState()

    def to_dict(self) -> dict[str, Any]:
        return self.state.to_dict()

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> NLUSession:
        return cls(DialogueState.from_dict(d))

    @property
    def filters(self) -> dict[str, Any]:
        return copy.deepcopy(self.state.search)

    def reset(self) -> None:
        self.state = DialogueState()
