"""SQLite's one writer: threads of a process queue on a Python lock for their short write transactions."""

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from naviyam.db.models import Interaction
from naviyam.db.session import make_engine, migrate, session_factory, write_lock
from naviyam.learning.store import store_interaction


def test_sqlite_engines_have_a_write_lock_and_postgresql_none(tmp_path):
    sqlite = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    assert write_lock(sqlite) is write_lock(sqlite) and hasattr(write_lock(sqlite), "acquire")
    pg = make_engine("postgresql+psycopg://postgres@127.0.0.1:5432/never_connected")  # no connection is made
    assert not hasattr(write_lock(pg), "acquire")


def test_many_threads_store_interactions_at_once_without_losing_one(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'b.db'}")
    migrate(engine)
    sessions = session_factory(engine)

    def turn(i: int) -> int:
        with sessions() as db:
            return store_interaction(db, session_id=f"s{i % 5}", user_id=None, message=f"떡볶이 {i}", intent="GREETING",
                                     nlu={}, recommendations=[], response="안녕", latency_ms=1.0, model_versions={})

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(turn, range(80)))
    assert len(set(ids)) == 80
    with sessions() as db:
        assert db.scalar(select(func.count()).select_from(Interaction)) == 80
