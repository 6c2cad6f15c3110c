"""The shop facts behind every answer (hours, menus, order counts) come from a cache that equals the database
and follows the operator's data versions."""

from __future__ import annotations

from sqlalchemy import select

from naviyam.db.data_versions import bump
from naviyam.db.models import ProductOrder, Shop, ShopMenu
from naviyam.db.session import make_engine, migrate, session_scope
from naviyam.service.policy import ShopFactsCache, _facts
from support.worlds import NEW_SHOP, START, add_new_shop, fill_known_world


def _world(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'naviyam.db'}")
    migrate(engine)
    fill_known_world(engine)
    return engine


def test_cached_facts_are_exactly_the_database_rows(tmp_path):
    engine = _world(tmp_path)
    cache = ShopFactsCache()
    with session_scope(engine) as s:
        ids = list(s.scalars(select(Shop.id)))
        assert cache.get(s, ids) == _facts(s, ids)
        assert cache.get(s, ids[:5]) == _facts(s, ids[:5])
        assert any(f.orders for f in cache.get(s, ids).values())


def test_an_import_that_bumps_the_data_version_is_seen_by_the_next_answer(tmp_path):
    engine = _world(tmp_path)
    cache = ShopFactsCache()
    with session_scope(engine) as s:
        menu = s.scalars(select(ShopMenu).order_by(ShopMenu.id)).first()
        shop_id, before = menu.shop_id, cache.get(s, [menu.shop_id])[menu.shop_id]
    with session_scope(engine) as s:
        s.get(ShopMenu, menu.id).price += 500
        s.add(ProductOrder(id=10_000_001, user_id=1, shop_id=shop_id, quantity=1, amount=7000, payment_method="card",
                           ordered_at=START))
        bump(s.connection(), ("shop_menu", "product_order"), "test")
    with session_scope(engine) as s:
        after = cache.get(s, [shop_id])[shop_id]
        assert after == _facts(s, [shop_id])[shop_id]
        assert after.orders == before.orders + 1 and after.menus != before.menus


def test_a_shop_the_cache_does_not_know_is_read_from_the_database(tmp_path):
    engine = _world(tmp_path)
    cache = ShopFactsCache()
    with session_scope(engine) as s:
        cache.get(s, [1])
    add_new_shop(engine)  # by hand: no data version moves
    with session_scope(engine) as s:
        facts = cache.get(s, [1, NEW_SHOP])
        assert facts[NEW_SHOP] == _facts(s, [NEW_SHOP])[NEW_SHOP]
        assert [m[0] for m in facts[NEW_SHOP].menus] == ["수제돈까스", "우동"]


def test_each_shops_cheapest_main_and_closing_time_are_worked_out_with_the_facts(tmp_path):
    engine = _world(tmp_path)
    with session_scope(engine) as s:
        facts = _facts(s, None)
    assert facts
    for f in facts.values():
        assert f.cheapest_main == min((m[2] for m in f.mains), default=None)
        assert f.closes_hhmm == f"{f.close_time:%H:%M}"


def test_versions_are_read_again_at_once_after_a_bump_here_and_after_a_second_for_other_processes(tmp_path):
    from naviyam.db.models import DataVersion

    engine = _world(tmp_path)
    clock = [100.0]
    cache = ShopFactsCache(recheck_s=1.0, monotonic=lambda: clock[0])
    with session_scope(engine) as s:
        shop_id = s.scalars(select(ShopMenu.shop_id).order_by(ShopMenu.id)).first()
        before = cache.get(s, [shop_id])[shop_id]
    # Another process imports: rows and version change, but this process's bump counter does not move.
    with session_scope(engine) as s:
        s.add(ProductOrder(id=10_000_002, user_id=1, shop_id=shop_id, quantity=1, amount=7000,
                           payment_method="card", ordered_at=START))
        row = s.get(DataVersion, "product_order")
        if row is None:
            s.add(DataVersion(aspect="product_order", version=1, changed_at=START, source="other process"))
        else:
            row.version += 1
    clock[0] += 0.5
    with session_scope(engine) as s:
        assert cache.get(s, [shop_id])[shop_id].orders == before.orders  # trusted for a second
    clock[0] += 0.6
    with session_scope(engine) as s:
        assert cache.get(s, [shop_id])[shop_id].orders == before.orders + 1
    # A write of this process (through bump) is seen by the very next answer.
    with session_scope(engine) as s:
        s.add(ProductOrder(id=10_000_003, user_id=1, shop_id=shop_id, quantity=1, amount=7000,
                           payment_method="card", ordered_at=START))
        bump(s.connection(), ("product_order",), "test")
    with session_scope(engine) as s:
        assert cache.get(s, [shop_id])[shop_id].orders == before.orders + 2
