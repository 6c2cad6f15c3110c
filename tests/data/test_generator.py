"""The sample-world generator: determinism, refusal, realism and learnable signal.

Small worlds run on SQLite and PostgreSQL (the ``engine`` fixture); realism is
checked once on a medium world written to SQLite and read back.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter, defaultdict
from importlib import resources

import numpy as np
import pytest
from sqlalchemy import func, insert, select

from naviyam.core import geo
from naviyam.data.generate import (
    CATEGORIES,
    DEFAULT_END_DATE,
    GOOD_SHOP_SHARE,
    MEAL_CARD_SHARE,
    MENU_PRICE_RANGES,
    SIDE_MENU_NAMES,
    SIDE_PRICE_RANGE,
    WorldNotEmptyError,
    build_world,
    generate_world,
    is_open_at,
)
from naviyam.db.models import OPERATOR_TABLES, Brand, Shop
from naviyam.db.session import make_engine, migrate

SMALL = {"shops": 150, "users": 300, "days": 30}
MEDIUM = {"seed": 2024, "shops": 500, "users": 1500, "days": 180}


def dump(engine) -> dict[str, list[tuple]]:
    """Every operator table's rows, ordered by id."""
    out = {}
    with engine.connect() as conn:
        for model in OPERATOR_TABLES:
            table = model.__table__
            out[table.name] = [tuple(r) for r in conn.execute(select(table).order_by(table.c.id))]
    return out


def read(engine) -> dict[str, list[dict]]:
    out = {}
    with engine.connect() as conn:
        for model in OPERATOR_TABLES:
            table = model.__table__
            out[table.name] = [dict(r) for r in conn.execute(select(table).order_by(table.c.id)).mappings()]
    return out


def fresh_sqlite(path):
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    return engine


def age_on(birthday: dt.date, day: dt.date) -> int:
    return day.year - birthday.year - ((day.month, day.day) < (birthday.month, birthday.day))


# --------------------------------------------------------------------------- small worlds, both backends


def test_same_seed_gives_identical_rows_and_another_seed_differs(engine, tmp_path):
    counts = generate_world(engine, seed=11, **SMALL)
    twin = fresh_sqlite(tmp_path / "twin.db")
    other = fresh_sqlite(tmp_path / "other.db")
    try:
        assert generate_world(twin, seed=11, **SMALL) == counts
        generate_world(other, seed=12, **SMALL)
        first, second, third = dump(engine), dump(twin), dump(other)
    finally:
        twin.dispose()
        other.dispose()
    assert first == second
    assert {name: len(rows) for name, rows in first.items()} == counts
    assert all(counts[name] > 0 for name in ("shop", "shop_menu", "user", "product_order", "review"))
    assert first["shop"] != third["shop"]
    assert first["product_order"] != third["product_order"]


def test_refuses_a_database_that_already_has_data(engine):
    stages: dict[str, tuple[int, int]] = {}
    counts = generate_world(engine, seed=3, progress=lambda s, d, t: stages.__setitem__(s, (d, t)), **SMALL)
    assert {"shops", "menus", "users", "orders", "writing"} <= set(stages)
    assert all(done == total for done, total in stages.values())
    with pytest.raises(WorldNotEmptyError, match="shop"):
        generate_world(engine, seed=4, **SMALL)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Shop)).scalar_one() == counts["shop"]


def test_refuses_when_only_another_operator_table_has_rows(engine):
    with engine.begin() as conn:
        conn.execute(insert(Brand.__table__), [{"id": 1, "name": "기존브랜드"}])
    with pytest.raises(WorldNotEmptyError, match="brand"):
        generate_world(engine, seed=5, **SMALL)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Shop)).scalar_one() == 0


# --------------------------------------------------------------------------- pure functions


