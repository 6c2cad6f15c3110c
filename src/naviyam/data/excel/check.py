"""Checks across sheets and against the database: duplicate keys, references, an order's menu and shop."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.engine import Connection

from naviyam.data.excel.parse import _ParsedSheet
from naviyam.data.excel.schema import SHEETS
from naviyam.data.validation import RowError
from naviyam.db.models import ShopMenu

_IN_CHUNK = 900


def _ids_in_db(conn: Connection, table: Table, ids: set[int]) -> set[int]:
    """Which of ``ids`` exist in ``table`` (one range scan for many ids, IN lists for a few)."""
    if not ids:
        return set()
    col = table.c.id
    if len(ids) > 5 * _IN_CHUNK:
        lo, hi = min(ids), max(ids)
        found = conn.execute(select(col).where(col.between(lo, hi))).scalars()
        return ids.intersection(found)
    found: set[int] = set()
    items = sorted(ids)
    for start in range(0, len(items), _IN_CHUNK):
        found.update(conn.execute(select(col).where(col.in_(items[start : start + _IN_CHUNK]))).scalars())
    return found


def _menu_shops_in_db(conn: Connection, menu_ids: set[int]) -> dict[int, int]:
    table = ShopMenu.__table__
    out: dict[int, int] = {}
    items = sorted(menu_ids)
    for start in range(0, len(items), _IN_CHUNK):
        rows = conn.execute(select(table.c.id, table.c.shop_id).where(table.c.id.in_(items[start : start + _IN_CHUNK])))
        out.update((r[0], r[1]) for r in rows)
    return out


def _check_ids(parsed: dict[str, _ParsedSheet], errors: list[RowError]) -> None:
    """Duplicate keys (ids; meal_card_limit's districts) within a sheet (a key already in the database is an
    update, not an error)."""
    for name, sheet in parsed.items():
        key = sheet.spec.key
        ids = sheet.columns[key]
        first: dict[Any, int] = {}
        for i, x in enumerate(ids):
            if x is None:
                continue
            j = first.setdefault(x, i)
            if j != i:
                errors.append(RowError(name, sheet.rows[i], key,
                                       f"중복된 {key}({x})입니다. {sheet.rows[j]}행에 같은 {key}가 있습니다"))


def _check_references(
    conn: Connection, parsed: dict[str, _ParsedSheet], broken: set[str], errors: list[RowError],
    replace: bool = False,
) -> None:
    """Foreign keys resolve in the file or the database; skipped for parents whose sheet is unusable.

    With ``replace`` a parent sheet in the file is all there will be: its rows missing from the file
    are about to be deleted, so references must resolve in the file itself.
    """
    for name, sheet in parsed.items():
        for fk in sheet.spec.foreign_keys:
            if fk.column not in sheet.present or fk.parent in broken:
                continue
            parent = SHEETS[fk.parent]
            values = sheet.columns[fk.column]
            in_file = set(parsed[fk.parent].columns["id"]) if fk.parent in parsed else set()
            wanted = {x for x in values if x is not None and x not in in_file}
            if not wanted:
                continue
            missing = wanted if (replace and fk.parent in parsed) else wanted - _ids_in_db(conn, parent.table, wanted)
            if not missing:
                continue
            parent_empty = conn.execute(select(parent.table.c.id).limit(1)).first() is None
            if fk.parent not in parsed and parent_empty:
                errors.append(
                    RowError(
                        name, None, fk.column,
                        f"{fk.parent} 시트가 없고 데이터베이스에도 {parent.what} 정보가 없어 {fk.column} 값을 확인할 수 없습니다."
                        f" {fk.parent} 시트를 함께 넣어 주세요",
                    )
                )
                continue
            for i, x in enumerate(values):
                if x in missing:
                    errors.append(
                        RowError(
                            name, sheet.rows[i], fk.column,
                            f"없는 {parent.what} id({x})입니다. "
                            + (f"{fk.parent} 시트에 없습니다 (--replace는 시트에 없는 행을 지웁니다)"
                               if replace and fk.parent in parsed else f"{fk.parent} 시트에도 데이터베이스에도 없습니다"),
                        )
                    )
    if "shop_menu" not in broken:
        _check_order_menus(conn, parsed, errors)


def _check_order_menus(conn: Connection, parsed: dict[str, _ParsedSheet], errors: list[RowError]) -> None:
    """An order's menu must be a menu of the order's shop."""
    orders = parsed.get("product_order")
    if orders is None or "menu_id" not in orders.present:
        return
    menu_shop: dict[int, int] = {}
    if "shop_menu" in parsed:
        menus = parsed["shop_menu"]
        menu_shop = {
            m: s for m, s in zip(menus.columns["id"], menus.columns["shop_id"], strict=False) if m is not None and s is not None
        }
    pending = {m for m in orders.columns["menu_id"] if m is not None and m not in menu_shop}
    if pending:
        menu_shop.update(_menu_shops_in_db(conn, pending))
    for i, (menu, shop) in enumerate(zip(orders.columns["menu_id"], orders.columns["shop_id"], strict=False)):
        if menu is None or shop is None or menu not in menu_shop:
            continue  # unknown menus are reported by the foreign-key check
        owner = menu_shop[menu]
        if owner != shop:
            errors.append(
                RowError(
                    "product_order", orders.rows[i], "menu_id",
                    f"메뉴 id({menu})는 가게 {owner}의 메뉴입니다. 이 주문의 가게(shop_id {shop})와 다릅니다",
                )
            )
