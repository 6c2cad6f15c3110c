from naviyam.menus import is_side, main_dish_mask


def test_side_items_are_recognised_by_name_and_suffix():
    assert is_side("공기밥", None, 1000, 8000)
    assert is_side("치즈 추가", None, 1000, 8000)
    assert is_side("콜라", None, 2000, 20000)
    assert not is_side("떡볶이", "떡볶이", 4000, 5000)


def test_cheap_non_dish_items_are_sides_but_taxonomy_dishes_never_are():
    assert is_side("미니김밥", None, 1500, 8000)
    assert not is_side("김밥", "김밥", 2500, 8000)
    assert not is_side("참치주먹밥", None, 3000, 5000)


def test_chicken_shop_mains_exclude_the_cola():
    items = [("후라이드치킨", "후라이드치킨", 19000), ("양념치킨", "양념치킨", 20000), ("콜라", None, 2000),
             ("치즈볼", None, 5000)]
    assert main_dish_mask(items) == [True, True, False, False]


def test_a_shop_of_only_small_items_keeps_them():
    assert main_dish_mask([("아메리카노", None, 1500), ("샷추가", None, 500)]) == [True, False]
    assert main_dish_mask([("콜라", None, 2000), ("사이다", None, 2000)]) == [True, True]
    assert main_dish_mask([("무료 나눔", None, 0)]) == [False]


def test_budget_filter_ignores_side_items(sqlite_engine):
    """"만원으로 치킨": a 2,000원 cola must not make a 19,000원 chicken shop fit the budget."""
    import datetime as dt

    from naviyam.db.models import Shop, ShopMenu
    from naviyam.db.session import session_scope
    from naviyam.retrieval.catalog import ShopCatalog

    with session_scope(sqlite_engine) as s:
        s.add(Shop(id=1, name="하루통닭", category="치킨", district="관악구", lat=37.48, lon=126.93,
                   open_time=dt.time(16), close_time=dt.time(2), is_good_shop=False, accepts_meal_card=True))
        s.flush()
        s.add_all([ShopMenu(id=1, shop_id=1, name="후라이드치킨", price=19000, dish="후라이드치킨"),
                   ShopMenu(id=2, shop_id=1, name="콜라", price=2000),
                   ShopMenu(id=3, shop_id=1, name="치즈볼", price=5000)])
    catalog = ShopCatalog.load(sqlite_engine)
    assert catalog.min_price[catalog.row_of[1]] == 19000
    assert [m.is_main for m in catalog.menus[catalog.row_of[1]]] == [True, False, False]