@pytest.mark.parametrize(
    ("open_", "close", "closed", "when", "expected"),
    [
        ("10:00", "21:00", None, "2026-10-14 10:00", True),   # Wednesday, opening minute
        ("10:00", "21:00", None, "2026-10-14 09:59", False),
        ("10:00", "21:00", None, "2026-10-14 21:00", False),  # closing time is exclusive
        ("10:00", "21:00", "수", "2026-10-14 12:00", False),
        ("10:00", "21:00", "토,일", "2026-10-17 12:00", False),
        ("10:00", "21:00", "토,일", "2026-10-16 12:00", True),
        ("16:00", "02:00", None, "2026-10-14 23:30", True),   # overnight
        ("16:00", "02:00", None, "2026-10-15 01:30", True),
        ("16:00", "02:00", None, "2026-10-15 02:00", False),
        ("16:00", "02:00", None, "2026-10-15 12:00", False),
        ("16:00", "02:00", "일", "2026-10-18 01:00", True),   # Sunday 01:00 is Saturday night's business
        ("16:00", "02:00", "일", "2026-10-19 01:00", False),  # Monday 01:00 is Sunday night's: closed
        ("16:00", "02:00", "일", "2026-10-18 20:00", False),
        ("15:00", "00:00", None, "2026-10-14 23:59", True),   # closes at midnight
        ("15:00", "00:00", None, "2026-10-15 00:00", False),
        ("06:00", "05:00", None, "2026-10-15 04:30", True),   # nearly 24 hours
        ("06:00", "05:00", None, "2026-10-15 05:30", False),
    ],
)
def test_is_open_at(open_, close, closed, when, expected):
    t = dt.datetime.strptime(when, "%Y-%m-%d %H:%M")
    o = dt.time.fromisoformat(open_)
    c = dt.time.fromisoformat(close)
    assert is_open_at(o, c, closed, t) is expected


def test_end_date_fixes_the_history_window():
    world = build_world(seed=9, end_date=dt.date(2025, 1, 1), **SMALL)
    times = [o["ordered_at"] for o in world.tables["product_order"]]
    assert times and min(times) >= dt.datetime(2024, 12, 2) and max(times) < dt.datetime(2025, 1, 1)
    assert max(r["created_at"] for r in world.tables["review"]) < dt.datetime(2025, 1, 1)
    ages = [age_on(u["birthday"], dt.date(2025, 1, 1)) for u in world.tables["user"]]
    assert min(ages) >= 8 and max(ages) <= 70


def test_build_world_is_deterministic_in_memory():
    a = build_world(seed=21, **SMALL)
    b = build_world(seed=21, **SMALL)
    assert a.tables == b.tables
    assert np.array_equal(a.user_taste, b.user_taste)


# --------------------------------------------------------------------------- a medium world on SQLite


@pytest.fixture(scope="module")
def medium(tmp_path_factory):
    """(rows per table read back from SQLite, the in-memory world with its hidden parameters)."""
    engine = fresh_sqlite(tmp_path_factory.mktemp("medium") / "medium.db")
    try:
        generate_world(engine, **MEDIUM)
        rows = read(engine)
    finally:
        engine.dispose()
    return rows, build_world(**MEDIUM)


def _taxonomy_dishes() -> dict[str, set[str]]:
    raw = json.loads(resources.files("naviyam.resources").joinpath("taxonomy.json").read_text(encoding="utf-8"))
    return {c: set(v["dishes"]) for c, v in raw["categories"].items()}


def test_in_memory_world_matches_the_database(medium):
    rows, world = medium
    for name, table_rows in rows.items():
        assert len(table_rows) == len(world.tables[name]), name
    assert rows["shop"][:50] == world.tables["shop"][:50]
    assert rows["product_order"][-50:] == world.tables["product_order"][-50:]


