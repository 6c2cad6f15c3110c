"""The start-up build: the NLU in a process of its own beside the index and the ranker, progress for /health."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import update

from naviyam.core.registry import ModelRegistry
from naviyam.data.generate import generate_world
from naviyam.db.models import Shop
from naviyam.db.session import make_engine, migrate, session_scope
from naviyam.recommend import layer1, layer1_build
from naviyam.retrieval.embedding import HashingEmbedder
from naviyam.service import bootstrap
from naviyam.service.warming import WARMING_FILE, warming_status


def _builder(kind, fail=False):
    def build(engine, registry, settings):
        if fail:
            raise RuntimeError(f"{kind} broke")
        alloc = registry.allocate(kind)
        (alloc.path / "pid").write_text(str(os.getpid()))
        return registry.register(alloc).version
    return build


@pytest.fixture
def world(engine, tmp_path, monkeypatch):
    generate_world(engine, seed=4, shops=20, users=20, days=5)
    monkeypatch.setattr(bootstrap.os, "cpu_count", lambda: 2)
    return SimpleNamespace(engine=engine, settings=SimpleNamespace(models_dir=tmp_path / "models", var_dir=tmp_path),
                           registry=ModelRegistry(engine, tmp_path / "models"), tmp=tmp_path)


def test_parallel_build_trains_the_nlu_in_a_process_of_its_own_and_reports_every_kind(world, monkeypatch):
    monkeypatch.setattr(bootstrap, "MODEL_BUILDERS", {k: _builder(k) for k in ("nlu", "index", "ranker")})
    built = bootstrap.build_missing_models(world.engine, world.settings, report_warming=True, parallel=True)
    assert list(built) == ["nlu", "index", "ranker"]
    pid = {k: int(Path(world.registry.current(k).path, "pid").read_text()) for k in built}
    assert {k: world.registry.current(k).version for k in built} == built
    assert pid["nlu"] != os.getpid() and pid["index"] == pid["ranker"] == os.getpid()
    warming = json.loads((world.tmp / WARMING_FILE).read_text(encoding="utf-8"))
    assert warming["finished"] and warming["done"] == ["nlu", "index", "ranker"] and warming["building"] is None
    assert set(warming["seconds"]) == set(warming["cpu_seconds"]) == {"nlu", "index", "ranker"}
    # nothing left to build: nothing is forked and the versions stay
    assert bootstrap.build_missing_models(world.engine, world.settings, parallel=True) == built


def test_a_failed_side_build_is_raised_after_the_other_kinds_are_built(world, monkeypatch):
    monkeypatch.setattr(bootstrap, "MODEL_BUILDERS", {"nlu": _builder("nlu", fail=True), "index": _builder("index"),
                                                      "ranker": _builder("ranker")})
    with pytest.raises(RuntimeError, match="nlu broke"):
        bootstrap.build_missing_models(world.engine, world.settings, report_warming=True, parallel=True)
    assert world.registry.current("nlu") is None
    assert world.registry.current("index") is not None and world.registry.current("ranker") is not None
    warming = json.loads((world.tmp / WARMING_FILE).read_text(encoding="utf-8"))
    assert warming["finished"] and warming["done"] == ["index", "ranker"] and warming["building"] is None


def test_a_rebuild_after_editing_ten_shops_embeds_ten_documents(tmp_path, monkeypatch):
    """The start-up build end to end (index, ranker training set, ranker): ten edited shops, ten new embeddings."""
    engine = make_engine(f"sqlite:///{tmp_path / 'naviyam.db'}")
    migrate(engine)
    generate_world(engine, seed=4, shops=40, users=80, days=40)
    embedder = HashingEmbedder()
    monkeypatch.setattr(layer1_build, "make_embedder", lambda spec=None: embedder)
    monkeypatch.setattr(layer1, "make_embedder", lambda spec=None: embedder)
    monkeypatch.setattr(bootstrap, "MODEL_BUILDERS", {**bootstrap.MODEL_BUILDERS, "nlu": _builder("nlu")})
    settings = SimpleNamespace(models_dir=tmp_path / "models", var_dir=tmp_path, ranker_epochs=1)
    first = bootstrap.build_missing_models(engine, settings)
    assert set(first) == {"nlu", "index", "ranker"} and len(embedder.embedded) == 40
    with session_scope(engine) as s:
        for sid in range(1, 11):
            s.execute(update(Shop).where(Shop.id == sid).values(name=f"새이름가게{sid}"))
    embedder.embedded.clear()
    again = bootstrap.build_missing_models(engine, settings, force=True)
    assert again["ranker"] != first["ranker"]
    assert len(embedder.embedded) == 10 and all(t.startswith("새이름가게") for t in embedder.embedded)


def test_serve_announces_warming_before_the_build_process_reports_for_itself(world, monkeypatch):
    monkeypatch.setattr(bootstrap, "MODEL_BUILDERS", {k: _builder(k) for k in ("nlu", "index", "ranker")})
    bootstrap.announce_warming(world.engine, world.settings, os.getpid())
    state = warming_status(world.settings)
    assert state["todo"] == ["nlu", "index", "ranker"] and state["done"] == [] and state["pid"] == os.getpid()
    # the build's own report is never overwritten
    path = world.tmp / WARMING_FILE
    path.write_text(json.dumps({**state, "done": ["nlu"]}), encoding="utf-8")
    bootstrap.announce_warming(world.engine, world.settings, os.getpid())
    assert warming_status(world.settings)["done"] == ["nlu"]
    # nothing to build: nothing announced
    path.unlink()
    bootstrap.build_missing_models(world.engine, world.settings)
    bootstrap.announce_warming(world.engine, world.settings, os.getpid())
    assert not path.exists()


def test_a_failed_index_build_still_lets_the_nlu_beside_it_finish(world, monkeypatch):
    monkeypatch.setattr(bootstrap, "MODEL_BUILDERS", {"nlu": _builder("nlu"), "index": _builder("index", fail=True),
                                                      "ranker": _builder("ranker")})
    with pytest.raises(RuntimeError, match="index broke"):
        bootstrap.build_missing_models(world.engine, world.settings, report_warming=True, parallel=True)
    assert world.registry.current("nlu") is not None and world.registry.current("index") is None
    warming = json.loads((world.tmp / WARMING_FILE).read_text(encoding="utf-8"))
    assert warming["finished"] and warming["done"] == ["nlu"] and warming["building"] is None
