"""``naviyam setup`` and ``naviyam serve``: what ``make run`` runs."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import typer
from rich.console import Console

from naviyam.api.metrics import MULTIPROC_ENV, prepare_multiprocess_dir
from naviyam.cli.common import open_db
from naviyam.config import get_settings
from naviyam.data.excel import ImportValidationError
from naviyam.service.bootstrap import (
    announce_warming,
    build_missing_models,
    ensure_operator_data,
    ensure_sample_world,
)

console = Console()
log = logging.getLogger(__name__)


def setup(
    workbook: Path = typer.Option(None, "--workbook", help="샘플 세계 대신 빈 데이터베이스에 가져올 운영자 워크북 "
                                  "(.xlsx 또는 CSV 폴더; 기본: NAVIYAM_WORKBOOK)."),
    models: bool = typer.Option(True, "--models/--no-models", help="없는 모델도 만들어요. --no-models면 스키마와 "
                                "데이터만 준비하고, 모델은 `naviyam serve --build-models`가 서비스하면서 만들어요."),
    report_warming: bool = typer.Option(False, "--report-warming", hidden=True,
                                        help="/health가 읽을 진행 상황 파일(var/warming.json)을 써요."),
) -> None:
    """스키마를 만들고, 빈 데이터베이스를 채우고(운영자 워크북, 없으면 샘플 세계), 없는 모델을 만들어요 (setup)."""
    settings = get_settings()
    engine = open_db()
    workbook = workbook or settings.workbook
    if workbook is not None:
        try:
            counts = ensure_operator_data(engine, workbook, console=console)
        except ImportValidationError as exc:
            console.print(f"[red]운영 데이터를 가져오지 못했어요 (아무것도 쓰지 않음): 문제 {len(exc.errors)}개[/red]")
            for e in exc.errors[:50]:
                console.print(f"  {e}")
            raise typer.Exit(1) from None
        if counts:
            console.print(f"운영 데이터를 가져왔어요 ({workbook}): {counts}")
        else:
            console.print(f"[yellow]데이터베이스에 이미 가게가 있어 {workbook}을(를) 가져오지 않았어요. 바뀐 내용은 "
                          "`naviyam data import`로 반영하고, 처음부터 다시 하려면 `make clean-var` 뒤에 실행하세요."
                          "[/yellow] (database already has shops)")
    else:
        counts = ensure_sample_world(engine, settings, console=console)
        if counts:
            console.print(f"샘플 세계를 만들었어요: {counts}")
        else:
            console.print("데이터베이스에 이미 가게가 있어 샘플 세계를 만들지 않았어요.")
    if not models:
        return
    for kind, version in build_missing_models(engine, settings, console=console, report_warming=report_warming,
                                              parallel=True).items():
        console.print(f"{kind} 모델: {version}")


def serve(
    host: str = typer.Option(None, help="바인드 주소(host) (기본: 설정값)."),
    port: int = typer.Option(None, help="포트(port) (기본: 설정값)."),
    workers: int = typer.Option(1, help="uvicorn 워커(worker) 프로세스 수 (상태는 데이터베이스와 Redis로 "
                                "나누므로 어느 워커든 어느 대화든 이어 가요)."),
    access_log: bool = typer.Option(True, help="요청마다 접근 로그(access log)를 남겨요 (클라이언트 주소, 메서드, 경로, 상태)."),
    build_models: bool = typer.Option(False, "--build-models", help="없는 모델을 뒤에서 만들면서 바로 서비스해요. "
                                      "그동안 /health는 warming과 진행 상황을 알려 주고, 답은 규칙 NLU와 대체 경로로 "
                                      "해요. 모델이 하나씩 준비되면 재시작 없이 바꿔 끼워요."),
) -> None:
    """HTTP API 서버를 시작해요 (serve).

    워커가 여럿이면 /metrics가 모든 워커의 합을 보여 주도록 Prometheus 멀티프로세스 폴더를 새로 만들어요.
    """
    settings = get_settings()
    builder = _start_model_builder() if build_models else None
    if builder is not None:
        announce_warming(open_db(), settings, builder.pid)
    metrics_dir = None
    if workers > 1:
        # Workers are spawned, so prometheus_client in each of them sees this folder when it is imported.
        metrics_dir = prepare_multiprocess_dir(settings.var_dir)
        os.environ[MULTIPROC_ENV] = str(metrics_dir)
        log.info("prometheus multiprocess folder %s", metrics_dir)
    spec = {"host": host or settings.host, "port": port or settings.port, "workers": workers,
            "log_level": settings.log_level, "access_log": access_log,
            "metrics_dir": str(metrics_dir) if metrics_dir is not None else None,
            "builder_pid": builder.pid if builder is not None else None}
    # The serving process imports the app and what it serves, not this CLI with the training code and torch:
    # this process becomes it (same pid; it stops the model build and removes the metrics folder when it ends).
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "naviyam.api", json.dumps(spec)])


def _start_model_builder():
    """``naviyam setup --report-warming`` in a child process at a lower CPU priority than the requests."""
    def lower_priority() -> None:  # pragma: no cover - runs in the child
        os.nice(5)

    cmd = [sys.executable, "-c", "from naviyam.cli import app; app()", "setup", "--report-warming"]
    log.info("building the missing models in the background (pid follows); /health says warming until done")
    return subprocess.Popen(cmd, preexec_fn=lower_priority)


def register(app: typer.Typer) -> None:
    app.command("setup")(setup)
    app.command("serve")(serve)
