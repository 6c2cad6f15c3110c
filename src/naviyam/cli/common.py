"""What every ``naviyam`` command that touches data opens first: the database (migrated) and the model registry."""

from __future__ import annotations

from sqlalchemy import Engine

from naviyam.config import get_settings
from naviyam.core.registry import ModelRegistry
from naviyam.db.session import get_engine, migrate


def open_db() -> Engine:
    """The configured database, with the schema brought up to date."""
    engine = get_engine()
    migrate(engine)
    return engine


def open_registry() -> tuple[Engine, ModelRegistry]:
    """(engine, registry) of the configured database and models folder."""
    engine = open_db()
    return engine, ModelRegistry(engine, get_settings().models_dir)
