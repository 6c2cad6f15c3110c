"""``naviyam index build | info | candidates`` through Typer, on a temporary var folder."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from naviyam.cli import index as index_cli
from naviyam.config import get_settings
from naviyam.db.session import get_engine, migrate
from support.worlds import fill_known_world


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("NAVIYAM_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("NAVIYAM_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    get_engine.cache_clear()
    engine = get_engine()
    migrate(engine)
    fill_known_world(engine)
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        pass

    index_cli.register(app)
    yield app
    engine.dispose()
    get_settings.cache_clear()
    get_engine.cache_clear()


def test_build_info_and_candidates(app):
    runner = CliRunner()
    res = runner.invoke(app, ["index", "candidates", "치킨"])
    assert res.exit_code == 1 and "naviyam index build" in res.output
    res = runner.invoke(app, ["index", "build", "--embedder", "hashing"])
    assert res.exit_code == 0, res.output
    assert "96" in res.output
    res = runner.invoke(app, ["index", "build", "--embedder", "hashing"])
    assert res.exit_code == 0 and "re-used" in res.output
    res = runner.invoke(app, ["index", "info"])
    assert res.exit_code == 0 and "production" in res.output and "archived" in res.output
    res = runner.invoke(app, ["index", "candidates", "짜장면", "--user-id", "2", "--k", "5", "--json",
                              "--filters", json.dumps({"category": "중식"}, ensure_ascii=False)])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert len(out["candidates"]) == 5 and out["relaxed_filters"] == []


def test_index_gate_keeps_production_when_the_new_settings_score_worse(tmp_path):
    """A worse Layer 1 (only the contextual funnel) is registered as a candidate; production keeps serving."""
    from naviyam.core.registry import ModelRegistry
    from naviyam.db.session import make_engine
    from naviyam.recommend.layer1 import Layer1Config
    from naviyam.recommend.layer1_build import build_layer1
    from naviyam.retrieval.embedding import HashingEmbedder

    engine = make_engine(f"sqlite:///{tmp_path / 'gate.db'}")
    migrate(engine)
    fill_known_world(engine)
    registry = ModelRegistry(engine, tmp_path / "models")
    emb = HashingEmbedder()
    first = build_layer1(engine, registry, config=Layer1Config(embedder=emb.name), embedder=emb, tune=True)
    assert first.promoted and registry.current("index").version == first.version
    worse = Layer1Config(embedder=emb.name, funnels=("contextual",))
    second = build_layer1(engine, registry, config=worse, embedder=emb, tune=False, gate=True)
    assert not second.promoted and "유지" in second.gate_reasons[0]
    assert registry.current("index").version == first.version
    assert registry.get(second.version).status == "candidate"
    forced = build_layer1(engine, registry, config=worse, embedder=emb, tune=False, gate=True, force=True)
    assert forced.promoted and registry.current("index").version == forced.version
    engine.dispose()
