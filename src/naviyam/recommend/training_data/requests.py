"""The requests a training example answers: simulated NLU objects and the moments they are asked at."""

from __future__ import annotations

import datetime as dt
import logging
import math
from typing import Any

import numpy as np

from naviyam.core.contract import TIME_OF_DAY_KO
from naviyam.recommend.features import (
    time_bucket,
)
from naviyam.recommend.training_data.config import TrainingDataConfig
from naviyam.retrieval.catalog import ShopCatalog

log = logging.getLogger(__name__)


_TAILS = ("", "맛집", "추천", "먹고 싶어", "먹을 곳", "가게")
_GENERIC = ("맛있는 식당", "근처 맛집", "밥 먹을 곳", "오늘 뭐 먹지")


def simulate_nlu(
    rng: np.random.Generator,
    *,
    category: str,
    when: dt.datetime,
    dish: str | None = None,
    price: int | None = None,
    paid_with_meal_card: bool = False,
    shop_accepts_meal_card: bool = False,
    is_good_shop: bool = False,
) -> dict[str, Any]:
    """A plausible NLU contract object for a request that ended in this choice.

    Every filter is consistent with the chosen shop (its category, a dish it
    serves, a budget its menu fits, the meal card only when it takes it), so
    Layer 1 can still propose it; each appears only sometimes, like real
    requests, and the semantic query is built from the same words.
    """
    filters: dict[str, Any] = {}
    words: list[str] = []
    tb = time_bucket(when)
    if rng.random() < 0.3:
        filters["time_of_day"] = tb
        words.append(TIME_OF_DAY_KO[tb])
    if paid_with_meal_card and shop_accepts_meal_card and rng.random() < 0.5:
        filters["payment_method"] = "meal_card"
        words.append("급식카드")
    if is_good_shop and rng.random() < 0.1:
        filters["good_shop"] = True
        words.append("착한가게")
    if dish and rng.random() < 0.25:
        filters["menu"] = dish
        filters["category"] = category
        words.append(dish)
    elif rng.random() < 0.45:
        filters["category"] = category
        words.append(category)
    if price and rng.random() < 0.3:
        budget = int(math.ceil(price / 1000.0) * 1000 + 1000 * int(rng.integers(0, 3)))
        filters["budget_filter"] = budget
        words.insert(0, f"{budget // 1000}천원" if budget % 10_000 else f"{budget // 10_000}만원")
    if not words:
        words.append(_GENERIC[int(rng.integers(len(_GENERIC)))])
    tail = _TAILS[int(rng.integers(len(_TAILS)))]
    semantic = " ".join([*words, tail]).strip()
    intent = "BUDGET_FOOD_INQUIRY" if "budget_filter" in filters and rng.random() < 0.5 else "FOOD_RECOMMENDATION"
    return {"text": semantic + " 추천해줘", "intent": intent, "confidence": 1.0, "entities": [],
            "semantic_query": semantic, "filters": filters}


def simulate_request(ev, when: dt.datetime, *, cfg: TrainingDataConfig, catalog: ShopCatalog,
                     menus: dict[int, tuple[str | None, int]], users: dict) -> tuple[np.random.Generator, dict[str, Any]]:
    """The request a choice answered: vague now and then, else from the shop, the menu and the payment.

    Returns the event's own random generator (seeded by the event, so a request does not depend on the
    others) with the NLU object.
    """
    row = catalog.row_of[ev.shop_id]
    dish, price = (None, None)
    if ev.kind == "order":
        dish, menu_price = menus.get(ev.menu_id, (None, 0)) if ev.menu_id is not None else (None, 0)
        price = menu_price or (int(ev.amount) if ev.amount else None)
    erng = np.random.default_rng([cfg.seed, _KIND_CODE[ev.kind], ev.id])
    if erng.random() < cfg.vague_share:
        return erng, {"text": "오늘 뭐 먹지?", "intent": "FOOD_RECOMMENDATION", "confidence": 1.0,
                      "entities": [], "semantic_query": "오늘 뭐 먹지?", "filters": {}}
    user = users.get(ev.user_id)
    nlu = simulate_nlu(
        erng, category=catalog.categories[row], when=when, dish=dish, price=price,
        paid_with_meal_card=ev.payment_method == "meal_card"
        or (ev.kind != "order" and user is not None and user.is_meal_card_holder),
        shop_accepts_meal_card=bool(catalog.accepts_meal_card[row]),
        is_good_shop=bool(catalog.is_good_shop[row]),
    )
    return erng, nlu


_KIND_CODE = {"order": 0, "favorite": 1, "review": 2}


def window_starts(start: dt.datetime, cutoff: dt.datetime, end: dt.datetime,
                   cfg: TrainingDataConfig) -> list[dt.datetime]:
    """Request moments: every ``window_days`` from the end of the warm-up to the end, one at the cut-off."""
    warm_end = start + (cutoff - start) * (cfg.warmup_share / max(1e-9, 1 - cfg.val_share))
    step = dt.timedelta(days=cfg.window_days)
    n_train = max(1, math.ceil((cutoff - warm_end) / step))
    train = [cutoff - step * k for k in range(n_train, 0, -1)]
    val = [cutoff + step * k for k in range(0, max(1, math.ceil((end - cutoff) / step)))]
    return [t for t in train if t >= start] + val


