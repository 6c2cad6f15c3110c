"""``naviyam simulate``: a thin shell over :func:`naviyam.service.simulate.run_simulation`."""

from __future__ import annotations

import json
import shlex
import sys
import tempfile
from pathlib import Path

import typer
from rich.console import Console

from naviyam.cli.days import parse_day
from naviyam.config import get_settings
from naviyam.service.sim_report import write_files
from naviyam.service.simulate import SimulateConfig, SimulationError, run_simulation

console = Console()
err_console = Console(stderr=True)


def simulate(
    days: int = typer.Option(14, "--days", min=1, help="시뮬레이션할 날짜 수."),
    users: int = typer.Option(300, "--users", min=2, help="시뮬레이션할 사용자 수 (세계의 사용자 중에서 시드로 골라요)."),
    arms: str = typer.Option("control,learning", "--arms",
                             help="그룹(arm): control(첫날 모델 유지), learning(매일 밤 naviyam learn), 쉼표로 구분."),
    seed: int = typer.Option(7, "--seed", help="무작위 시드(random seed): 같은 시드면 같은 결과."),
    out: Path = typer.Option(None, "--out", help="결과 폴더 (그룹별 세계 복사본, A/B 로그, 표·그림). 기본: 임시 폴더."),
    in_place: bool = typer.Option(False, "--in-place", help="복사하지 않고 운영 세계에서 직접 돌려요 (--arms learning만, "
                                                            "운영 DB에 대화·피드백·모델이 쌓여요)."),
    start: str = typer.Option(None, "--start", help="첫 시뮬레이션 날 (YYYY-MM-DD, 기본: 세계의 마지막 주문 다음 날)."),
    learn_nlu: bool = typer.Option(False, "--learn-nlu/--no-learn-nlu", help="밤 학습에서 NLU도 다시 학습해요 (느려요)."),
    epochs: int = typer.Option(2, "--epochs", min=1, help="밤 학습의 랭커 미세조정 epoch 수 (naviyam learn과 같은 기본값)."),
    lr: float = typer.Option(0.0005, "--lr", min=0.0, help="밤 학습의 랭커 미세조정 학습률 (naviyam learn과 같은 기본값)."),
    design: str = typer.Option("paired", "--design",
                               help="paired: 고른 사용자 모두가 두 세계를 같은 난수로 살아요 (사용자 안에서 비교, 기본). "
                                    "split: 사용자마다 A/B 해시로 한 그룹에만 (온라인 시험과 같은 설계)."),
    as_json: bool = typer.Option(False, "--json", help="마지막 줄에 일별 CTR·전환율·승격을 JSON 한 줄로 출력해요."),
) -> None:
    """학습 루프 시뮬레이션: 숨은 취향을 가진 사용자들이 매일 진짜 챗봇과 대화하고 고르면, 밤마다 학습한 그룹과
    첫날 모델을 유지한 그룹의 CTR·전환율을 날마다 비교해요 (세계의 복사본에서)."""
    arm_list = tuple(a.strip() for a in arms.split(",") if a.strip())
    first = parse_day(start, "--start") if start else None
    cfg = SimulateConfig(days=days, users=users, arms=arm_list, seed=seed, start=first, learn_nlu=learn_nlu,
                         learn_epochs=epochs, learn_lr=lr, in_place=in_place,
                         design=design)
    folder = out or Path(tempfile.mkdtemp(prefix="naviyam-simulate-"))
    say = (lambda m: err_console.print(m, markup=False)) if as_json else (lambda m: console.print(m, markup=False))
    try:
        result = run_simulation(get_settings(), cfg, folder, say=say)
    except SimulationError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    command = "naviyam simulate " + " ".join(shlex.quote(a) for a in sys.argv[2:]) if len(sys.argv) > 1 else None
    files = write_files(result, command)
    if as_json:
        typer.echo(json.dumps(result.summary_json(), ensure_ascii=False))
        return
    console.print(files["md"].read_text(encoding="utf-8"), markup=False)
    console.print(f"표: {files['md']} · 그림: {files['png']} · A/B 로그: {folder / 'ab'} "
                  f"(`NAVIYAM_VAR_DIR={folder / 'ab'} naviyam ab report --min-users 2`)", markup=False)


__all__ = ["simulate"]
