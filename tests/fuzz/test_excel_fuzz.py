"""The Excel/CSV importer under hostile files: nothing but ImportValidationError escapes, and every error
says where: a known sheet, and for a bad cell the Excel row (header = 1) and the column.

tests/data/test_excel.py already corrupts cells of a hand-made world; this
starts from a real export of a generated world and also breaks the files'
structure (headers, sheets, bytes), and checks the location of each error.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from naviyam.data.excel import SHEETS, ImportValidationError, export_workbook, import_workbook
from naviyam.db.models import OPERATOR_TABLES
from naviyam.db.session import make_engine, migrate

FUZZ = settings(max_examples=30, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
CELL_VALUES = st.one_of(
    st.none(), st.text(max_size=15), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(), st.datetimes(min_value=dt.datetime(1900, 3, 1)), st.dates(min_value=dt.date(1900, 3, 1)),
    st.times(), st.sampled_from(["", " ", "#REF!", "=A1*2", "1e999", "-0", "９", "NaN", "24:60", "월화수", "\x00"]),
)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A valid workbook exported from a small generated world, and an empty database to import into."""
    from naviyam.data.generate import generate_world

    folder = tmp_path_factory.mktemp("excel-fuzz")
    source = make_engine(f"sqlite:///{folder / 'source.db'}")
    migrate(source)
    generate_world(source, seed=9, shops=6, users=5, days=4)
    export_workbook(source, folder / "world.xlsx")
    source.dispose()
    target = make_engine(f"sqlite:///{folder / 'target.db'}")
    migrate(target)
    yield folder / "world.xlsx", target
    target.dispose()


def _clear(engine) -> None:
    with engine.begin() as conn:
        for model in reversed(OPERATOR_TABLES):
            conn.execute(delete(model))


def _import(engine, path: Path) -> ImportValidationError | None:
    try:
        import_workbook(engine, path)
    except ImportValidationError as exc:
        return exc
    _clear(engine)
    return None


def _assert_located(exc: ImportValidationError, *, cell_level: bool) -> None:
    assert exc.errors
    for e in exc.errors:
        assert e.message and isinstance(e.message, str)
        assert e.sheet == "-" or e.sheet in SHEETS, e
        if e.sheet == "-":
            assert e.row is None and e.column is None, e
        if cell_level:
            # Only cells were changed: every error is a cell of a real sheet, as Excel numbers it.
            assert e.sheet in SHEETS and isinstance(e.row, int) and e.row >= 2, e
            assert e.column in SHEETS[e.sheet].column_names, e
        assert str(e).startswith("파일" if e.sheet == "-" else f"{e.sheet} 시트"), str(e)


@FUZZ
@given(data=st.data())
def test_corrupted_cells_are_refused_with_sheet_row_and_column(exported, tmp_path_factory, data):
    workbook, engine = exported
    wb = openpyxl.load_workbook(workbook)
    for _ in range(data.draw(st.integers(1, 3), label="cells")):
        ws = wb[data.draw(st.sampled_from([s for s in wb.sheetnames if wb[s].max_row >= 2]), label="sheet")]
        row = data.draw(st.integers(2, ws.max_row), label="row")
        col = data.draw(st.integers(1, ws.max_column), label="column")
        value = data.draw(CELL_VALUES, label="value")
        if isinstance(value, str):
            value = "".join(ch for ch in value if ch.isprintable())  # a worksheet cannot hold control chars
        if isinstance(value, float) and value != value:
            value = "NaN"
        if isinstance(value, float) and value in (float("inf"), float("-inf")):
            value = "inf"
        ws.cell(row=row, column=col, value=value)
    path = tmp_path_factory.mktemp("cells") / "w.xlsx"
    wb.save(path)
    exc = _import(engine, path)
    if exc is not None:
        _assert_located(exc, cell_level=True)


def _restructure(wb, data) -> None:
    action = data.draw(st.sampled_from(["drop_column", "rename_header", "swap_columns", "delete_sheet",
                                        "rename_sheet", "duplicate_sheet", "blank_header", "garbage_rows",
                                        "header_only", "extra_column"]), label="action")
    ws = wb[data.draw(st.sampled_from(wb.sheetnames), label="sheet")]
    col = data.draw(st.integers(1, max(1, ws.max_column)), label="column")
    if action == "drop_column":
        ws.delete_cols(col)
    elif action == "rename_header":
        ws.cell(row=1, column=col, value=data.draw(st.text(min_size=1, max_size=10).filter(str.isprintable)))
    elif action == "swap_columns" and ws.max_column >= 2:
        other = data.draw(st.integers(1, ws.max_column), label="other")
        for r in range(1, ws.max_row + 1):
            a, b = ws.cell(row=r, column=col), ws.cell(row=r, column=other)
            a.value, b.value = b.value, a.value
    elif action == "delete_sheet" and len(wb.sheetnames) > 1:
        del wb[ws.title]
    elif action == "rename_sheet":
        ws.title = data.draw(st.sampled_from(["Sheet1", "가게", "SHOP_MENU", " review ", "users"]), label="title")
    elif action == "duplicate_sheet":
        wb.copy_worksheet(ws).title = ws.title.upper()
    elif action == "blank_header":
        for c in range(1, ws.max_column + 1):
            ws.cell(row=1, column=c, value=None)
    elif action == "garbage_rows":
        for _ in range(data.draw(st.integers(1, 3))):
            ws.append(data.draw(st.lists(st.one_of(st.none(), st.integers(), st.text(max_size=5).filter(
                str.isprintable)), max_size=ws.max_column + 2)))
    elif action == "header_only":
        ws.delete_rows(2, ws.max_row)
    elif action == "extra_column":
        ws.cell(row=1, column=ws.max_column + 1, value="memo")


@FUZZ
@given(data=st.data())
def test_broken_structure_never_escapes_and_names_the_sheet(exported, tmp_path_factory, data):
    workbook, engine = exported
    wb = openpyxl.load_workbook(workbook)
    for _ in range(data.draw(st.integers(1, 3), label="changes")):
        _restructure(wb, data)
    path = tmp_path_factory.mktemp("structure") / "w.xlsx"
    wb.save(path)
    exc = _import(engine, path)
    if exc is not None:
        _assert_located(exc, cell_level=False)


@FUZZ
@given(cut=st.floats(0, 1), noise=st.binary(max_size=64), as_csv=st.booleans())
def test_damaged_bytes_are_a_file_error_not_a_crash(exported, tmp_path_factory, cut, noise, as_csv):
    workbook, engine = exported
    raw = workbook.read_bytes()
    folder = tmp_path_factory.mktemp("bytes")
    if as_csv:
        path = folder / "csv"
        path.mkdir()
        (path / "shop.csv").write_bytes("id,name\n1,가게\n".encode("cp949") + noise)
    else:
        path = folder / "w.xlsx"
        path.write_bytes(raw[: int(len(raw) * cut)] + noise)
    exc = _import(engine, path)
    if exc is not None:
        _assert_located(exc, cell_level=False)


def test_the_untouched_export_imports(exported, tmp_path):
    workbook, engine = exported
    shutil.copy(workbook, tmp_path / "w.xlsx")
    assert _import(engine, tmp_path / "w.xlsx") is None
