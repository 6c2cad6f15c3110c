from sqlalchemy import inspect, text

from naviyam.db.models import Base
from naviyam.db.session import downgrade, migrate, table_names

EXPECTED = {"shop", "shop_menu", "brand", "user", "product_order", "userfavorite", "review",
            "interaction", "feedback_event", "model_version", "alert", "chat_session"}


def test_migration_creates_every_table_of_the_design(engine):
    assert EXPECTED <= table_names(engine)


def test_migrated_columns_match_the_models(engine):
    insp = inspect(engine)
    for table in Base.metadata.sorted_tables:
        db_cols = {c["name"] for c in insp.get_columns(table.name)}
        assert db_cols == set(table.columns.keys()), table.name


def test_migrate_is_idempotent_and_reversible(engine):
    migrate(engine)  # second run is a no-op
    assert EXPECTED <= table_names(engine)
    downgrade(engine, "base")
    assert not (EXPECTED & table_names(engine))
    migrate(engine)
    assert EXPECTED <= table_names(engine)


def test_sqlite_file_runs_in_wal_mode(sqlite_engine):
    with sqlite_engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
