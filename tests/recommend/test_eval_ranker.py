"""``naviyam eval ranker`` on the tiny known world: temporary models only, full ranking, known winners."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from naviyam.cli import eval_ranker as eval_ranker_cli
from naviyam.cli import index as index_cli
from naviyam.config import get_settings
from naviyam.db.session import get_engine, migrate
from naviyam.recommend.evaluation import METHODS
from naviyam.recommend.offline_eval import run_eval_ranker
from naviyam.recommend.ranker.trainer import RankerTrainConfig
from naviyam.recommend.training_data import TrainingDataConfig
from support.worlds import fill_known_world

TINY_TRAIN = RankerTrainConfig(epochs=2, hidden=[16], batch_size=64, seed=0)
TINY_DATA = TrainingDataConfig(max_positives=300, window_days=7, negatives_per_positive=4, seed=0)


@pytest.fixture(scope="module")
def report(world, tmp_path_factory):  # noqa: F811
    engine, registry, embedder = world
    before = [(v.version, v.status) for v in registry.list()]
    out = tmp_path_factory.mktemp("eval")
    rep = run_eval_ranker(engine, registry, days=14, out_dir=out, embedder=embedder, train_config=TINY_TRAIN,
                          data_config=TINY_DATA, tune=False)
    return rep, out, before, registry


def test_every_method_is_measured_on_the_same_hold_out(report):
    rep, _out, _before, _registry = report
    summary = rep.summary()
    assert set(METHODS) <= set(summary)
    for method in METHODS:
        vals = summary[method]
        for key in ("ndcg@10", "recall@10", "mrr", "auc", "coverage", "meal_card_share", "good_shop_share",
                    "diversity"):
            assert 0.0 <= vals[key] <= 1.0, (method, key, vals[key])
    assert rep.n_users > 5 and all(r["n_users"] == rep.n_users for r in rep.results.values())


def test_taste_aware_methods_beat_popularity_in_a_world_of_fixed_tastes(report):
    # every user only ever orders one category: item-kNN and Layer 1 find it, popularity cannot
    res = report[0].results
    assert res["itemknn"]["ndcg@10"] > res["popularity"]["ndcg@10"]
    assert res["layer1"]["recall@10"] > res["popularity"]["recall@10"]


def test_production_registry_is_not_touched_and_the_report_is_written(report):
    rep, out, before, registry = report
    assert [(v.version, v.status) for v in registry.list()] == before
    assert (out / "ranker_eval.png").stat().st_size > 1000
    text = (out / "ranker_eval.md").read_text(encoding="utf-8")
    assert "NDCG@10" in text and "인기순" in text and "Wide & Deep" in text


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
    eval_app = typer.Typer()
    eval_ranker_cli.register(eval_app)
    app.add_typer(eval_app, name="eval")
    yield app
    engine.dispose()
    get_settings.cache_clear()
    get_engine.cache_clear()


def test_cli_json_is_the_last_line(app, tmp_path):
    runner = CliRunner()
    assert runner.invoke(app, ["index", "build", "--embedder", "hashing", "--no-tune"]).exit_code == 0
    res = runner.invoke(app, ["eval", "ranker", "--days", "14", "--json", "--epochs", "1", "--max-positives", "200",
                              "--out", str(tmp_path / "report")])
    assert res.exit_code == 0, res.output
    last = json.loads(res.output.strip().splitlines()[-1])
    assert set(METHODS) <= set(last)
    assert all({"ndcg@10", "recall@10", "mrr"} <= set(v) for v in last.values())
    assert (tmp_path / "report" / "ranker_eval.md").exists()


def test_cli_refuses_a_hold_out_longer_than_the_data(app):
    res = CliRunner().invoke(app, ["eval", "ranker", "--days", "400"])
    assert res.exit_code == 1 and "짧아요" in res.output
