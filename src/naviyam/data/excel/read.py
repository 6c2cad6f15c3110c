"""Reading the workbook: .xlsx sheets (openpyxl, read-only) or one CSV file per sheet."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl

from naviyam.data import validation as v
from naviyam.data.validation import RowError


@dataclass
class _RawSheet:
    """A sheet as read: its non-blank rows with their Excel row numbers."""

    title: str
    rows: list[tuple[int, Sequence[Any]]] = field(default_factory=list)
    xlsx: bool = False  # text cells may carry OOXML "_xHHHH_" escapes


_OOXML_ESCAPE_RE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_OOXML_LITERAL_RE = re.compile(r"_(x[0-9A-Fa-f]{4}_)")
#: Characters a worksheet cannot hold as such (XML control characters, and CR, which XML turns into LF).
_OOXML_UNSAFE_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\r]")


def _ooxml_unescape(text: str) -> str:
    """Excel's "_x000D_" notation back to characters (Excel writes CR that way; so does the export)."""
    return _OOXML_ESCAPE_RE.sub(lambda m: chr(int(m[1], 16)), text)


def _ooxml_escape(text: str) -> str:
    """Inverse of :func:`_ooxml_unescape`: a literal "_x0041_" becomes "_x005F_x0041_", CR "_x000D_"."""
    if "_x" in text:
        text = _OOXML_LITERAL_RE.sub(r"_x005F_\1", text)
    return _OOXML_UNSAFE_RE.sub(lambda m: f"_x{ord(m[0]):04X}_", text)


class _FileProblem(Exception):
    def __init__(self, message: str, sheet: str = "-", row: int | None = None):
        super().__init__(message)
        self.error = RowError(sheet, row, None, message)


def _blank_row(row: Sequence[Any]) -> bool:
    for x in row:
        if x is not None and not v.is_blank(x):
            return False
    return True


def _read_xlsx(path: Path, wanted: Callable[[str], bool]) -> list[_RawSheet]:
    with path.open("rb") as fh:
        magic = fh.read(8)
    if magic.startswith(b"\xd0\xcf\x11\xe0"):
        raise _FileProblem(
            "예전 엑셀 형식(.xls)이거나 암호가 걸린 파일이라 읽을 수 없습니다. 암호를 풀고 .xlsx 형식으로 다시 저장해 주세요"
        )
    if not magic.startswith(b"PK"):
        raise _FileProblem("엑셀(.xlsx) 파일이 아닙니다. 엑셀에서 .xlsx 형식으로 저장한 파일이나 CSV 폴더를 넣어 주세요")
    try:
        with zipfile.ZipFile(path):
            pass
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise _FileProblem(f"엑셀 파일이 손상되어 열 수 없습니다({type(exc).__name__}). 엑셀에서 다시 저장해 주세요") from exc

    sheets: list[_RawSheet] = []
    # A file object, not the path: openpyxl would refuse names not ending in .xlsx.
    with path.open("rb") as fh:
        try:
            wb = openpyxl.load_workbook(fh, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds on garbage; all mean "unreadable"
            raise _FileProblem(
                f"엑셀 파일을 열 수 없습니다({type(exc).__name__}). 엑셀에서 .xlsx 형식으로 다시 저장해 주세요"
            ) from exc
        try:
            for ws in wb.worksheets:
                raw = _RawSheet(ws.title, xlsx=True)
                sheets.append(raw)
                if not wanted(ws.title):
                    continue
                if hasattr(ws, "reset_dimensions"):
                    # A wrong <dimension> element would silently cut rows: read what is really there.
                    ws.reset_dimensions()
                try:
                    for number, row in enumerate(ws.iter_rows(values_only=True), start=1):
                        if row and not _blank_row(row):
                            raw.rows.append((number, row))
                except Exception as exc:
                    raise _FileProblem(
                        f"'{ws.title}' 시트를 읽는 중 파일이 손상된 부분을 만났습니다({type(exc).__name__})."
                        " 엑셀에서 다시 저장해 주세요"
                    ) from exc
        finally:
            wb.close()
    return sheets


def _read_csv(path: Path) -> _RawSheet:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _FileProblem(f"'{path.name}' 파일을 읽을 수 없습니다: {exc.strerror or exc}") from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _FileProblem(
            f"'{path.name}' 파일이 UTF-8이 아닙니다(CP949/EUC-KR로 저장된 것 같습니다)."
            " 엑셀의 'CSV UTF-8' 형식으로 다시 저장해 주세요"
        ) from exc
    raw = _RawSheet(path.stem)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for number, row in enumerate(reader, start=1):
            if row and not _blank_row(row):
                raw.rows.append((number, row))
    except csv.Error as exc:
        raise _FileProblem(f"'{path.name}' 파일 {reader.line_num}번째 줄을 CSV로 읽을 수 없습니다: {exc}") from exc
    return raw


def _read_source(path: Path, wanted: Callable[[str], bool]) -> list[_RawSheet]:
    if not path.exists():
        raise _FileProblem(f"파일이나 폴더를 찾을 수 없습니다: {path}")
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() == ".csv")
        if not files:
            raise _FileProblem(f"폴더에 CSV 파일이 없습니다: {path} (shop.csv, shop_menu.csv 같은 파일이 있어야 합니다)")
        return [_read_csv(p) if wanted(p.stem) else _RawSheet(p.stem) for p in files]
    if path.suffix.lower() == ".csv":
        return [_read_csv(path)]
    return _read_xlsx(path, wanted)
