"""Importing: all checks first, then upserts (or a replace) in one transaction, data versions bumped."""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, bindparam, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from naviyam.data.excel.check import _IN_CHUNK, _check_ids, _check_references
from naviyam.data.excel.parse import _norm_name, _parse_sheet, _ParsedSheet
from naviyam.data.excel.read import _FileProblem, _RawSheet, _read_source
from naviyam.data.excel.results import ImportResult, ImportValidationError, SheetChanges
from naviyam.data.excel.schema import CHUNK_SIZE, INSERT_ORDER, SHEET_ORDER, SHEETS
from naviyam.data.validation import RowError
from naviyam.db.data_versions import LEXICON, LEXICON_COLUMNS, OPERATOR_ASPECTS, bump
from naviyam.progress import Reporter

log = logging.getLogger(__name__)


class _DryRun(Exception):
    """Raised inside the import transaction to roll a validation run back."""


def import_workbook(engine: Engine, path: str | os.PathLike[str], *, chunk_size: int = CHUNK_SIZE,
                    replace: bool = False, dry_run: bool = False,
                    progress: Reporter | None = None) -> ImportResult:
    """Validate and import (upsert) an operator workbook (.xlsx), CSV folder or single CSV, all or nothing.

    Rows are matched by ``id`` (``meal_card_limit`` by ``district``): new ids are added, rows whose cells differ from the database are
    updated (only the columns the file has), identical rows are left alone. With ``replace`` the
    rows of each sheet in the file that the file no longer has are deleted, with what depends on
    them (see :func:`_replace`). ``dry_run`` checks everything, database constraints included,
    and writes nothing. ``progress(stage, done, total)`` is told how far each sheet is.

    ``path`` is an .xlsx workbook whose sheets are named after the tables
    (``shop``, ``shop_menu``, ``brand``, ``user``, ``product_order``,
    ``userfavorite``, ``review``, ``meal_card_limit``), a folder with one ``<sheet>.csv`` per
    table (UTF-8, BOM optional), or one such CSV file. A file may carry only
    some sheets; their foreign keys must then resolve in the file or in the
    database.

    Returns the number of rows read per sheet present in the file (an
    :class:`ImportResult`, a ``dict`` with ``.changes`` and ``.warnings``). Raises
    :class:`ImportValidationError` with every problem found; then nothing
    has been written.
    """
    path = Path(path)
    warnings: list[RowError] = []
    errors: list[RowError] = []
    try:
        raws = _read_source(path, lambda title: _norm_name(title) in SHEETS)
    except _FileProblem as exc:
        raise ImportValidationError([exc.error]) from exc
    chosen = _choose_sheets(raws, errors, warnings)
    parsed, broken = _parse_sheets(chosen, errors, warnings)
    for w in warnings:
        log.warning("import %s: %s", path.name, w)
    if not parsed:
        raise ImportValidationError(errors, warnings)
    counts, changes = _write(engine, parsed, broken, errors, warnings, chunk_size=chunk_size, replace=replace,
                             dry_run=dry_run, progress=progress)
    log.info("%s %s: %s", "checked" if dry_run else "imported", path.name,
             {k: c.to_dict() for k, c in changes.items()})
    order = [k for k in SHEET_ORDER if k in changes]
    return ImportResult({k: counts[k] for k in SHEET_ORDER if k in counts}, warnings,
                        {k: changes[k] for k in order}, dry_run=dry_run)


def _choose_sheets(raws: list[_RawSheet], errors: list[RowError], warnings: list[RowError]) -> dict[str, _RawSheet]:
    """The file's sheets by table name; an unknown sheet is a warning, two sheets of one table an error."""
    seen: dict[str, str] = {}
    chosen: dict[str, _RawSheet] = {}
    for raw in raws:
        key = _norm_name(raw.title)
        if key not in SHEETS:
            warnings.append(RowError(raw.title, None, None, "알 수 없는 시트라서 가져오지 않았습니다"))
            continue
        if key in seen:
            errors.append(
                RowError(key, None, None, f"같은 이름의 시트가 두 개 있습니다('{seen[key]}', '{raw.title}'). 하나만 남겨 주세요")
            )
            continue
        seen[key] = raw.title
        chosen[key] = raw
    if not chosen and not errors:
        errors.append(
            RowError("-", None, None, f"가져올 시트가 없습니다. 시트 이름은 {', '.join(SHEET_ORDER)} 중 하나여야 합니다")
        )
    return chosen