def test_menus_are_priced_within_their_category_range(medium):
    rows, _ = medium
    dishes = _taxonomy_dishes()
    shops = {s["id"]: s for s in rows["shop"]}
    per_shop = defaultdict(list)
    for m in rows["shop_menu"]:
        shop = shops[m["shop_id"]]
        per_shop[m["shop_id"]].append(m)
        lo, hi = SIDE_PRICE_RANGE if m["name"] in SIDE_MENU_NAMES else MENU_PRICE_RANGES[shop["category"]]
        assert lo <= m["price"] <= hi, (shop["category"], m)
        assert m["price"] % 500 == 0, m
        assert m["dish"] is None or m["dish"] in dishes[shop["category"]], (shop["category"], m)
        if m["name"] in SIDE_MENU_NAMES:
            assert m["dish"] is None and not m["is_signature"]
    assert set(per_shop) == set(shops)
    for shop_id, menus in per_shop.items():
        assert 4 <= len(menus) <= 15, shops[shop_id]
        assert 1 <= sum(m["is_signature"] for m in menus) <= 3, shops[shop_id]
        if dishes[shops[shop_id]["category"]]:
            assert any(m["dish"] for m in menus), shops[shop_id]
    assert any(m["dish"] is None and m["name"] == "공기밥" for m in rows["shop_menu"])


def test_every_district_and_category_is_present_with_focus_on_gwanak_and_dongjak(medium):
    rows, _ = medium
    assert {s["district"] for s in rows["shop"]} == set(geo.district_names())
    assert {s["category"] for s in rows["shop"]} == set(CATEGORIES)
    for table in ("shop", "user"):
        share = np.mean([r["district"] in ("관악구", "동작구") for r in rows[table]])
        assert 0.18 <= share <= 0.32, (table, share)


def test_meal_card_and_good_shop_shares(medium):
    rows, _ = medium
    shops = rows["shop"]
    card = np.array([s["accepts_meal_card"] for s in shops])
    good = np.array([s["is_good_shop"] for s in shops])
    assert abs(card.mean() - MEAL_CARD_SHARE) <= 0.04
    assert abs(good.mean() - GOOD_SHOP_SHARE) <= 0.04
    assert card[good].mean() > card[~good].mean() + 0.15
    cat = np.array([s["category"] for s in shops])
    friendly = np.isin(cat, ["분식", "한식", "도시락", "중식"])
    pricey = np.isin(cat, ["고기", "양식"])
    assert card[friendly].mean() > card[pricey].mean() + 0.2


def test_most_children_have_a_guardians_consent_from_the_day_they_joined(medium):
    rows, _ = medium
    users = rows["user"]
    young = [u for u in users if age_on(u["birthday"], DEFAULT_END_DATE) < 15]
    consenting = [u for u in young if u["guardian_consent"] is not None]
    assert 0.8 < len(consenting) / len(young) < 0.97  # some children are served minimised
    assert all(u["guardian_consent"] == u["created_at"].date() for u in consenting)
    assert all(u["guardian_consent"] is None for u in users if age_on(u["birthday"], DEFAULT_END_DATE) >= 15)


def test_users_ages_and_meal_cards(medium):
    rows, _ = medium
    users = rows["user"]
    ages = np.array([age_on(u["birthday"], DEFAULT_END_DATE) for u in users])
    holder = np.array([u["is_meal_card_holder"] for u in users])
    assert ages.min() >= 8 and ages.max() <= 70
    children = (ages >= 8) & (ages <= 13)
    teens = (ages >= 14) & (ages <= 19)
    adults = ages >= 20
    assert children.mean() > 0.2 and teens.mean() > 0.2 and adults.mean() > 0.25
    assert holder[children].mean() >= 0.7
    assert holder[teens].mean() >= 0.35
    assert holder[adults].mean() <= 0.1
    assert {u["gender"] for u in users} == {"M", "F"}
    for u in users[:200]:
        assert u["dong"] in {d.name for d in geo.get_district(u["district"]).dongs}


def test_shops_lie_in_their_district_and_dong_with_plausible_details(medium):
    rows, _ = medium
    phone = re.compile(r"^02-\d{3,4}-\d{4}$")
    for s in rows["shop"]:
        district = geo.get_district(s["district"])
        assert district.contains(s["lat"], s["lon"]), s
        nearest = geo.nearest_dong(s["lat"], s["lon"])
        assert (nearest.district, nearest.name) == (s["district"], s["dong"]), s
        assert s["address"].startswith(f"서울특별시 {s['district']} "), s
        assert phone.match(s["phone"]), s
        assert re.search("[가-힣]", s["name"]), s
    names = [s["name"] for s in rows["shop"]]
    assert len(names) == len(set(names))
    brands = {b["id"]: b["name"] for b in rows["brand"]}
    branches = [s for s in rows["shop"] if s["brand_id"]]
    assert branches and all(s["name"].startswith(brands[s["brand_id"]] + " ") for s in branches)


