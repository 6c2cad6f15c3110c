"""Copy a prepared SQLite world (data, registry, conversations) into a PostgreSQL database for `make run-prod`.

The load benchmark compares `make run` (SQLite, one worker) with `make run-prod`
(PostgreSQL + Redis, several workers) on the same world and the same models:
the registry rows point at the same model folders. The target database is
created if missing and must be empty; the schema comes from the migrations.

    .venv/bin/python benchmarks/copy_world.py var/w1500/naviyam.db \\
        "postgresql+psycopg://postgres@127.0.0.1:5432/i18_prod?connect_timeout=3"
"""

from __future__ import annotations

import argparse
import sys
import time

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from naviyam.db.models import Base
from naviyam.db.session import make_engine, migrate

CHUNK = 5000


def ensure_database(url: str) -> None:
    target = make_url(url)
    admin = make_engine(target.set(database="postgres").render_as_string(hide_password=False),
                        isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database}) is None:
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sqlite_file")
    ap.add_argument("database_url")
    args = ap.parse_args()
    t0 = time.monotonic()
    ensure_database(args.database_url)
    src = make_engine(f"sqlite:///{args.sqlite_file}")
    dst = make_engine(args.database_url)
    migrate(dst)
    tables = [t for t in Base.metadata.sorted_tables if t.name != "alembic_version"]
    with dst.connect() as conn:
        filled = [t.name for t in tables if conn.scalar(select(func.count()).select_from(t))]
    if filled:
        print(f"the target database is not empty ({', '.join(filled)}): use a new database", file=sys.stderr)
        return 1
    with src.connect() as read, dst.begin() as write:
        for table in tables:
            rows = read.execute(select(table)).mappings()
            n = 0
            while batch := rows.fetchmany(CHUNK):
                write.execute(table.insert(), [dict(r) for r in batch])
                n += len(batch)
            pk = [c for c in table.primary_key.columns if c.autoincrement is True]
            if n and pk:  # serial ids continue after the copied ones
                write.execute(text(f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', '{pk[0].name}'), "
                                   f"(SELECT max(\"{pk[0].name}\") FROM \"{table.name}\"))"))
            print(f"{table.name}: {n}")
    print(f"copied in {time.monotonic() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
