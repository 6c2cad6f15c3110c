"""Shared fixtures: a pinned clock and real databases (a SQLite file and the PostgreSQL server on this machine).

Time: every test runs at ``TEST_NOW`` (a Friday evening in Seoul; ``NAVIYAM_TEST_NOW`` picks another
instant for the whole run), whatever the machine's clock or time zone says. The service's clock
(``naviyam.core.clock``) is pinned in this process for every test, starting at that instant and ticking
with real elapsed time, and ``NAVIYAM_CLOCK`` carries the same instant to servers and CLIs that tests
start in subprocesses. A test that needs another moment pins it itself (``clock.pinned(...)``).

Chance: pytest-randomly reseeds ``random`` and numpy before every test; torch is seeded here too, and
hypothesis runs derandomized (its examples follow from each test, not from the clock: a fuzz test once
failed only at another hour because it drew other cases).

``engine`` is parametrised over both backends, so every test that takes it
runs twice. PostgreSQL tests get a private schema (search_path) that is
dropped afterwards, so concurrent runs never see each other's rows. A missing
PostgreSQL is a failure, not a skip.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, create_engine, text

from naviyam.db.session import make_engine, migrate

hypothesis_settings.register_profile("naviyam", derandomize=True, database=None)
hypothesis_settings.load_profile("naviyam")

#: pytest-randomly's seed when none is given: the order (and every reseed) is the same run after run.
DEFAULT_ORDER_SEED = 20261129


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    if config.pluginmanager.hasplugin("randomly") and config.getoption("randomly_seed", None) == "default":
        config.option.randomly_seed = DEFAULT_ORDER_SEED


#: Test folders that start servers, browsers or train the LLM: marked ``slow``.
SLOW_FOLDERS = {"faults", "web", "llm"}


def pytest_collection_modifyitems(config, items):
    """``-m "not slow and not postgres"`` is the quick SQLite-only run; ``make test`` runs everything."""
    tests_dir = Path(__file__).resolve().parent
    for item in items:
        try:
            folder = Path(str(item.fspath)).resolve().relative_to(tests_dir).parts[0]
        except ValueError:
            continue
        if folder in SLOW_FOLDERS:
            item.add_marker(pytest.mark.slow)
        if any(name.startswith("pg_") for name in getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgres)


PG_URL = os.environ.get("NAVIYAM_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

#: The instant the suite starts at: Friday 2026-11-27, 19:00 in Seoul (dinner time, most shops open).
TEST_NOW = os.environ.get("NAVIYAM_TEST_NOW", "2026-11-27T19:00:00+09:00")
os.environ["NAVIYAM_CLOCK"] = TEST_NOW  # subprocesses (servers, CLIs) start at the same instant


def _pin_session_clock():
    from naviyam.core import clock

    # One ticking pin for the whole run: time moves forward from TEST_NOW as the suite runs and never
    # jumps back between tests (models registered and chats stored earlier stay in the past).
    clock.pin(TEST_NOW, tick=True)
    return clock._pin


_SESSION_PIN = _pin_session_clock()


@pytest.fixture(autouse=True)
def _pinned_clock() -> Iterator[None]:
    """Every test runs on the suite's clock (a test may pin another instant inside it), with torch seeded."""
    from naviyam.core import clock

    _seed_torch()
    yield
    clock._pin = _SESSION_PIN  # whatever a test did to the clock, the next one gets the suite's clock


def _seed_torch(seed: int = DEFAULT_ORDER_SEED) -> None:
    import sys

    torch = sys.modules.get("torch")  # only when something already imported it: keeps light tests light
    if torch is not None:
        torch.manual_seed(seed)


