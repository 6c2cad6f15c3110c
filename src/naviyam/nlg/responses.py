"""Answer text for every situation, in several phrasings each (never one fixed template).

Answers are written in gentle 해요체 and then passed through the
child-friendly normaliser for the user's age. A phrasing is picked with a
random generator the caller seeds (per session and turn), so tests are
repeatable while users see variety.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from naviyam.nlg.format import distance, price_range, subject_particle, topic_particle, walk, won
from naviyam.nlg.normalizer import ChildFriendlyNormalizer
from naviyam.nlg.safety import RequestRisk, crisis_intro, refusal_text, safety_answer

#: How each relaxable filter key is named to the user.
FILTER_NAMES = {
    "open_now": "지금 문 연 곳",
    "budget_filter": "가격 조건",
    "location_filter": "위치 조건",
    "category": "음식 종류",
    "menu": "메뉴",
    "payment_method": "급식카드 조건",
    "good_shop": "착한가게 조건",
    "dietary_preferences": "입맛 조건",
    "exclude_categories": "빼 달라고 한 종류",
    "exclude_menus": "빼 달라고 한 메뉴",
}

_INTROS = (
    "{what} {n}곳을 찾았어요!",
    "이런 곳은 어때요? {what} {n}곳이에요.",
    "{what} 중에서 {n}곳을 골라 봤어요.",
    "딱 맞는 곳을 찾아봤어요. {what} {n}곳이에요.",
)
_CLOSINGS = (
    "마음에 드는 곳이 있으면 눌러서 자세히 볼 수 있어요.",
    "다른 메뉴가 먹고 싶으면 말해 줘요!",
    "더 싼 곳이나 더 가까운 곳도 찾아 줄 수 있어요.",
    "맛있게 먹어요! 😋",
)
_NO_RESULTS = (
    "앗, 조건에 맞는 가게를 못 찾았어요. 조건을 조금 바꿔서 다시 물어봐 줄래요?",
    "아쉽게도 지금 조건으로는 가게가 없어요. 다른 음식이나 다른 동네로 찾아볼까요?",
)
_GREETINGS = (
    "안녕하세요! 나비얌이에요. 오늘은 뭐 먹고 싶어요? 🍚",
    "반가워요! 먹고 싶은 음식이나 가진 돈을 말해 주면 근처 가게를 찾아 줄게요.",
    "안녕하세요! 배고프면 언제든 말해요. 맛있는 곳을 찾아 줄게요. 😊",
)
_GOODBYES = (
    "맛있게 먹고 또 와요! 👋",
    "고마워요! 다음에 또 맛있는 곳 찾아 줄게요.",
    "잘 가요! 배고프면 언제든 불러 줘요.",
)
_HELP = (
    "저는 나비얌이에요. 이렇게 물어보면 돼요:\n"
    "• \"급식카드 되는 떡볶이집 알려줘\"\n• \"만원으로 뭐 먹지?\"\n• \"학교 근처 지금 문 연 곳\"\n"
    "• \"행복분식 몇 시까지 해?\"\n가게 정보, 메뉴와 가격, 급식카드 사용법도 알려 줄 수 있어요.",
)
_OUT_OF_SCOPE = (
    "음, 그건 제가 잘 모르는 이야기예요. 저는 먹을 곳을 찾아 주는 나비얌이에요. 먹고 싶은 게 있으면 말해 줘요! 🍜",
    "그건 도와주기 어려워요. 대신 배고플 때 맛있는 가게를 찾아 줄 수 있어요!",
)
_FEEDBACK_THANKS = (
    "알려 줘서 고마워요! 다음 추천에 꼭 참고할게요.",
    "이야기해 줘서 고마워요. 더 좋은 곳을 찾는 데 도움이 돼요!",
)
_FEEDBACK_SORRY = (
    "불편했겠어요. 알려 줘서 고마워요. 가게 정보를 다시 확인할게요.",
    "미안해요! 알려 준 내용은 꼭 확인해서 고칠게요.",
)
_COUPON = (
    "급식카드(꿈나무카드)는 카드에 적힌 하루 사용 한도 안에서, 급식카드 가맹점에서 쓸 수 있어요. "
    "남은 돈은 카드 뒷면의 고객센터나 구청·주민센터, 카드사 앱에서 확인할 수 있어요. "
    "나비얌에서 '급식카드 되는 곳'이라고 물어보면 쓸 수 있는 가게를 찾아 줄게요.",
)


def _pick(rng: random.Random, options: Sequence[str]) -> str:
    return options[rng.randrange(len(options))]


def describe_search(filters: dict[str, Any]) -> str:
    """A short Korean noun phrase for what was searched, e.g. "급식카드로 먹을 수 있는 분식집"."""
    parts = []
    if filters.get("open_now"):
        parts.append("지금 문 연")
    if filters.get("payment_method") == "meal_card":
        parts.append("급식카드 되는")
    if filters.get("good_shop"):
        parts.append("착한가게 중")
    if filters.get("budget_filter"):
        parts.append(f"{won(filters['budget_filter'])}으로 먹을 수 있는")
    what = filters.get("menu") or filters.get("category")
    parts.append(f"{what} 가게" if what else "가게")
    return " ".join(parts)


def recommendation_line(i: int, rec: dict[str, Any]) -> str:
    """One card as text (the CLI's list): name, category, price, distance, hours, marks, dishes, the reason."""
    bits = [f"{i}. {rec['name']} ({rec['category']})"]
    pr = rec.get("price_range") or {}
    if pr.get("min") is not None:
        bits.append(price_range(pr.get("min"), pr.get("max")))
    if rec.get("distance_m") is not None:
        far, on_foot = distance(rec["distance_m"]), walk(rec["distance_m"])
        bits.append(far if far == on_foot else f"{far}, {on_foot}")
    marks = []
    if rec.get("accepts_meal_card"):
        marks.append("급식카드 가능")
    if rec.get("is_good_shop"):
        marks.append("착한가게")
    if rec.get("open_now") is False:
        marks.append("지금은 문 닫음" + (f"({rec['opens_text']})" if rec.get("opens_text") else ""))
    elif rec.get("closing_soon") and rec.get("closes_at"):
        marks.append(f"곧 문 닫아요({rec['closes_at']}까지)")
    elif rec.get("closes_at"):
        marks.append(f"{rec['closes_at']}까지")
    if marks:
        bits.append(" · ".join(marks))
    line = " | ".join(bits)
    dishes = rec.get("dishes")
    if dishes:
        line += "\n   먹을 수 있는 메뉴: " + ", ".join(f"{m['name']} {won(m['price'])}" for m in dishes[:3])
    elif rec.get("signature_menus"):
        line += "\n   대표 메뉴: " + ", ".join(f"{m['name']} {won(m['price'])}" for m in rec["signature_menus"][:3])
    if rec.get("reason"):
        line += f"\n   → {rec['reason']}"
    return line


def _lead(filters: dict[str, Any], plan: Any, n: int, budget_relaxed: bool,
          relaxed: Sequence[str] = ()) -> str | None:
    """The first sentence when a service rule shaped the search (meal card, 'more', 'cheaper', 'closer').

    A dish or category that had to be relaxed is not named: the shops may not serve it."""
    what = None if "category" in relaxed else (
        (filters.get("menu") if "menu" not in relaxed else None) or filters.get("category"))
    place = f"{what} 가게" if what else "곳"
    if getattr(plan, "cheaper_than", None) is not None:
        return f"아까 본 곳보다 더 싸게 먹을 수 있는 {place} {n}곳이에요."
    if getattr(plan, "excluded_shown", 0):
        return f"아직 안 보여 준 {place} {n}곳이에요."
    if getattr(plan, "closer_than", None) is not None:
        return f"아까 본 곳보다 더 가까운 {place} {n}곳이에요."
    if getattr(plan, "closer", False):
        return f"가까운 순서로 {place} {n}곳을 골랐어요."
    budget = getattr(plan, "card_budget", None)
    if budget and not budget_relaxed:
        return f"급식카드 한 끼 {won(budget)} 안에서 먹을 수 있는 {place}{'이에요' if place == '곳' else '예요'}."
    return None


class ResponseWriter:
    """Writes the answer for each situation; ``rng`` decides the phrasing."""

    def __init__(self, normalizer: ChildFriendlyNormalizer | None = None):
        self.normalizer = normalizer or ChildFriendlyNormalizer()

    def _out(self, text: str, age: int | None) -> str:
        return self.normalizer.normalize(text, age)

    def recommendations(self, recs: list[dict[str, Any]], filters: dict[str, Any], *, relaxed: Sequence[str] = (),
                        age: int | None, rng: random.Random, crisis: bool = False, plan: Any = None) -> str:
        """The bubble: one or two sentences (what was found, what was relaxed, what is closed); the cards
        (``recs``) carry the details."""
        if not recs:
            if getattr(plan, "cheaper_than", None) is not None:
                return self._out(f"아까 본 곳({won(plan.cheaper_than)})보다 더 싼 곳은 찾지 못했어요. "
                                 "다른 음식으로 찾아볼까요?", age)
            if getattr(plan, "closer_than", None) is not None:
                return self._out(f"아까 본 곳({walk(plan.closer_than)})보다 더 가까운 곳은 찾지 못했어요. "
                                 "다른 음식으로 찾아볼까요?", age)
            if getattr(plan, "excluded_shown", 0):
                return self._out("조건에 맞는 곳은 다 보여 줬어요. 다른 음식이나 동네로 찾아볼까요?", age)
            return self._out((crisis_intro() + "\n" if crisis else "") + _pick(rng, _NO_RESULTS), age)
        lines = [crisis_intro()] if crisis else []
        budget_relaxed = any(k == "budget_filter" for k in relaxed)
        card_budget = getattr(plan, "card_budget", None)
        if relaxed:
            if card_budget and budget_relaxed:
                lines.append(f"급식카드 한 끼 {won(card_budget)} 안에서 먹을 수 있는 곳이 부족해서 조금 더 비싼 곳도 넣었어요.")
            others = [k for k in relaxed if not (card_budget and k == "budget_filter")]
            if others:
                names = ", ".join(dict.fromkeys(FILTER_NAMES.get(k.split(".")[0], "검색 조건") for k in others))
                lines.append(f"조건에 딱 맞는 곳이 부족해서 {names}{topic_particle(names)} 조금 넓혀서 찾았어요.")
        lead = _lead(filters, plan, len(recs), budget_relaxed, relaxed)
        shown = {k: v for k, v in filters.items() if not k.startswith("_") and k != "sort"}
        if card_budget and not budget_relaxed:
            shown.pop("budget_filter", None)
        lines.append(lead or _pick(rng, _INTROS).format(what=describe_search(shown), n=len(recs)))
        closed = [r for r in recs if r.get("open_now") is False]
        if closed and len(closed) == len(recs):
            lines.append("지금 문 연 곳이 없어서 나중에 여는 곳을 보여 줄게요. 여는 시간을 꼭 확인해요.")
        elif closed:
            lines.append("지금 연 곳이 부족해서 지금은 닫은 곳도 뒤에 넣었어요.")
        soon = [r for r in recs if r.get("open_now") and r.get("closing_soon")]
        if soon:
            name = soon[0]["name"]
            lines.append(f"{name}{topic_particle(name)} 곧 문을 닫으니 서둘러요!")
        return self._out("\n".join(lines), age)

    def cards_text(self, recs: list[dict[str, Any]]) -> str:
        """The cards as text lines, for the command line."""
        return "\n".join(recommendation_line(i, r) for i, r in enumerate(recs, 1))

    def hungry_follow_up(self, age: int | None) -> str:
        return self._out("먹고 싶은 음식이 있으면 말해 줘요. 더 딱 맞게 찾아 줄게요!", age)

    def greeting(self, age: int | None, rng: random.Random) -> str:
        return self._out(_pick(rng, _GREETINGS), age)

    def goodbye(self, age: int | None, rng: random.Random) -> str:
        return self._out(_pick(rng, _GOODBYES), age)

    def help(self, age: int | None, rng: random.Random) -> str:
        return self._out(_pick(rng, _HELP), age)

    def out_of_scope(self, age: int | None, rng: random.Random) -> str:
        return self._out(_pick(rng, _OUT_OF_SCOPE), age)

    def coupon(self, age: int | None, rng: random.Random) -> str:
        return self._out(_pick(rng, _COUPON), age)

    def feedback(self, negative: bool, age: int | None, rng: random.Random) -> str:
        return self._out(_pick(rng, _FEEDBACK_SORRY if negative else _FEEDBACK_THANKS), age)

    def refusal(self, risk: RequestRisk, age: int | None) -> str:
        return self._out(refusal_text(risk, minor=age is None or age < 19), age)

    def safety(self, age: int | None) -> str:
        """Self-harm, abuse or danger: the helplines, never restaurants (not shortened by the normaliser)."""
        return safety_answer()

    def clarify(self, question: str, age: int | None) -> str:
        return self._out(question, age)

    def shop_not_found(self, name: str | None, age: int | None, rng: random.Random) -> str:
        if not name:
            return self._out("어떤 가게가 궁금한지 이름을 알려 줄래요?", age)
        return self._out(_pick(rng, (
            f"'{name}'{subject_particle(name)}라는 가게는 아직 찾을 수 없어요. 이름을 다시 확인해 줄래요?",
            f"음, '{name}' 가게는 나비얌에 없는 것 같아요. 비슷한 가게를 찾아볼까요?",
        )), age)

    def shop_info(self, shop: dict[str, Any], filters: dict[str, Any], age: int | None) -> str:
        name = shop["name"]
        lines = [f"{name}{topic_particle(name)} {shop['district']} {shop.get('dong') or ''}에 있는 {shop['category']} 가게예요."
                 .replace("  ", " ")]
        lines.append(("지금 문 열어 있어요. " if shop["open_now"] else "지금은 문을 닫았어요. ")
                     + f"영업시간은 {shop['hours']}이에요.")
        if filters.get("payment_method") == "meal_card" or shop.get("accepts_meal_card"):
            lines.append("급식카드를 쓸 수 있어요. 💳" if shop["accepts_meal_card"] else "아쉽지만 급식카드는 안 돼요.")
        if shop.get("is_good_shop"):
            lines.append("착한가게예요!")
        if shop.get("address"):
            lines.append(f"주소: {shop['address']}")
        if shop.get("phone"):
            lines.append(f"전화: {shop['phone']}")
        return self._out("\n".join(lines), age)

    def menu(self, shop: dict[str, Any], budget: int | None, age: int | None) -> str:
        menus = shop.get("menus") or []
        if not menus:
            return self._out(f"{shop['name']}의 메뉴 정보가 아직 없어요.", age)
        shown = [m for m in menus if budget is None or m["price"] <= budget] or menus
        head = (f"{shop['name']}에서 {won(budget)}으로 먹을 수 있는 메뉴예요:" if budget and shown is not menus
                else f"{shop['name']}의 메뉴예요:")
        lines = [head] + [f"• {m['name']} {won(m['price'])}" for m in sorted(shown, key=lambda m: m["price"])[:10]]
        return self._out("\n".join(lines), age)
