"""``naviyam train data`` / ``naviyam train ranker`` are registered with the seed's options."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from naviyam.cli.train_ranker import register


def _app() -> typer.Typer:
    app = typer.Typer()
    train = typer.Typer()
    register(train)
    app.add_typer(train, name="train")
    return app


def test_train_group_gets_data_and_ranker_commands():
    runner = CliRunner()
    out = runner.invoke(_app(), ["train", "--help"])
    assert out.exit_code == 0 and "data" in out.output and "ranker" in out.output
    out = runner.invoke(_app(), ["train", "ranker", "--help"], env={"COLUMNS": "200"})
    assert out.exit_code == 0
    for option in ("--epochs", "--batch-size", "--lr", "--patience", "--data", "--rebuild-data"):
        assert option in out.output
    out = runner.invoke(_app(), ["train", "data", "--help"], env={"COLUMNS": "200"})
    assert out.exit_code == 0 and "--max-positives" in out.output and "--out" in out.output
