"""Writing the world into an empty database (bulk inserts; COPY on PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import logging
import time

from sqlalchemy import Engine, Table, insert, select

from naviyam.data.world.catalogue import (
    DEFAULT_DAYS,
    DEFAULT_SEED,
    DEFAULT_SHOPS,
    DEFAULT_USERS,
    WorldNotEmptyError,
)
from naviyam.data.world.helpers import _report
from naviyam.data.world.world import build_world
from naviyam.db.data_versions import LEXICON, OPERATOR_ASPECTS, bump
from naviyam.db.models import (
    OPERATOR_TABLES,
    Brand,
    MealCardLimit,
    ProductOrder,
    Review,
    Shop,
    ShopMenu,
    User,
    UserFavorite,
)
from naviyam.progress import Reporter

log = logging.getLogger(__name__)


_TABLES: tuple[tuple[str, type], ...] = (
    ("brand", Brand), ("shop", Shop), ("shop_menu", ShopMenu), ("user", User), ("product_order", ProductOrder),
    ("userfavorite", UserFavorite), ("review", Review),
)
INSERT_CHUNK = 5000

#: The sample world's meal card amounts (원 per meal, per day) by 구: most 구 top the city's base up to 9,000원;
#: a few differ so that the per-district rule shows. Districts not listed get the settings default.
SAMPLE_MEAL_CARD_LIMITS: dict[str, tuple[int, int]] = {
    "송파구": (9_500, 28_500), "관악구": (9_000, 27_000), "동작구": (8_000, 24_000), "영등포구": (9_000, 27_000),
    "구로구": (8_500, 25_500), "금천구": (9_000, 27_000), "서초구": (9_000, 27_000), "강남구": (9_000, 27_000),
    "마포구": (9_000, 27_000), "중구": (7_000, 21_000), "종로구": (9_000, 27_000), "용산구": (9_000, 27_000),
}


def _copy_rows(conn, table: Table, rows: list[dict]) -> None:
    """PostgreSQL fast path: COPY FROM STDIN in the connection's open transaction."""
    if not rows:
        return
    cols = list(rows[0])
    prep = conn.dialect.identifier_preparer
    sql = f"COPY {prep.quote(table.name)} ({', '.join(prep.quote(c) for c in cols)}) FROM STDIN"
    with conn.connection.dbapi_connection.cursor() as cur, cur.copy(sql) as copy:
        for row in rows:
            copy.write_row([row[c] for c in cols])


def _non_empty_tables(conn) -> list[str]:
    found = []
    for model in OPERATOR_TABLES:
        table: Table = model.__table__
        if conn.execute(select(table.c.id).limit(1)).first() is not None:
            found.append(table.name)
    return found


def generate_world(engine: Engine, *, seed: int = DEFAULT_SEED, shops: int = DEFAULT_SHOPS,
                   users: int = DEFAULT_USERS, days: int = DEFAULT_DAYS, end_date: dt.date | None = None,
                   progress: Reporter | None = None) -> dict[str, int]:
    """Fill an empty database with a sample world; returns the rows written per table.

    Refuses (:class:`WorldNotEmptyError`) when any operator table already has
    rows. Everything is written in one transaction with chunked bulk inserts,
    so a failure leaves the database as it was.
    """
    t0 = time.perf_counter()
    with engine.connect() as conn:
        found = _non_empty_tables(conn)
    if found:
        raise WorldNotEmptyError(
            f"the database already has data in {', '.join(found)}; generate into an empty database "
            "(or drop and re-create it first)"
        )
    world = build_world(seed=seed, shops=shops, users=users, days=days, end_date=end_date, progress=progress)
    t1 = time.perf_counter()
    total = sum(len(rows) for rows in world.tables.values())
    done = 0
    with engine.begin() as conn:
        found = _non_empty_tables(conn)  # checked again inside the writing transaction
        if found:
            raise WorldNotEmptyError(f"the database already has data in {', '.join(found)}")
        copy = conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg"
        for name, model in _TABLES:
            rows = world.tables[name]
            for i in range(0, len(rows), INSERT_CHUNK):
                chunk = rows[i:i + INSERT_CHUNK]
                if copy:
                    _copy_rows(conn, model.__table__, chunk)
                else:
                    conn.execute(insert(model.__table__), chunk)
                done += len(chunk)
                _report(progress, "writing", done, total, every=1)
        known = set(conn.execute(select(MealCardLimit.district)).scalars())
        limits = [{"district": d, "per_meal": m, "per_day": day} for d, (m, day) in SAMPLE_MEAL_CARD_LIMITS.items()
                  if d not in known]
        if limits:
            conn.execute(insert(MealCardLimit.__table__), limits)

        bump(conn, (*OPERATOR_ASPECTS, LEXICON), "sample_world")
    counts = world.counts()
    log.info("sample world (seed %s) generated in %.1fs and written in %.1fs: %s", seed, t1 - t0,
             time.perf_counter() - t1, counts)
    return counts


