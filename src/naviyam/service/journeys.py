"""The child-journey check (issue 15's bar): what a meal-card child gets, turn by turn.

For one card-holding child and one first message, :func:`check_journey` asks the
chat service the message, then "더 싼 데는?", "다른 데는?" and "더 가까운 곳은?" in
the same session, and lists every broken promise:

- the first answer recommends shops, every one accepts the meal card and has a
  main dish within the child's per-meal amount (or the answer says it relaxed
  that, or the child named a budget);
- no closed shop stands above an open one;
- "더 싼 데는?" lowers the cheapest main dish of the top result, or says there
  is nothing cheaper;
- "다른 데는?" shows none of the shops already shown, or says there are no more;
- "더 가까운 곳은?" shows only shops nearer than the nearest one of the list
  before it, or says there is nothing nearer.

Used by ``tests/service/test_child_journeys.py`` on a small world and by
``benchmarks/child_journeys.py`` on the default one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from naviyam.service.chat import ChatRequest, ChatService

#: The messages of the issue and a dozen more of children's own.
FIRST_MESSAGES = (
    "배고파 뭐 먹지", "떡볶이 먹고 싶어", "급식카드 되는 떡볶이집", "급식카드 되는 치킨집 추천해줘", "만원으로 먹을 수 있는 거",
    "아무거나 추천해줘", "배고파", "국밥 먹고 싶어", "돈까스 먹을래", "김밥 어디서 먹어?", "짜장면 먹고 싶다",
    "학교 근처 분식집", "든든한 밥 먹고 싶어", "햄버거 먹고 싶어", "라면 먹을 데", "근처에 밥집 있어?", "피자 먹고 싶어ㅠㅠ",
    "순대 먹고 싶어",
)
CHEAPER = "더 싼 데는?"
OTHER = "다른 데는?"
CLOSER = "더 가까운 곳은?"


@dataclass
class JourneyResult:
    user_id: int
    message: str
    problems: list[str] = field(default_factory=list)
    relaxed_budget: bool = False
    cheaper_lowered: bool | None = None
    cheaper_none: bool = False
    closer_none: bool = False


def _closed_above_open(recs: list[dict[str, Any]]) -> bool:
    seen_closed = False
    for r in recs:
        if r.get("open_now") is False:
            seen_closed = True
        elif seen_closed:
            return True
    return False


Ask = Callable[[str, "str | None"], Any]


def service_asker(service: ChatService, user_id: int, *, now: dt.datetime | None = None,
                  lat: float | None = None, lon: float | None = None) -> Ask:
    """One child's turns through the chat service in this process."""

    def ask(text: str, session_id: str | None = None):
        return service.chat(ChatRequest(message=text, user_id=user_id, session_id=session_id, lat=lat, lon=lon,
                                        now=now))
    return ask


def check_journey(service: ChatService | None, user_id: int, message: str, per_meal: int, *,
                  now: dt.datetime | None = None, lat: float | None = None,
                  lon: float | None = None, ask: Ask | None = None) -> JourneyResult:
    """The journey through ``service`` in this process, or through ``ask(text, session_id)`` (e.g. over HTTP),
    which returns an object with ``recommendations``, ``response``, ``session_id``, ``nlu``,
    ``relaxed_filters`` and ``path``."""
    out = JourneyResult(user_id, message)
    if ask is None:
        ask = service_asker(service, user_id, now=now, lat=lat, lon=lon)

    first = ask(message)
    recs = first.recommendations
    if not recs:
        out.problems.append(f"no recommendations ({first.path}): {first.response[:60]}")
        return out
    _check_first(out, first, per_meal)
    cheaper = ask(CHEAPER, first.session_id)
    _check_cheaper(out, cheaper, recs[0].get("cheapest_main"))
    other = ask(OTHER, first.session_id)
    _check_other(out, other, {r["shop_id"] for r in recs})
    before = other.recommendations or cheaper.recommendations or recs
    nearest = min((r["distance_m"] for r in before if r.get("distance_m") is not None), default=None)
    _check_closer(out, ask(CLOSER, first.session_id), nearest)
    return out


def _check_first(out: JourneyResult, first: Any, per_meal: int) -> None:
    """The first answer: meal-card shops within the budget (or the relaxing said), open ones first."""
    recs = first.recommendations
    budget = first.nlu.get("filters", {}).get("budget_filter")
    limit = int(budget) if budget else per_meal
    relaxed = "budget_filter" in first.relaxed_filters
    out.relaxed_budget = relaxed
    if relaxed and "넣었어요" not in first.response:
        out.problems.append("budget relaxed but not said")
    for r in recs:
        if not r.get("accepts_meal_card"):
            out.problems.append(f"{r['name']} does not accept the meal card")
        cheapest = r.get("cheapest_main")
        if not relaxed and (cheapest is None or cheapest > limit):
            out.problems.append(f"{r['name']}: cheapest main {cheapest} above {limit}")
    if _closed_above_open(recs):
        out.problems.append("a closed shop above an open one")


