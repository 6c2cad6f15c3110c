"""Models follow the data: imports record what changed, models record what they read, stale ones are rebuilt."""

from __future__ import annotations

from types import SimpleNamespace

import openpyxl
import pytest

from naviyam.core.registry import ModelRegistry
from naviyam.data.excel import export_workbook, import_workbook
from naviyam.data.generate import generate_world
from naviyam.db import data_versions
from naviyam.service import bootstrap


def _fake_builder(kind):
    def build(engine, registry, settings):
        alloc = registry.allocate(kind)
        (alloc.path / "weights.bin").write_bytes(b"model")
        return registry.register(alloc).version
    return build


@pytest.fixture
def world(engine, tmp_path, monkeypatch):
    generate_world(engine, seed=4, shops=20, users=20, days=5)
    registry = ModelRegistry(engine, tmp_path / "models")
    monkeypatch.setattr(bootstrap, "MODEL_BUILDERS", {k: _fake_builder(k) for k in ("nlu", "index", "ranker")})
    settings = SimpleNamespace(models_dir=tmp_path / "models")
    built = bootstrap.build_missing_models(engine, settings)
    book = tmp_path / "week.xlsx"
    export_workbook(engine, book)
    return SimpleNamespace(engine=engine, registry=registry, settings=settings, built=built, book=book, tmp=tmp_path)


def _edit(book, out, *, price=False, hours=False, new_shop=False):
    wb = openpyxl.load_workbook(book)
    if price:
        menus = wb["shop_menu"]
        col = [c.value for c in menus[1]].index("price") + 1
        menus.cell(row=2, column=col, value=(menus.cell(row=2, column=col).value or 0) + 500)
    if hours:
        shops = wb["shop"]
        shops.cell(row=3, column=[c.value for c in shops[1]].index("open_time") + 1, value="06:30")
    if new_shop:
        shops = wb["shop"]
        row = [c.value for c in shops[2]]
        header = [c.value for c in shops[1]]
        row[header.index("id")] = 999
        row[header.index("name")] = "새로 연 국밥집"
        shops.append(row)
    wb.save(out)
    return out


def test_models_record_the_data_they_read_and_nothing_is_stale_at_first(world):
    versions = data_versions.current(world.engine)
    assert versions and set(versions) == {*data_versions.OPERATOR_ASPECTS, data_versions.LEXICON}
    for kind in ("nlu", "index", "ranker"):
        mv = world.registry.current(kind)
        assert mv.config["data_versions"] == data_versions.fingerprint(kind, versions)
    assert world.registry.stale() == {}
    assert bootstrap.models_to_build(world.registry) == {}


def test_a_price_and_an_hour_make_the_index_and_ranker_stale_but_not_the_nlu(world):
    import_workbook(world.engine, _edit(world.book, world.tmp / "w2.xlsx", price=True, hours=True))
    stale = world.registry.stale()
    assert set(stale) == {"index", "ranker"}
    assert set(stale["index"]) == {"shop", "shop_menu"}
    # importing the same file again changes nothing and bumps nothing
    before = data_versions.current(world.engine)
    import_workbook(world.engine, world.tmp / "w2.xlsx")
    assert data_versions.current(world.engine) == before


def test_a_new_shop_makes_the_nlu_stale_too_and_setup_rebuilds_exactly_the_stale_models(world):
    old = {k: world.registry.current(k).version for k in ("nlu", "index", "ranker")}
    import_workbook(world.engine, _edit(world.book, world.tmp / "w3.xlsx", new_shop=True))
    assert world.registry.stale() == {"nlu": ["lexicon"], "index": ["shop"], "ranker": ["shop"]}
    todo = bootstrap.models_to_build(world.registry)
    assert set(todo) == {"nlu", "index", "ranker"} and "데이터가 바뀜" in todo["nlu"]
    rebuilt = bootstrap.build_missing_models(world.engine, world.settings)
    assert all(rebuilt[k] != old[k] for k in old) and world.registry.stale() == {}


def test_an_erasure_or_a_consent_change_makes_the_fitted_models_stale_until_rebuilt_without_them(world):
    from naviyam.service.privacy import erase_user_data, set_guardian_consent

    old = {k: world.registry.current(k).version for k in ("nlu", "index", "ranker")}
    erase_user_data(world.engine, 3, source="cli")
    assert world.registry.stale() == {"index": ["privacy"], "ranker": ["privacy"]}
    todo = bootstrap.models_to_build(world.registry)
    assert set(todo) == {"index", "ranker"} and "보호자 동의·삭제 요청" in todo["index"]
    rebuilt = bootstrap.build_missing_models(world.engine, world.settings)
    assert rebuilt["nlu"] == old["nlu"] and rebuilt["index"] != old["index"] and world.registry.stale() == {}
    set_guardian_consent(world.engine, 4)
    assert set(world.registry.stale()) == {"index", "ranker"}


def test_only_the_stale_kinds_are_rebuilt(world):
    old = {k: world.registry.current(k).version for k in ("nlu", "index", "ranker")}
    import_workbook(world.engine, _edit(world.book, world.tmp / "w4.xlsx", price=True))
    rebuilt = bootstrap.build_missing_models(world.engine, world.settings)
    assert rebuilt["nlu"] == old["nlu"] and rebuilt["index"] != old["index"] and rebuilt["ranker"] != old["ranker"]


def test_health_and_models_list_say_which_models_are_older_than_the_data(world, monkeypatch):
    from fastapi.testclient import TestClient
    from typer.testing import CliRunner

    from naviyam.api.app import create_app
    from naviyam.cli import models as models_cli
    from naviyam.config import Settings

    import_workbook(world.engine, _edit(world.book, world.tmp / "w5.xlsx", price=True))
    settings = Settings(environment="test", admin_api_key="k", var_dir=world.tmp, _env_file=None)
    runtime = SimpleNamespace(model_versions=lambda: {})
    with TestClient(create_app(settings, engine=world.engine, runtime=runtime)) as client:
        health = client.get("/health").json()
    assert health["status"] == "ok" and set(health["stale_models"]) == {"index", "ranker"}
    monkeypatch.setattr(models_cli, "_registry", lambda: world.registry)
    res = CliRunner().invoke(models_cli.app, ["list"], env={"COLUMNS": "250"})
    assert res.exit_code == 0, res.output
    assert "오래됨" in res.output and "naviyam train all" in res.output