def _parse_sheets(chosen: dict[str, _RawSheet], errors: list[RowError],
                  warnings: list[RowError]) -> tuple[dict[str, _ParsedSheet], set[str]]:
    """(parsed sheets, sheets present but unusable: no header or no id column, reported already)."""
    parsed: dict[str, _ParsedSheet] = {}
    broken: set[str] = set()
    for key in SHEET_ORDER:
        if key in chosen:
            sheet = _parse_sheet(chosen[key], SHEETS[key], errors, warnings)
            if sheet is not None:
                parsed[key] = sheet
                if SHEETS[key].key not in sheet.present:
                    broken.add(key)
            elif chosen[key].rows:
                broken.add(key)
    if not parsed and not errors:
        errors.append(RowError("-", None, None, "가져올 데이터가 없습니다. 모든 시트가 비어 있습니다"))
    return parsed, broken


def _write(engine: Engine, parsed: dict[str, _ParsedSheet], broken: set[str], errors: list[RowError],
           warnings: list[RowError], *, chunk_size: int, replace: bool, dry_run: bool,
           progress: Reporter | None) -> tuple[dict[str, int], dict[str, SheetChanges]]:
    """Check keys against each other and the database, then upsert (or replace) in one transaction.

    Returns (rows per sheet, changes per sheet); raises :class:`ImportValidationError` on any error
    (a database error included) with nothing written. ``dry_run`` rolls back after everything ran.
    """
    current = "-"
    counts: dict[str, int] = {}
    changes: dict[str, SheetChanges] = {}
    try:
        with engine.begin() as conn:
            # Cell errors do not stop these checks: the operator gets every problem at once.
            _check_ids(parsed, errors)
            _check_references(conn, parsed, broken, errors, replace=replace)
            if errors:
                raise ImportValidationError(errors, warnings)
            for key in INSERT_ORDER:
                if key not in parsed:
                    continue
                current = key
                counts[key] = len(parsed[key])
                changes[key] = _upsert(conn, parsed[key], chunk_size, progress)
            if replace:
                current = "-"
                _replace(conn, parsed, changes)
            _bump_data_versions(conn, changes)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    except SQLAlchemyError as exc:
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:300]
        raise ImportValidationError(
            [RowError(current, None, None, f"데이터베이스 오류로 아무것도 저장하지 않았습니다: {detail}")],
            warnings,
        ) from exc
    return counts, changes


def _existing(conn: Connection, table: Table, names: list[str], ids: list[Any], key: str = "id") -> dict[Any, tuple]:
    """The database's values of ``names`` for those of ``ids`` (values of the ``key`` column) that exist, by key."""
    out: dict[Any, tuple] = {}
    cols = [table.c[n] for n in names]
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start : start + _IN_CHUNK]
        for row in conn.execute(select(table.c[key], *cols).where(table.c[key].in_(chunk))):
            out[row[0]] = tuple(row[1:])
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(a)))
    if isinstance(a, dt.datetime) and isinstance(b, dt.datetime):
        return a.replace(tzinfo=None) == b.replace(tzinfo=None)
    return a == b


def _lexicon_columns(sheet: str) -> set[str]:
    return LEXICON_COLUMNS.get(sheet, set())


def _bump_data_versions(conn: Connection, changes: dict[str, SheetChanges]) -> None:
    """Tell the models what moved: every table with a change, and the NLU's words when names came or went."""
    aspects = {k for k, c in changes.items() if c.touched and k in OPERATOR_ASPECTS}
    if any(k in LEXICON_COLUMNS and (c.renamed or c.added or c.deleted or c.cascaded) for k, c in changes.items()):
        aspects.add(LEXICON)
    if aspects:
        bump(conn, aspects, "import")


def _upsert(conn: Connection, sheet: _ParsedSheet, chunk_size: int,
            progress: Reporter | None) -> SheetChanges:
    """Insert the sheet's new keys (ids), update its changed rows (the file's columns only), count the rest."""
    table = sheet.spec.table
    names = sheet.spec.column_names
    key_column = sheet.spec.key
    ids = sheet.columns[key_column]
    stage = f"{sheet.spec.name} 가져오는 중"
    total = len(sheet)
    if progress is not None:
        progress(stage, 0, total)
    compared = [n for n in names if n != key_column and n in sheet.present]
    done = 0
    changes = SheetChanges()
    for start in range(0, total, chunk_size):
        stop = min(total, start + chunk_size)
        existing = _existing(conn, table, compared, ids[start:stop], key_column)
        new_rows, updates = [], []
        for i in range(start, stop):
            key = ids[i]
            old = existing.get(key)
            if old is None:
                new_rows.append(tuple(sheet.columns[n][i] for n in names))
                continue
            values = {n: sheet.columns[n][i] for n in compared}
            differs = [n for n, o in zip(compared, old, strict=False) if not _same(values[n], o)]
            if not differs:
                changes.unchanged += 1
            else:
                updates.append({"_key": key, **values})
                changes.renamed = changes.renamed or bool(set(differs) & _lexicon_columns(sheet.spec.name))
        if new_rows:
            _insert_rows(conn, table, names, new_rows)
            changes.added += len(new_rows)
        if updates:
            conn.execute(table.update().where(table.c[key_column] == bindparam("_key")), updates)
            changes.changed += len(updates)
        done = stop
        if progress is not None:
            progress(stage, done, total)
    return changes


