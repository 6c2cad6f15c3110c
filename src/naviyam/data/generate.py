"""The sample world generator, as it was imported before the split: every name of
:mod:`naviyam.data.world` (the catalogue, one sampler module per table, the writer) is importable from here.
See :mod:`naviyam.data.world` for what the world holds and how it is made."""

from __future__ import annotations

from naviyam.data.world.catalogue import (  # noqa: F401 - the generator's names, as before the split
    ADULT_TEEN_CARD,
    ALL_NIGHT,
    ALL_NIGHT_BRANDS,
    BRAND_FOCUS,
    BRANDS,
    CATEGORIES,
    CATEGORY_SHARES,
    CLOSED_DAY_PATTERNS,
    CLOSED_DAY_RATE,
    CLOSED_DAY_WEIGHTS,
    COLD_USER_RATE,
    CONSENT_SHARE,
    DEFAULT_DAYS,
    DEFAULT_END_DATE,
    DEFAULT_SEED,
    DEFAULT_SHOPS,
    DEFAULT_USERS,
    DISTRICT_WEIGHTS,
    DISTRICTS,
    FAMOUS_DISH_PLACES,
    FOCUS_DISTRICTS,
    GOOD_SHOP_SHARE,
    GROWTH,
    HOURS,
    MAX_CANDIDATES,
    MEAL_CARD_AFFINITY,
    MEAL_CARD_SHARE,
    MENU_CATALOG,
    MENU_PRICE_RANGES,
    NAME_PREFIXES,
    NAME_SUFFIXES,
    NAMEABLE_DISHES,
    REVIEW_PHRASES,
    ROADS,
    SEGMENT_AGES,
    SEGMENT_PARAMS,
    SEGMENT_SHARES,
    SEGMENTS,
    SIDE_MENU_NAMES,
    SIDE_MENUS,
    SIDE_PRICE_RANGE,
    SLOT_HOURS,
    SLOT_PROFILES,
    SLOTS,
    STYLE_NAMES,
    STYLE_PREFIXES,
    TASTE_CONCENTRATION,
    TASTE_PROFILES,
    TIME_AFFINITY,
    WEEKDAY_VOLUME,
    WorldNotEmptyError,
)
from naviyam.data.world.hours import (  # noqa: F401 - the generator's names, as before the split
    closed_weekdays,
    is_open_at,
)
from naviyam.data.world.users import (  # noqa: F401 - the generator's names, as before the split
    _make_users,
)
from naviyam.data.world.world import (  # noqa: F401 - the generator's names, as before the split
    World,
    build_world,
)
from naviyam.data.world.writer import (  # noqa: F401 - the generator's names, as before the split
    INSERT_CHUNK,
    SAMPLE_MEAL_CARD_LIMITS,
    generate_world,
)

__all__ = [
    "CATEGORIES", "DEFAULT_END_DATE", "GOOD_SHOP_SHARE", "MEAL_CARD_SHARE", "MENU_CATALOG", "MENU_PRICE_RANGES",
    "SIDE_MENU_NAMES", "SIDE_PRICE_RANGE", "World", "WorldNotEmptyError", "build_world", "closed_weekdays",
    "generate_world", "is_open_at",
]