def test_opening_hours_vary_by_category(medium):
    rows, _ = medium
    shops = rows["shop"]
    overnight = [s for s in shops if s["close_time"] <= s["open_time"]]
    assert overnight and {s["category"] for s in overnight} & {"치킨", "고기"}
    cafes = [s for s in shops if s["category"] == "카페"]
    assert all(s["open_time"] <= dt.time(9, 0) for s in cafes)
    snack = [s for s in shops if s["category"] == "분식" and s["close_time"] > s["open_time"]]
    assert all(dt.time(9, 30) <= s["open_time"] <= dt.time(11, 0) for s in snack)
    closed = [s["closed_days"] for s in shops if s["closed_days"]]
    assert 0.15 <= len(closed) / len(shops) <= 0.5
    assert all(set(c.split(",")) <= set("월화수목금토일") for c in closed)


def test_every_order_is_consistent_and_placed_while_the_shop_was_open(medium):
    rows, _ = medium
    shops = {s["id"]: s for s in rows["shop"]}
    menus = {m["id"]: m for m in rows["shop_menu"]}
    users = {u["id"]: u for u in rows["user"]}
    start = dt.datetime.combine(DEFAULT_END_DATE - dt.timedelta(days=MEDIUM["days"]), dt.time())
    end = dt.datetime.combine(DEFAULT_END_DATE, dt.time())
    for o in rows["product_order"]:
        shop, menu, user = shops[o["shop_id"]], menus[o["menu_id"]], users[o["user_id"]]
        assert menu["shop_id"] == shop["id"], o
        assert o["amount"] == menu["price"] * o["quantity"] and o["quantity"] >= 1, o
        assert start <= o["ordered_at"] < end, o
        assert o["ordered_at"] >= user["created_at"], o
        assert is_open_at(shop["open_time"], shop["close_time"], shop["closed_days"], o["ordered_at"]), (o, shop)
        if o["payment_method"] == "meal_card":
            assert user["is_meal_card_holder"] and shop["accepts_meal_card"], o
    assert {o["payment_method"] for o in rows["product_order"]} == {"meal_card", "card", "cash", "coupon"}
    times = [o["ordered_at"] for o in rows["product_order"]]
    assert times == sorted(times)


def test_favourites_and_reviews_are_consistent(medium):
    rows, _ = medium
    pairs = [(f["user_id"], f["shop_id"]) for f in rows["userfavorite"]]
    assert len(pairs) == len(set(pairs)) > 0
    first_order = {}
    for o in rows["product_order"]:
        first_order.setdefault((o["user_id"], o["shop_id"]), o["ordered_at"])
    end = dt.datetime.combine(DEFAULT_END_DATE, dt.time())
    for r in rows["review"]:
        assert 1 <= r["rating"] <= 5
        assert r["created_at"] < end
        assert first_order[(r["user_id"], r["shop_id"])] < r["created_at"], r
    texts = [r["text"] for r in rows["review"] if r["text"]]
    assert len(texts) >= 0.8 * len(rows["review"])
    assert all(re.search("[가-힣]", t) for t in texts)
    ratings = Counter(r["rating"] for r in rows["review"])
    assert ratings[5] + ratings[4] > ratings[1] + ratings[2] + ratings[3] > 0
    low = [r["text"] for r in rows["review"] if r["text"] and r["rating"] <= 2]
    assert low and not any("최고" in t or "또 올게요" in t for t in low)


