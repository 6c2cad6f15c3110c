"""The ``naviyam`` console command: a thin shell over the Python API.

Each command group lives in its own module and is registered here.
"""

from __future__ import annotations

import logging

import typer

from naviyam.cli import ab as ab_cli
from naviyam.cli import chat as chat_cli
from naviyam.cli import data as data_cli
from naviyam.cli import db as db_cli
from naviyam.cli import eval_ranker as eval_ranker_cli
from naviyam.cli import index as index_cli
from naviyam.cli import info as info_cli
from naviyam.cli import learning as learning_cli
from naviyam.cli import llm as llm_cli
from naviyam.cli import maintenance as maintenance_cli
from naviyam.cli import models as models_cli
from naviyam.cli import monitor as monitor_cli
from naviyam.cli import nlu as nlu_cli
from naviyam.cli import serve as serve_cli
from naviyam.cli import train_all as train_all_cli
from naviyam.cli import train_ranker as train_ranker_cli

app = typer.Typer(
    name="naviyam",
    help="Naviyam (나비얌): food recommendations for children with meal-support cards.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
train_app = typer.Typer(no_args_is_help=True)
eval_app = typer.Typer(no_args_is_help=True)

app.add_typer(db_cli.app, name="db", help="Database schema (Alembic migrations).")
app.add_typer(data_cli.app, name="data", help="Sample world, Excel/CSV import and export.")
app.add_typer(train_app, name="train", help="Train models (NLU, ranker data, ranker).")
app.add_typer(eval_app, name="eval", help="Evaluate models.")
serve_cli.register(app)
nlu_cli.register(app, train_app, eval_app)
index_cli.register(app)
train_ranker_cli.register(train_app)
train_all_cli.register(train_app)
eval_ranker_cli.register(eval_app)
llm_cli.register(train_app, data_cli.app)
app.command("chat")(chat_cli.chat)
app.command("config")(info_cli.config)
app.add_typer(learning_cli.app, name="learning", help="Learning data: export interactions and feedback (JSONL).")
app.command("learn")(learning_cli.learn)
app.add_typer(models_cli.app, name="models", help="Model registry: list, promote, roll back.")
app.add_typer(ab_cli.app, name="ab", help="Online A/B tests of candidate models.")
app.add_typer(monitor_cli.app, name="monitor", help="Monitoring: daily metrics, degradation alerts, charts.")
maintenance_cli.register(app)


@app.callback()
def _main(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging."),
    version: bool = typer.Option(False, "--version", callback=info_cli.version_callback, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    # Commands print their own results; logs are for -v (the server's level comes from NAVIYAM_LOG_LEVEL).
    level = logging.DEBUG if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
