"""The MovieLens conversion of benchmarks/realdata on a tiny fake wheel: valid workbook, nothing of the hold-out."""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import sys
import zipfile
from pathlib import Path

import pytest

from naviyam.data.excel import import_workbook
from naviyam.db.session import make_engine, migrate

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "realdata" / "movielens.py"
DAY = 86400
T0 = 880_000_000


@pytest.fixture(scope="module")
def movielens():
    spec = importlib.util.spec_from_file_location("realdata_movielens_under_test", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def _fake_wheel(path: Path) -> Path:
    """Four users, four movies, 30 days of ratings; the last 14 days hold user 1's and user 5's ratings."""
    inter = ["user_id:token\titem_id:token\trating:float\ttimestamp:float"]
    rows = [
        (1, 1, 5, T0), (1, 2, 4, T0 + 1 * DAY), (2, 1, 4, T0 + 2 * DAY), (2, 3, 2, T0 + 3 * DAY),
        (3, 2, 5, T0 + 4 * DAY), (3, 4, 3, T0 + 5 * DAY), (4, 4, 4, T0 + 6 * DAY),
        (1, 3, 4, T0 + 25 * DAY),  # hold-out order of a known user
        (1, 4, 2, T0 + 26 * DAY),  # hold-out review only (not an order)
        (5, 1, 5, T0 + 30 * DAY),  # a user first seen in the hold-out: left out entirely
    ]
    inter += [f"{u}\t{i}\t{r}\t{t}" for u, i, r, t in rows]
    item = ["item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq",
            "1\tToy Story\t1995\tAnimation Children's Comedy", "2\tGoldenEye\t1995\tAction Adventure Thriller",
            "3\tFour Rooms\t1995\tThriller", "4\tSome Doc\t\tDocumentary"]
    user = ["user_id:token\tage:token\tgender:token\toccupation:token\tzip_code:token",
            "1\t24\tM\ttechnician\t85711", "2\t53\tF\tother\t94043", "3\t12\tM\tstudent\t32067",
            "4\t33\tF\twriter\t10001", "5\t40\tM\tother\t55555"]
    wheel = path / "recbole-1.2.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for ext, lines in (("inter", inter), ("item", item), ("user", user)):
            zf.writestr(f"recbole/dataset_example/ml-100k/ml-100k.{ext}", "\n".join(lines) + "\n")
    return wheel


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_conversion_keeps_the_hold_out_out_and_imports_cleanly(movielens, tmp_path):
    wheel = _fake_wheel(tmp_path)
    assert movielens.wheel_path(tmp_path) == wheel  # a cached wheel is used, nothing downloaded
    ml = movielens.read_movielens(wheel)
    assert len(ml.ratings) == 10 and ml.items[1][2] == ["Animation", "Children's", "Comedy"]
    out = tmp_path / "out"
    rep = movielens.convert(ml, out, holdout_days=14, end=dt.datetime(2024, 6, 28, 21, 0))

    assert rep.cutoff == dt.datetime(2024, 6, 14, 12, 0)
    book = out / "workbook"
    orders = _csv(book / "product_order.csv")
    reviews = _csv(book / "review.csv")
    favourites = _csv(book / "userfavorite.csv")
    stamps = [r["ordered_at"] for r in orders] + [r["created_at"] for r in reviews + favourites]
    assert stamps and all(dt.datetime.fromisoformat(s) < rep.cutoff for s in stamps)
    assert len(orders) == 5 and len(reviews) == 7 and len(favourites) == 2  # ratings >= 4, all, 5 stars
    assert {r["id"] for r in _csv(book / "user.csv")} == {"1", "2", "3", "4"}  # user 5 is only in the hold-out
    assert [(r["user_id"], r["shop_id"]) for r in _csv(out / "holdout.csv")] == [("1", "3")]
    assert movielens.load_holdout(out) == [(1, 3)]
    shops = {r["id"]: r for r in _csv(book / "shop.csv")}
    assert shops["1"]["category"] == movielens.GENRE_CATEGORY["Animation"]
    assert shops["4"]["category"] == movielens.GENRE_CATEGORY["Documentary"]

    engine = make_engine(f"sqlite:///{tmp_path / 'naviyam.db'}")
    migrate(engine)
    counts = import_workbook(engine, book)
    assert counts["shop"] == 4 and counts["product_order"] == 5 and counts["review"] == 7


def test_conversion_is_deterministic(movielens, tmp_path):
    ml = movielens.read_movielens(_fake_wheel(tmp_path))
    a = movielens.convert(ml, tmp_path / "a")
    b = movielens.convert(ml, tmp_path / "b")
    assert a.counts == b.counts
    for name in ("shop.csv", "shop_menu.csv", "user.csv", "product_order.csv"):
        assert (tmp_path / "a" / "workbook" / name).read_text() == (tmp_path / "b" / "workbook" / name).read_text()
