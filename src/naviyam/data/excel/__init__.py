"""Excel (.xlsx) and CSV import and export of the operator's tables.

The operator's workbook has one sheet per table (README, section 4): shop, shop_menu, brand, user, product_order,
userfavorite, review and meal_card_limit. A folder holding one CSV file per sheet (``shop.csv``,
...) works the same way.

Import (:func:`import_workbook`) is all or nothing:

1. every sheet is read (sheet and column names matched case-insensitively,
   surrounding spaces ignored; unknown sheets and columns become warnings);
2. every cell of every row is parsed and checked (types, required values,
   ranges, taxonomy categories, Seoul districts, times, weekdays, ...);
3. inside one database transaction, keys are checked against each other and
   against the database (duplicates within a sheet, foreign keys that must
   resolve within the file or in the database — within the file alone for a
   parent sheet under ``replace`` — an order's menu belonging to the order's shop);
4. only when nothing at all is wrong are the rows upserted by key in chunks:
   new keys bulk-inserted (SQLAlchemy Core executemany; ``COPY`` on PostgreSQL),
   changed rows updated (the file's columns only), identical rows left alone;
   with ``replace`` the rows the file no longer has are deleted with their
   dependants; all still in that same transaction, so a database error
   half-way rolls everything back (``dry_run`` always rolls back).

Cells are parsed by small per-type functions with fast paths for the types
openpyxl and the CSV reader produce, and each distinct value of repetitive
columns (booleans, times, categories, ...) is parsed once; reading the .xlsx
itself (openpyxl) is most of the time of a large import.

Any problem raises :class:`ImportValidationError` listing every
:class:`~naviyam.data.validation.RowError` found (sheet, Excel row number,
column, Korean message); nothing is written. An id already in the database
is an update, not an error; every import that changes data bumps the data
versions the models compare with (:mod:`naviyam.db.data_versions`).

Export (:func:`export_workbook`) writes the same sheets with exactly the
README's columns, in a form that imports back to identical rows.
"""

from naviyam.data.excel.export import export_workbook
from naviyam.data.excel.results import ImportResult, ImportValidationError, SheetChanges
from naviyam.data.excel.schema import SHEET_ORDER, SHEETS, ColumnSpec, SheetSpec
from naviyam.data.excel.write import import_workbook
from naviyam.data.validation import RowError

__all__ = [
    "ColumnSpec",
    "ImportResult",
    "ImportValidationError",
    "RowError",
    "SHEETS",
    "SHEET_ORDER",
    "SheetChanges",
    "SheetSpec",
    "export_workbook",
    "import_workbook",
]
