"""Cut an exported workbook folder (CSV per sheet) at ``last event - holdout_days``.

Events (orders, favourites, reviews) at or after the cut are left out of the
new workbook; the orders among them go to ``holdout.csv`` (user_id, shop_id,
at). Shops, menus, brands and users are copied as they are (they are the
catalogue and the accounts, not interactions); a user or shop created after
the cut is dropped with everything that refers to it.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from pathlib import Path

EVENT_SHEETS = {"product_order": "ordered_at", "userfavorite": "created_at", "review": "created_at"}


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8-sig", newline="") as f:  # the export writes a BOM for Excel
        r = csv.DictReader(f)
        return list(r.fieldnames or []), list(r)


def _write(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=header)
        w.writeheader()
        w.writerows(rows)


def _when(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.strip().replace("T", " ")).replace(tzinfo=None)


def split_workbook(src: Path, out_dir: Path, *, holdout_days: int = 14) -> dict:
    """Write ``out_dir/workbook`` and ``out_dir/holdout.csv``; returns the cut and counts."""
    src, out_dir = Path(src), Path(out_dir)
    book = out_dir / "workbook"
    book.mkdir(parents=True, exist_ok=True)
    sheets = {p.stem: _read(p) for p in src.glob("*.csv")}
    last = max(_when(r[col]) for name, col in EVENT_SHEETS.items() if name in sheets for r in sheets[name][1])
    cutoff = dt.datetime.combine((last - dt.timedelta(days=holdout_days)).date(), dt.time(12, 0))

    def before(row: dict[str, str], col: str) -> bool:
        return not row.get(col) or _when(row[col]) < cutoff

    users = {r["id"] for r in sheets.get("user", ([], []))[1] if before(r, "created_at")}
    shops = {r["id"] for r in sheets.get("shop", ([], []))[1] if before(r, "created_at")}
    counts, holdout = {}, []
    for name, (header, rows) in sheets.items():
        if name in EVENT_SHEETS:
            col = EVENT_SHEETS[name]
            kept = [r for r in rows if before(r, col) and r["user_id"] in users and r["shop_id"] in shops]
            if name == "product_order":
                holdout = [r for r in rows if not before(r, col)]
        elif name == "user":
            kept = [r for r in rows if r["id"] in users]
        elif name == "shop":
            kept = [r for r in rows if r["id"] in shops]
        elif name == "shop_menu":
            kept = [r for r in rows if r["shop_id"] in shops]
        else:
            kept = rows
        _write(book / f"{name}.csv", header, kept)
        counts[name] = len(kept)
    with (out_dir / "holdout.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["user_id", "shop_id", "at"])
        for r in holdout:
            w.writerow([r["user_id"], r["shop_id"], r["ordered_at"]])
    meta = {"cutoff": cutoff.isoformat(), "source": str(src), "counts": counts, "holdout_orders": len(holdout)}
    (out_dir / "conversion.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
    return {**meta, "cutoff": cutoff}


def copy_workbook(src: Path, dst: Path) -> None:
    shutil.copytree(src, dst, dirs_exist_ok=True)
