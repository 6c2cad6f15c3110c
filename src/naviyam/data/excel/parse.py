"""Parsing sheets: header matching, every cell parsed and checked against its column's spec."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl.utils import get_column_letter

from naviyam.data import validation as v
from naviyam.data.excel.read import _ooxml_unescape, _RawSheet
from naviyam.data.excel.schema import _CACHED_KINDS, _PARSERS, ColumnSpec, SheetSpec
from naviyam.data.validation import RowError


@dataclass
class _ParsedSheet:
    spec: SheetSpec
    rows: list[int]  # Excel row number of each data row
    columns: dict[str, list[Any]]  # every spec column, parsed (None where invalid)
    present: set[str]

    def __len__(self) -> int:
        return len(self.rows)


def _norm_name(name: Any) -> str:
    return str(name).strip().lower()


def _column_label(index: int) -> str:
    return f"{get_column_letter(index + 1)}열({index + 1}번째)"


def _parse_sheet(
    raw: _RawSheet, spec: SheetSpec, errors: list[RowError], warnings: list[RowError]
) -> _ParsedSheet | None:
    sheet = spec.name
    if not raw.rows:
        warnings.append(RowError(sheet, None, None, "시트가 비어 있어 건너뛰었습니다"))
        return None
    first_number, header = raw.rows[0]
    if first_number != 1:
        errors.append(
            RowError(sheet, 1, None, f"첫 행(머리글)이 비어 있습니다. 첫 행에 열 이름({', '.join(spec.column_names)})을 적어 주세요")
        )
        return None

    index = _header_index(sheet, header, spec, errors, warnings)
    if index is None:
        return None
    numbers, body = _body(sheet, header, raw.rows[1:], warnings)
    columns: dict[str, list[Any]] = {}
    for col in spec.columns:
        if col.name not in index:
            columns[col.name] = [col.default] * len(body)
            continue
        i = index[col.name]
        cells = [r[i] if i < len(r) else None for r in body]
        if raw.xlsx and col.kind in ("str", "text"):
            cells = [_ooxml_unescape(c) if type(c) is str and "_x" in c else c for c in cells]
        columns[col.name] = _parse_column(cells, numbers, col, spec, errors)
    return _ParsedSheet(spec, numbers, columns, set(index))


def _header_index(sheet: str, header: Sequence[Any], spec: SheetSpec, errors: list[RowError],
                  warnings: list[RowError]) -> dict[str, int] | None:
    """Column name -> position in the header row; None (an error told) when no known column is there."""
    index: dict[str, int] = {}
    for i, h in enumerate(header):
        if v.is_blank(h):
            continue
        key = _norm_name(h)
        if key in index:
            errors.append(
                RowError(
                    sheet, 1, key,
                    f"같은 이름의 열이 두 번 있습니다({_column_label(index[key])}, {_column_label(i)}). 하나만 남겨 주세요",
                )
            )
        elif key in spec.column_names:
            index[key] = i
        else:
            warnings.append(RowError(sheet, 1, str(h).strip(), "알 수 없는 열이라서 무시했습니다"))
    if not index:
        errors.append(
            RowError(
                sheet, 1, None,
                f"첫 행에서 열 이름을 찾지 못했습니다. 첫 행은 머리글({', '.join(spec.column_names)})이어야 합니다",
            )
        )
        return None
    for col in spec.columns:
        if col.required and col.name not in index:
            errors.append(RowError(sheet, 1, col.name, f"필수 열이 없습니다. 첫 행(머리글)에 '{col.name}' 열을 추가해 주세요"))
    return index


def _body(sheet: str, header: Sequence[Any], rows: Sequence[tuple[int, Sequence[Any]]],
          warnings: list[RowError]) -> tuple[list[int], list[Sequence[Any]]]:
    """(Excel row numbers, rows) below the header; values in columns without a header are a warning."""
    width = len(header)
    numbers: list[int] = []
    body: list[Sequence[Any]] = []
    stray: set[int] = set()
    for number, row in rows:
        numbers.append(number)
        if len(row) > width:
            stray.update(i for i in range(width, len(row)) if not v.is_blank(row[i]))
        body.append(row)
    for i in sorted(stray)[:5]:
        warnings.append(RowError(sheet, None, None, f"머리글이 없는 {_column_label(i)}의 값은 무시했습니다"))
    for i, h in enumerate(header):
        if v.is_blank(h) and any(i < len(r) and not v.is_blank(r[i]) for r in body):
            warnings.append(RowError(sheet, None, None, f"머리글이 없는 {_column_label(i)}의 값은 무시했습니다"))
    return numbers, body


def _parse_column(
    cells: list[Any], numbers: list[int], col: ColumnSpec, spec: SheetSpec, errors: list[RowError]
) -> list[Any]:
    parse = _PARSERS[col.kind]
    domain = col.domain
    max_len = spec.max_length(col.name) if col.kind in ("str", "text") else None
    cache: dict[tuple[type, Any], v.Parsed] | None = {} if col.kind in _CACHED_KINDS else None
    out: list[Any] = [col.default] * len(cells)
    sheet, name = spec.name, col.name
    for i, cell in enumerate(cells):
        if cell is None or v.is_blank(cell):
            if col.required:
                errors.append(RowError(sheet, numbers[i], name, "값이 비어 있습니다. 꼭 채워야 하는 칸입니다"))
            continue
        if cache is not None:
            key = (type(cell), cell)
            hit = cache.get(key)
            if hit is None:
                hit = cache[key] = _parse_cell(cell, parse, domain, max_len)
            value, message = hit
        else:
            value, message = _parse_cell(cell, parse, domain, max_len)
        if message is not None:
            errors.append(RowError(sheet, numbers[i], name, message))
            out[i] = None
        elif value is None and col.required:
            errors.append(RowError(sheet, numbers[i], name, "값이 비어 있습니다. 꼭 채워야 하는 칸입니다"))
            out[i] = None
        else:
            out[i] = col.default if value is None else value
    return out


def _parse_cell(cell: Any, parse: Callable[[Any], v.Parsed], domain, max_len: int | None) -> v.Parsed:
    value, message = parse(cell)
    if message is not None:
        return None, message
    if isinstance(value, str) and not value.strip():
        return None, None
    if domain is not None:
        value, message = domain(value)
        if message is not None:
            return None, message
    if max_len is not None and value is not None and len(value) > max_len:
        return None, f"글자 수({len(value)}자)가 최대 {max_len}자를 넘습니다"
    return value, None
