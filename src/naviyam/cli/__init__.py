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
from naviyam.cli import simulate as simulate_cli
from naviyam.cli import train_all as train_all_cli
from naviyam.cli import train_ranker as train_ranker_cli

app = typer.Typer(
    name="naviyam",
    help="나비얌(Naviyam): 급식카드를 쓰는 아이들을 위한 음식 추천 서비스예요.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
train_app = typer.Typer(no_args_is_help=True)
eval_app = typer.Typer(no_args_is_help=True)

app.add_typer(db_cli.app, name="db", help="데이터베이스 스키마 (Alembic 마이그레이션).")
app.add_typer(data_cli.app, name="data", help="샘플 세계 만들기, Excel/CSV 가져오기(import)와 내보내기(export).")
app.add_typer(train_app, name="train", help="모델 학습 (nlu, 랭커 데이터(data), ranker, LoRA).")
app.add_typer(eval_app, name="eval", help="모델 평가 (nlu, ranker).")
serve_cli.register(app)
nlu_cli.register(app, train_app, eval_app)
index_cli.register(app)
train_ranker_cli.register(train_app)
train_all_cli.register(train_app)
eval_ranker_cli.register(eval_app)
llm_cli.register(train_app, data_cli.app)
app.command("chat")(chat_cli.chat)
app.command("config")(info_cli.config)
app.add_typer(learning_cli.app, name="learning", help="학습 데이터: 대화와 피드백을 JSONL로 내보내기(export).")
app.command("learn")(learning_cli.learn)
app.command("simulate")(simulate_cli.simulate)
app.add_typer(models_cli.app, name="models", help="모델 레지스트리(registry): 목록(list), 승격(promote), 되돌리기(rollback).")
app.add_typer(ab_cli.app, name="ab", help="후보 모델의 온라인 A/B 테스트.")
app.add_typer(monitor_cli.app, name="monitor", help="모니터링: 일일 지표, 성능 저하 알림, 그래프.")
maintenance_cli.register(app)


@app.callback()
def _main(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="디버그 로그(debug logging)를 보여요."),
    version: bool = typer.Option(False, "--version", callback=info_cli.version_callback, is_eager=True,
                                 help="버전(version)을 출력하고 끝내요."),
) -> None:
    # Commands print their own results; logs are for -v (the server's level comes from NAVIYAM_LOG_LEVEL).
    level = logging.DEBUG if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