def _replace(conn: Connection, parsed: dict[str, _ParsedSheet], changes: dict[str, SheetChanges]) -> None:
    """``--replace``: delete the rows of each sheet in the file that the file does not have.

    What depends on a deleted row goes with it when its reference is required (a deleted shop's
    menus, orders, favourites and reviews; a deleted user's orders, favourites and reviews), and
    keeps living with the reference emptied when it is optional (an order whose menu was deleted,
    a shop whose brand was deleted). Sheets absent from the file are never emptied for their own sake.
    """
    doomed: dict[str, set[Any]] = {}
    for key in INSERT_ORDER:
        if key in parsed:
            table, key_column = SHEETS[key].table, SHEETS[key].key
            keep = {x for x in parsed[key].columns[key_column] if x is not None}
            gone = set(conn.execute(select(table.c[key_column])).scalars()) - keep
            doomed[key] = gone
            changes[key].deleted = len(gone)
    detach: list[tuple[str, str, set[int]]] = []
    for key in INSERT_ORDER:  # parents first, so a cascade reaches grandchildren
        spec = SHEETS[key]
        for fk in spec.foreign_keys:
            parents = doomed.get(fk.parent)
            if not parents:
                continue
            col = spec.table.c[fk.column]
            hit: set[int] = set()
            items = sorted(parents)
            for start in range(0, len(items), _IN_CHUNK):
                hit.update(conn.execute(select(spec.table.c[spec.key]).where(col.in_(items[start : start + _IN_CHUNK])))
                           .scalars())
            hit -= doomed.get(key, set())
            if not hit:
                continue
            required = next(c.required for c in spec.columns if c.name == fk.column)
            entry = changes.setdefault(key, SheetChanges())
            if required:
                doomed.setdefault(key, set()).update(hit)
                entry.cascaded += len(hit)
            else:
                detach.append((key, fk.column, hit))
                entry.detached += len(hit)
    for key, column, rows in detach:
        table, key_column = SHEETS[key].table, SHEETS[key].key
        items = sorted(rows - doomed.get(key, set()))
        for start in range(0, len(items), _IN_CHUNK):
            conn.execute(table.update().where(table.c[key_column].in_(items[start : start + _IN_CHUNK]))
                         .values({column: None}))
    for key in reversed(INSERT_ORDER):  # children first
        items = sorted(doomed.get(key, ()))
        table, key_column = SHEETS[key].table, SHEETS[key].key
        for start in range(0, len(items), _IN_CHUNK):
            conn.execute(table.delete().where(table.c[key_column].in_(items[start : start + _IN_CHUNK])))


def _insert_rows(conn: Connection, table: Table, names: list[str], rows: list[tuple]) -> None:
    """Bulk-insert rows (tuples in ``names`` order) inside the caller's transaction.

    SQLAlchemy Core executemany everywhere, except PostgreSQL through
    psycopg 3, which gets ``COPY ... FROM STDIN`` (psycopg would otherwise
    send one pipelined INSERT per row: several times slower).
    """
    copy_into = _pg_copy(conn, table, names)
    if copy_into is not None:
        copy_into(rows)
    else:
        conn.execute(table.insert(), [dict(zip(names, values, strict=False)) for values in rows])


def _pg_copy(conn: Connection, table: Table, names: list[str]) -> Callable[[Iterable[tuple]], None] | None:
    if conn.dialect.name != "postgresql" or conn.dialect.driver != "psycopg":
        return None
    prep = conn.dialect.identifier_preparer
    sql = f"COPY {prep.format_table(table)} ({', '.join(prep.quote(n) for n in names)}) FROM STDIN"
    raw = conn.connection.driver_connection

    dbapi_error = conn.dialect.loaded_dbapi.Error

    def copy_into(rows: Iterable[tuple]) -> None:
        try:
            with raw.cursor() as cur, cur.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)
        except dbapi_error as exc:  # surface driver errors the way SQLAlchemy would
            raise DBAPIError.instance(sql, None, exc, dbapi_error, dialect=conn.dialect) from exc

    return copy_into
