"""Exporting the tables to .xlsx or CSV, in a form that imports back to identical rows."""

from __future__ import annotations

import csv
import datetime as dt
import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy import Engine, select
from sqlalchemy.engine import Connection

from naviyam.data.excel.read import _OOXML_UNSAFE_RE, _ooxml_escape
from naviyam.data.excel.schema import EXCEL_MAX_ROWS, SHEET_ORDER, SHEETS, SheetSpec
from naviyam.progress import Reporter

log = logging.getLogger(__name__)


def _fmt_time(t: dt.time) -> str:
    if t.microsecond:
        return t.strftime("%H:%M:%S.%f")
    if t.second:
        return t.strftime("%H:%M:%S")
    return t.strftime("%H:%M")


def _export_value(value: Any, *, for_csv: bool) -> Any:
    """A database value as written to a cell; importing it gives the same value back."""
    if value is None:
        return None
    if isinstance(value, bool):
        if for_csv:
            return "TRUE" if value else "FALSE"
        return value
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return _fmt_time(value)
    return value


def _read_table(conn: Connection, spec: SheetSpec) -> Iterable[Sequence[Any]]:
    cols = [spec.table.c[n] for n in spec.column_names]
    return conn.execute(select(*cols).order_by(spec.table.c[spec.key]))


def export_workbook(engine: Engine, path: str | os.PathLike[str],
                    progress: Reporter | None = None) -> dict[str, int]:
    """Write every operator table to ``path``; returns the rows written per sheet.

    ``progress(stage, done, total)`` is told how far each sheet is.

    - ``path`` ending in ``.xlsx``: one workbook, one sheet per table.
    - an existing folder, or a path without a suffix: a folder (created when
      missing) with one UTF-8 (with BOM, so Excel shows Korean correctly)
      ``<sheet>.csv`` per table.
    - anything else (``.xls``, ``.csv``, ...) is refused with ``ValueError``.

    Columns are exactly the README's (section 4), in its order. Times are written "HH:MM"
    (seconds only when not zero), dates "YYYY-MM-DD", datetimes ISO
    "YYYY-MM-DD HH:MM:SS[.ffffff]" (as text, so no precision is lost),
    booleans as Excel TRUE/FALSE cells (CSV: TRUE/FALSE), empty values as
    empty cells. Importing the result into an empty database reproduces the
    same rows. Text that Excel would take for a formula (leading "=") is
    stored as text in the workbook; in CSV it is written as is. Carriage
    returns and control characters, which a worksheet cannot hold, are
    written in Excel's own "_x000D_" notation, which the import (and Excel)
    reads back. An empty optional text and a missing one both come back as
    empty (NULL); leading and trailing spaces of short text columns (names,
    addresses, ...) are trimmed on import, those of description and review
    text are kept.
    """
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        as_csv = False
    elif path.is_dir() or path.suffix == "":
        as_csv = True
    else:
        raise ValueError(f"export path must end in .xlsx or be a folder for CSV files, not {path.name!r}")
    counts: dict[str, int] = {}
    conn_opts = {"isolation_level": "REPEATABLE READ"} if engine.dialect.name == "postgresql" else {}
    with engine.connect() as conn:
        conn = conn.execution_options(**conn_opts) if conn_opts else conn
        with conn.begin():
            if as_csv:
                path.mkdir(parents=True, exist_ok=True)
                for i, name in enumerate(SHEET_ORDER, 1):
                    counts[name] = _write_csv(conn, SHEETS[name], path / f"{name}.csv")
                    if progress is not None:
                        progress("CSV 파일 쓰는 중", i, len(SHEET_ORDER))
            else:
                counts = _write_xlsx(conn, path, progress)
    log.info("exported %s: %s", path, counts)
    return counts


def _write_csv(conn: Connection, spec: SheetSpec, target: Path) -> int:
    tmp = target.with_name(target.name + ".tmp")
    n = 0
    with tmp.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(spec.column_names)
        for row in _read_table(conn, spec):
            writer.writerow(["" if x is None else _export_value(x, for_csv=True) for x in row])
            n += 1
    os.replace(tmp, target)
    return n


def _write_xlsx(conn: Connection, path: Path, progress: Reporter | None = None
                ) -> dict[str, int]:
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook(write_only=True)
    counts: dict[str, int] = {}
    bold = Font(bold=True)
    for name in SHEET_ORDER:
        spec = SHEETS[name]
        rows = list(_read_table(conn, spec))
        if len(rows) + 1 > EXCEL_MAX_ROWS:
            raise ValueError(
                f"{name}: {len(rows):,} rows do not fit in an Excel sheet ({EXCEL_MAX_ROWS - 1:,} at most);"
                " export to a CSV folder"
            )
        ws = wb.create_sheet(name)
        # Write-only sheets carry no <dimension>; without one, readers (openpyxl's read-only
        # mode included) scan the whole sheet once more just to size it.
        ref = f"A1:{get_column_letter(len(spec.column_names))}{len(rows) + 1}"
        ws.calculate_dimension = lambda ref=ref: ref
        for i, col in enumerate(spec.column_names, start=1):
            ws.column_dimensions[get_column_letter(i)].width = max(10, len(col) + 4)
        ws.freeze_panes = "A2"
        header = []
        for col in spec.column_names:
            cell = WriteOnlyCell(ws, value=col)
            cell.font = bold
            header.append(cell)
        ws.append(header)
        stage = f"{name} 내보내는 중"
        for n_row, row in enumerate(rows, 1):
            if progress is not None and (n_row % 5000 == 0 or n_row == len(rows)):
                progress(stage, n_row, len(rows))
            out: list[Any] = []
            for x in row:
                x = _export_value(x, for_csv=False)
                if isinstance(x, str):
                    if "_x" in x or _OOXML_UNSAFE_RE.search(x):
                        x = _ooxml_escape(x)
                    if x.startswith("=") or x in ERROR_CODES:
                        cell = WriteOnlyCell(ws, value=x)
                        cell.data_type = "s"  # text, not a formula or an error value
                        x = cell
                out.append(x)
            ws.append(out)
        counts[name] = len(rows)
    tmp = path.with_name(path.name + ".tmp")
    wb.save(tmp)
    os.replace(tmp, path)
    return counts
