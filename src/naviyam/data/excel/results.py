"""What an import reports: changes per sheet, and the error listing every problem found."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from naviyam.data.excel.schema import SHEET_ORDER, SHEETS
from naviyam.data.validation import RowError


@dataclass
class SheetChanges:
    """What an import did to one table: rows added, changed, left as they were, deleted.

    ``cascaded`` counts rows deleted because what they belonged to was deleted (``--replace``:
    a deleted shop's menus, orders, favourites and reviews); ``detached`` counts rows kept with a
    reference emptied (an order whose menu was deleted keeps the order, without the menu).
    """

    added: int = 0
    changed: int = 0
    unchanged: int = 0
    deleted: int = 0
    cascaded: int = 0
    detached: int = 0
    #: a name, category, menu, dish or place the NLU knows was changed in an updated row
    renamed: bool = False

    def to_dict(self) -> dict[str, int]:
        return {k: int(v) for k, v in vars(self).items()}

    @property
    def touched(self) -> bool:
        return bool(self.added or self.changed or self.deleted or self.cascaded or self.detached)


class ImportResult(dict[str, int]):
    """Rows read per sheet; ``changes`` says what happened to each table, ``warnings`` what was ignored.

    ``dry_run`` is true for a validation run: everything was checked and nothing was written.
    """

    def __init__(self, counts: dict[str, int], warnings: Sequence[RowError] = (),
                 changes: dict[str, SheetChanges] | None = None, dry_run: bool = False):
        super().__init__(counts)
        self.warnings: list[RowError] = list(warnings)
        self.changes: dict[str, SheetChanges] = dict(changes or {})
        self.dry_run = dry_run


class ImportValidationError(Exception):
    """The file was refused and nothing was written; ``errors`` says why, row by row."""

    def __init__(self, errors: Sequence[RowError], warnings: Sequence[RowError] = ()):
        self.errors: list[RowError] = _sorted(errors)
        self.warnings: list[RowError] = list(warnings)
        head = "; ".join(str(e) for e in self.errors[:5])
        more = f" (외 {len(self.errors) - 5}건)" if len(self.errors) > 5 else ""
        super().__init__(f"가져오기 거부, 아무것도 저장하지 않았습니다: 문제 {len(self.errors)}건: {head}{more}")


def _sorted(errors: Iterable[RowError]) -> list[RowError]:
    def key(e: RowError) -> tuple:
        sheet = SHEET_ORDER.index(e.sheet) if e.sheet in SHEETS else (-1 if e.sheet == "-" else len(SHEETS))
        spec = SHEETS.get(e.sheet)
        col = spec.column_names.index(e.column) if spec and e.column in spec.column_names else -1
        return (sheet, e.sheet, e.row or 0, col, e.column or "")

    return sorted(errors, key=key)
