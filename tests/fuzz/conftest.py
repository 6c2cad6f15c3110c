"""A small generated world behind the real app, for fuzzing the API from its own OpenAPI schema."""

from __future__ import annotations

import pytest
import schemathesis
from fastapi.testclient import TestClient

from naviyam.api.app import create_app
from naviyam.config import Settings
from naviyam.db.session import make_engine, migrate

FUZZ_ADMIN_KEY = "fuzz-admin-key"


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory):
    """The app on a generated 20-shop world (SQLite) with a Layer 1 index, rules NLU, no rate limits."""
    from naviyam.core.registry import ModelRegistry
    from naviyam.data.generate import generate_world
    from naviyam.nlu import rules_parser
    from naviyam.service.runtime import Runtime

    var = tmp_path_factory.mktemp("fuzz")
    settings = Settings(environment="test", admin_api_key=FUZZ_ADMIN_KEY, var_dir=var, database_url=None,
                        rate_limit_per_minute_ip=0, rate_limit_per_minute_user=0, _env_file=None)
    engine = make_engine(settings.resolved_database_url)
    migrate(engine)
    generate_world(engine, seed=3, shops=20, users=20, days=5)
    from naviyam.recommend.layer1_build import build_layer1

    build_layer1(engine, ModelRegistry(engine, settings.models_dir))  # so /recommendations and /chat recommend
    runtime = Runtime.load(engine, settings, parser=rules_parser())
    app = create_app(settings, engine=engine, runtime=runtime)
    with TestClient(app):  # runs the lifespan: app.state is ready for schemathesis' own client
        yield app
    engine.dispose()


@pytest.fixture(scope="module")
def api_schema(fuzz_app):
    return schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)
