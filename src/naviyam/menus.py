"""Main dishes versus side items (공기밥, 음료, 치즈추가 …) on a shop's menu.

A budget question is about a meal: "만원으로 치킨" is not answered by a 2,000원
cola at a chicken shop. Budget filters, price ranges and "N원 안쪽 메뉴" reasons
therefore look at main dishes only.

A menu is a side when its name is a known side word (or ends in 추가/사리/토핑),
or when it is not a taxonomy dish and costs under a third of the shop's
median menu price. A shop whose every item looks like a side keeps them all.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence

SIDE_NAMES = frozenset({
    "공기밥", "밥", "음료", "음료수", "콜라", "사이다", "생수", "물", "우유", "주스", "단무지", "김치", "소스",
    "치즈볼", "샷추가", "쿠키", "삶은달걀", "짜조", "컵라면", "된장술밥", "마늘빵", "피클",
})
_SIDE_SUFFIX = re.compile(r"(추가|사리|토핑|곱빼기)$")
#: A non-dish item cheaper than this share of the shop's median price is a side.
SIDE_PRICE_SHARE = 1 / 3


def is_side(name: str, dish: str | None, price: int, shop_median: float | None) -> bool:
    compact = re.sub(r"\s+", "", name or "")
    if compact in SIDE_NAMES or _SIDE_SUFFIX.search(compact):
        return True
    if dish:
        return False
    return shop_median is not None and price < shop_median * SIDE_PRICE_SHARE


def main_dish_mask(items: Sequence[tuple[str, str | None, int]]) -> list[bool]:
    """For (name, dish, price) items of one shop: True where the item is a main dish (price > 0).

    Falls back to every priced item when none looks like a main dish.
    """
    prices = [p for _, _, p in items if p > 0]
    median = statistics.median(prices) if prices else None
    mask = [p > 0 and not is_side(n, d, p, median) for n, d, p in items]
    if not any(mask):
        mask = [p > 0 for _, _, p in items]
    return mask