def _check_cheaper(out: JourneyResult, cheaper: Any, top_price: int | None) -> None:
    """'더 싼 데는?': a cheaper top shop, or saying there is none."""
    if cheaper.recommendations:
        new_top = cheaper.recommendations[0].get("cheapest_main")
        out.cheaper_lowered = new_top is not None and top_price is not None and new_top < top_price
        if not out.cheaper_lowered:
            out.problems.append(f"'더 싼 데는?' top {new_top} not below {top_price}")
        if _closed_above_open(cheaper.recommendations):
            out.problems.append("'더 싼 데는?': a closed shop above an open one")
    else:
        out.cheaper_none = True
        if "더 싼 곳은 찾지 못했어요" not in cheaper.response:
            out.problems.append(f"'더 싼 데는?' gave nothing and did not say so ({cheaper.nlu.get('intent')}, "
                                f"{cheaper.path}): {cheaper.response[:80]}")


def _check_other(out: JourneyResult, other: Any, shown: set[int]) -> None:
    """'다른 데는?': none of the shops shown first, or saying all were shown."""
    if other.recommendations:
        again = shown & {r["shop_id"] for r in other.recommendations}
        if again:
            out.problems.append(f"'다른 데는?' showed {sorted(again)} again")
    elif "다 보여 줬어요" not in other.response:
        out.problems.append("'다른 데는?' gave nothing and did not say so")


def _check_closer(out: JourneyResult, closer: Any, nearest: float | None) -> None:
    """'더 가까운 곳은?': only shops nearer than the nearest shown before, or saying there is none."""
    if closer.recommendations:
        far = [r for r in closer.recommendations
               if nearest is not None and (r.get("distance_m") is None or r["distance_m"] >= nearest)]
        if far:
            out.problems.append(f"'더 가까운 곳은?' showed {far[0]['name']} at {far[0].get('distance_m')} m, "
                                f"not nearer than {nearest} m")
        if _closed_above_open(closer.recommendations):
            out.problems.append("'더 가까운 곳은?': a closed shop above an open one")
    else:
        out.closer_none = True
        if "더 가까운 곳은 찾지 못했어요" not in closer.response:
            out.problems.append("'더 가까운 곳은?' gave nothing and did not say so")


def _kinds(failed: list[JourneyResult]) -> dict[str, int]:
    """How many journeys broke each promise (the problem's text up to its details)."""
    kinds: dict[str, int] = {}
    for r in failed:
        for k in dict.fromkeys(_kind(p) for p in r.problems):
            kinds[k] = kinds.get(k, 0) + 1
    return dict(sorted(kinds.items(), key=lambda kv: -kv[1]))


def _kind(problem: str) -> str:
    for marker, kind in (("does not accept the meal card", "shop without the meal card"),
                         ("cheapest main", "main dish above the per-meal amount"),
                         ("budget relaxed but not said", "budget relaxed but not said"),
                         ("no recommendations", "first answer without shops"),
                         ("'더 싼 데는?'", "'더 싼 데는?' not cheaper"),
                         ("'다른 데는?'", "'다른 데는?' repeated a shop"),
                         ("'더 가까운 곳은?'", "'더 가까운 곳은?' not nearer"),
                         ("closed shop above", "closed shop above an open one")):
        if marker in problem:
            return kind
    return problem[:40]


def summarise(results: list[JourneyResult]) -> dict[str, Any]:
    failed = [r for r in results if r.problems]
    cheaper = [r for r in results if r.cheaper_lowered is not None or r.cheaper_none]
    return {
        "journeys": len(results),
        "passed": len(results) - len(failed),
        "failed": len(failed),
        "budget_relaxed_and_said": sum(r.relaxed_budget for r in results),
        "cheaper_lowered": sum(bool(r.cheaper_lowered) for r in cheaper),
        "cheaper_said_none": sum(r.cheaper_none for r in cheaper),
        "closer_said_none": sum(r.closer_none for r in results),
        "problems_by_kind": _kinds(failed),
        "examples": [{"user_id": r.user_id, "message": r.message, "problems": r.problems[:3]} for r in failed[:10]],
    }
