"""A small hand-made catalog with known answers, and a fast deterministic embedder (test helpers)."""

from __future__ import annotations

import datetime as dt

import numpy as np

from naviyam.retrieval.catalog import ShopCatalog
from naviyam.retrieval.embedding import HashingEmbedder  # noqa: F401 - re-exported for tests

T = dt.time


# id, name, category, district, dong, lat, lon, open, close, closed_days, good, meal_card, menus[(name, price, dish, sig)]
SHOPS = [
    (1, "행복분식", "분식", "관악구", "행운동", 37.4812, 126.9527, T(10), T(21), None, True, True,
     [("떡볶이", 4000, "떡볶이", True), ("김밥", 3000, "김밥", False)]),
    (2, "꼬마김밥", "분식", "관악구", "행운동", 37.4820, 126.9530, T(8), T(20), "일", False, True,
     [("참치김밥", 4500, "김밥", True), ("라면", 4000, "라면", False)]),
    (3, "바삭치킨", "치킨", "관악구", "은천동", 37.4850, 126.9420, T(16), T(2), "월", False, True,
     [("후라이드치킨", 18000, "후라이드치킨", True), ("양념치킨", 19000, "양념치킨", False)]),
    (4, "황금치킨", "치킨", "관악구", "신림동", 37.4903, 126.9276, T(15), T(1), None, True, False,
     [("양념치킨", 17000, "양념치킨", True), ("치즈스틱", 3000, "치즈스틱", False)]),
    (5, "만리장성", "중식", "동작구", "사당1동", 37.4765, 126.9816, T(11), T(21), None, False, True,
     [("짜장면", 6000, "짜장면", True), ("짬뽕", 7000, "짬뽕", False), ("탕수육", 15000, "탕수육", False)]),
    (6, "엄마밥상", "한식", "동작구", "사당2동", 37.4830, 126.9760, T(7), T(15), "토,일", True, True,
     [("김치찌개", 7000, "김치찌개", True), ("된장찌개", 7000, "된장찌개", False)]),
    (7, "24시해장국", "한식", "관악구", "행운동", 37.4800, 126.9540, T(0), T(0), None, False, False,
     [("국밥", 9000, "국밥", True)]),
    (8, "무료나눔식당", "한식", "관악구", "행운동", 37.4815, 126.9520, T(11), T(14), None, True, True,
     [("백반", 0, "백반", True), ("비빔밥", 8000, "비빔밥", False)]),
    (9, "강남피자", "피자", "강남구", "역삼1동", 37.4950, 127.0330, T(11), T(22), None, False, True,
     [("치즈피자", 12000, "치즈피자", True)]),
    (10, "순한식탁", "한식", "관악구", "행운동", 37.4810, 126.9535, T(10), T(20), None, True, True,
     [("죽", 6000, "죽", True), ("계란찜", 5000, None, False)]),
]
DESCRIPTIONS = {10: "아이들이 먹기 좋은 맵지 않은 순한 음식, 어린이 메뉴", 3: "아주 매운 불닭 소스가 유명한 치킨집"}


def make_catalog(shops=SHOPS) -> ShopCatalog:
    rows, menus = [], []
    for (sid, name, cat, dist, dong, lat, lon, o, c, closed, good, card, ms) in shops:
        rows.append({"id": sid, "name": name, "category": cat, "district": dist, "dong": dong, "lat": lat, "lon": lon,
                     "open_time": o, "close_time": c, "closed_days": closed, "is_good_shop": good,
                     "accepts_meal_card": card, "brand_id": None, "description": DESCRIPTIONS.get(sid),
                     "created_at": None})
        for (mname, price, dish, sig) in ms:
            menus.append((sid, mname, price, dish, sig))
    return ShopCatalog.from_rows(rows, menus, {}, {}, [])


def ids(catalog: ShopCatalog, mask) -> set[int]:
    return {int(catalog.ids[i]) for i in np.flatnonzero(mask)}
