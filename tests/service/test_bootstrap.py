"""The start-up build: the NLU in a process of its own beside the index and the ranker, progress for /health."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from naviyam.core.registry import ModelRegistry
from naviyam.data.generate import generate_world
from naviyam.service import bootstrap


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
    warming = json.loads((world.tmp / bootstrap.WARMING_FILE).read_text(encoding="utf-8"))
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
    warming = json.loads((world.tmp / bootstrap.WARMING_FILE).read_text(encoding="utf-8"))
    assert warming["finished"] and warming["done"] == ["index", "ranker"] and warming["building"] is None