def test_order_volume_cold_users_and_rhythms(medium):
    rows, world = medium
    orders = rows["product_order"]
    per_user = Counter(o["user_id"] for o in orders)
    assert 15 <= len(orders) / len(per_user) <= 30
    assert len(per_user) <= 0.95 * len(rows["user"])  # some users never ordered
    hours = Counter(o["ordered_at"].hour for o in orders)
    assert hours[12] > 2 * hours[10] and hours[18] > 2 * hours[10]
    assert hours[12] > hours[14] and hours[19] > hours[21]
    days = MEDIUM["days"]
    by_weekday = Counter(o["ordered_at"].weekday() for o in orders)
    n_days = Counter((DEFAULT_END_DATE - dt.timedelta(days=k + 1)).weekday() for k in range(days))
    per_day = {w: by_weekday[w] / n_days[w] for w in range(7)}
    assert min(per_day[5], per_day[6]) > max(per_day[w] for w in range(4))
    segment = {i + 1: s for i, s in enumerate(world.user_segment)}

    def share(seg: str, hours_: set[int], weekday: bool = True) -> float:
        mine = [o for o in orders if segment[o["user_id"]] == seg and (o["ordered_at"].weekday() < 5) == weekday]
        return sum(o["ordered_at"].hour in hours_ for o in mine) / len(mine)

    after_school = {14, 15, 16, 17}
    late = {22, 23, 0, 1}
    assert share("child", after_school) > share("adult", after_school) + 0.15
    assert share("adult", late) > share("child", late) + 0.03


def test_orders_follow_hidden_tastes(medium):
    rows, world = medium
    cat_of = {s["id"]: CATEGORIES.index(s["category"]) for s in rows["shop"]}
    top3 = np.argsort(-world.user_taste, axis=1)[:, :3]
    orders = rows["product_order"]
    hit = np.mean([cat_of[o["shop_id"]] in top3[o["user_id"] - 1] for o in orders])
    shop_share = np.bincount(list(cat_of.values()), minlength=len(CATEGORIES)) / len(cat_of)
    chance = np.mean([shop_share[top3[o["user_id"] - 1]].sum() for o in orders])
    assert hit >= 0.45 and hit >= 1.8 * chance, (hit, chance)


def test_orders_are_local(medium):
    rows, world = medium
    shops = {s["id"]: s for s in rows["shop"]}
    d = np.array([
        geo.haversine_m(*world.user_home[o["user_id"] - 1], shops[o["shop_id"]]["lat"], shops[o["shop_id"]]["lon"])
        for o in rows["product_order"]
    ])
    assert np.median(d) <= 2500 and np.mean(d <= 4000) >= 0.8, (np.median(d), np.mean(d <= 4000))


def test_meal_card_holders_prefer_meal_card_shops(medium):
    rows, _ = medium
    holder = {u["id"]: u["is_meal_card_holder"] for u in rows["user"]}
    accepts = {s["id"]: s["accepts_meal_card"] for s in rows["shop"]}
    by_holders = [accepts[o["shop_id"]] for o in rows["product_order"] if holder[o["user_id"]]]
    by_others = [accepts[o["shop_id"]] for o in rows["product_order"] if not holder[o["user_id"]]]
    assert np.mean(by_holders) >= 0.6 and np.mean(by_others) <= 0.45
    paid = [o["payment_method"] == "meal_card" for o in rows["product_order"] if holder[o["user_id"]]
            and accepts[o["shop_id"]]]
    assert np.mean(paid) >= 0.85


def test_reviews_are_kinder_to_shops_matching_taste_and_users_come_back(medium):
    rows, world = medium
    cat_of = {s["id"]: CATEGORIES.index(s["category"]) for s in rows["shop"]}
    top2 = np.argsort(-world.user_taste, axis=1)[:, :2]
    liked = [r["rating"] for r in rows["review"] if cat_of[r["shop_id"]] in top2[r["user_id"] - 1]]
    other = [r["rating"] for r in rows["review"] if cat_of[r["shop_id"]] not in top2[r["user_id"] - 1]]
    assert np.mean(liked) > np.mean(other) + 0.1
    history = defaultdict(list)
    for o in rows["product_order"]:
        history[o["user_id"]].append(o["shop_id"])
    repeat = [shops[-1] in shops[:-1] for shops in history.values() if len(shops) >= 3]
    assert np.mean(repeat) >= 0.3