@pytest.fixture
def sqlite_engine(tmp_path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'naviyam.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def pg_engine() -> Iterator[Engine]:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        migrate(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request) -> Engine:
    """A migrated, empty database: once on SQLite, once on PostgreSQL."""
    return request.getfixturevalue("sqlite_engine" if request.param == "sqlite" else "pg_engine")


#: Three shops whose main business is alcohol, placed at ALCOHOL_SPOT (신림역), for the age rules.
ALCOHOL_SPOT = (37.4842, 126.9297)


@pytest.fixture(scope="session")
def trained_world(tmp_path_factory):
    """A small generated world (SQLite file) with a trained NLU and a built Layer 1 index, shared by the session.

    Three 호프 shops stand at ALCOHOL_SPOT so that the minors' rules can be tested on real recommendations.
    """
    import datetime as dt
    from types import SimpleNamespace

    from naviyam.config import Settings
    from naviyam.core.registry import ModelRegistry
    from naviyam.data.generate import generate_world
    from naviyam.db.models import Shop, ShopMenu
    from naviyam.db.session import session_scope
    from naviyam.nlu import train_nlu
    from naviyam.recommend.layer1_build import build_layer1

    var = tmp_path_factory.mktemp("trained-world")
    settings = Settings(var_dir=var, environment="test", admin_api_key="test-admin-key", database_url=None,
                        _env_file=None)
    engine = make_engine(settings.resolved_database_url)
    migrate(engine)
    generate_world(engine, seed=11, shops=150, users=250, days=30)
    with session_scope(engine) as s:
        for i, name in enumerate(["신림호프", "달빛포차", "이자카야 하루"]):
            sid = 90_001 + i
            s.add(Shop(id=sid, name=name, category="치킨", district="관악구", dong="서원동", lat=ALCOHOL_SPOT[0],
                       lon=ALCOHOL_SPOT[1] + 0.0005 * i, open_time=dt.time(0, 0), close_time=dt.time(0, 0),
                       is_good_shop=False, accepts_meal_card=False, description="맥주와 치킨"))
            s.flush()
            s.add(ShopMenu(id=990_001 + i, shop_id=sid, name="후라이드치킨", price=18000, dish="후라이드치킨",
                           is_signature=True))
    registry = ModelRegistry(engine, settings.models_dir)
    nlu = train_nlu(engine, registry, epochs=3, n_examples=2500, with_baselines=False)
    index = build_layer1(engine, registry)
    yield SimpleNamespace(engine=engine, settings=settings, registry=registry, nlu_version=nlu.version,
                          index_version=index.version)
    engine.dispose()


@pytest.fixture(scope="session")
def alcohol_spot():
    return ALCOHOL_SPOT


@pytest.fixture(scope="session")
def runtime(trained_world):
    from naviyam.service.runtime import Runtime

    return Runtime.load(trained_world.engine, trained_world.settings)


def _write_ab_log(engine: Engine, cand: list[list[int]], prod: list[list[int]], candidate_version: str,
                  production_version: str, *, start: dt.datetime | None = None, anonymous_turns: int = 0) -> None:
    """An online A/B test's log as the service stores it: ``[shown, clicked, ordered]`` turns per user and arm.

    Candidate users get ids 1, 2, …, production users 10 001, 10 002, …; each user's first ``clicked`` turns
    have a feedback (the first ``ordered`` of them an order). Both arms' turns spread over the day from
    ``start`` (naive UTC), the candidate's first and last turns bounding the test. ``anonymous_turns`` adds
    clicked turns without a user id (never randomised, always production).
    """
    import datetime as dt

    from sqlalchemy import insert

    from naviyam.db.models import FeedbackEvent, Interaction

    start = start or dt.datetime(2026, 11, 20, 3, 0)
    span = 86_400.0
    turns, clicks = [], []  # one row per turn; its feedback type or None
    for arm, version, rows, uid0, pad in (("candidate", candidate_version, cand, 1, 0),
                                          ("production", production_version, prod, 10_001, 1)):
        step = (span - 2 * pad) / max(1, sum(r[0] for r in rows) - 1)
        k = 0
        for i, (shown, clicked, ordered) in enumerate(rows):
            for turn in range(shown):
                at = start + dt.timedelta(seconds=pad + step * k)
                k += 1
                turns.append({"session_id": f"ab{uid0 + i}", "user_id": uid0 + i, "message": "분식 추천해줘",
                              "intent": "FOOD_RECOMMENDATION", "recommendations": [{"shop_id": 1, "rank": 1}],
                              "model_versions": {"ranker": version}, "ab_arm": arm, "created_at": at})
                clicks.append(("ordered" if turn < ordered else "clicked") if turn < clicked else None)
    for j in range(anonymous_turns):
        turns.append({"session_id": f"anon{j}", "user_id": None, "message": "치킨", "intent": "FOOD_RECOMMENDATION",
                      "recommendations": [{"shop_id": 1, "rank": 1}], "model_versions": {"ranker": production_version},
                      "ab_arm": "production", "created_at": start + dt.timedelta(hours=1, seconds=j)})
        clicks.append("clicked")
    with engine.begin() as conn:
        ids = []
        for i in range(0, len(turns), 2000):
            ids += conn.execute(insert(Interaction).returning(Interaction.id, sort_by_parameter_order=True),
                                turns[i:i + 2000]).scalars().all()
        feedback = [{"interaction_id": iid, "user_id": t["user_id"], "shop_id": 1, "feedback_type": kind,
                     "created_at": t["created_at"] + dt.timedelta(seconds=0.5)}
                    for iid, t, kind in zip(ids, turns, clicks, strict=True) if kind]
        for i in range(0, len(feedback), 2000):
            conn.execute(insert(FeedbackEvent), feedback[i:i + 2000])


@pytest.fixture(scope="session")
def write_ab_log():
    """``write_ab_log(engine, cand, prod, candidate_version, production_version, *, start, anonymous_turns)``."""
    return _write_ab_log


@pytest.fixture
def naviyam(monkeypatch):
    """``naviyam ARGS...`` run in-process against the SQLite world in a var folder: ``naviyam(var, *args)``."""
    from typer.testing import CliRunner

    from naviyam.cli import app
    from naviyam.config import get_settings
    from naviyam.db.session import get_engine

    def run(var, *args):
        monkeypatch.setenv("NAVIYAM_VAR_DIR", str(var))
        monkeypatch.delenv("NAVIYAM_DATABASE_URL", raising=False)
        get_settings.cache_clear()
        get_engine.cache_clear()
        try:
            return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})
        finally:
            get_engine().dispose()
            get_settings.cache_clear()
            get_engine.cache_clear()

    return run
