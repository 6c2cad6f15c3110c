"""One real multi-worker server for the scale-out and fault tests, started once for the package.

    client ──HTTP──▶ `naviyam serve --workers 2` ──▶ TcpProxy ──▶ PostgreSQL (private schema)
                                                 └─▶ redis-server on a free port (started here)

The database is the session's ``trained_world`` (NLU + Layer 1 index) copied
into a private PostgreSQL schema; the workers reach PostgreSQL through a TCP
proxy that a test can cut and restore (the real server is shared with other
test runs and is never stopped), and Redis is a server of their own that a
test can kill.
"""

from __future__ import annotations

import os
import uuid
from types import SimpleNamespace

import pytest
import redis  # noqa: F401 - the workers' Redis client (a dependency of the scale-out setup)
from sqlalchemy import create_engine, text

from naviyam.db.session import make_engine, migrate
from support.faults import (
    PG_URL,
    USER_LIMIT,
    WORKERS,
    RedisServer,
    Served,
    TcpProxy,
    copy_world,
    free_port,
    running_server,
    wait_for_workers,
)


@pytest.fixture(scope="package")
def pg_world(trained_world):
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        migrate(engine)
        copy_world(trained_world.engine, engine)
        yield SimpleNamespace(engine=engine, schema=schema, settings=trained_world.settings)
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="package")
def pg_proxy():
    from sqlalchemy.engine import make_url

    url = make_url(PG_URL)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    yield proxy
    proxy.close()


@pytest.fixture(scope="package")
def redis_server():
    server = RedisServer(free_port())
    server.start()
    yield server
    server.kill()


@pytest.fixture(scope="package")
def served(pg_world, pg_proxy, redis_server, tmp_path_factory):
    port = free_port()
    log_path = tmp_path_factory.mktemp("served") / "server.log"
    db_url = (f"postgresql+psycopg://postgres@127.0.0.1:{pg_proxy.port}/{PG_URL.rsplit('/', 1)[-1]}"
              f"?options=-csearch_path%3D{pg_world.schema}&connect_timeout=3")
    env = {**os.environ, "NAVIYAM_DATABASE_URL": db_url, "NAVIYAM_REDIS_URL": redis_server.url,
           "NAVIYAM_VAR_DIR": str(pg_world.settings.var_dir), "NAVIYAM_PORT": str(port),
           "NAVIYAM_ENVIRONMENT": "test", "NAVIYAM_ADMIN_API_KEY": "fault-admin-key",
           "NAVIYAM_RATE_LIMIT_PER_MINUTE_USER": str(USER_LIMIT), "NAVIYAM_RATE_LIMIT_PER_MINUTE_IP": "0",
           "NAVIYAM_LOG_LEVEL": "INFO", "NAVIYAM_LLM_ENABLED": "false"}
    with running_server(env, log_path, WORKERS) as (proc, base):
        served = Served(base, proc, log_path, pg_world.engine, pg_proxy, redis_server, env)
        wait_for_workers(served, WORKERS)
        yield served
