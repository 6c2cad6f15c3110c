"""Operator data: sample-world generator, Excel/CSV import and export, validation."""
