"""``naviyam models list | promote V | rollback KIND``: the model registry for operators."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from naviyam.cli.common import open_registry
from naviyam.config import get_settings
from naviyam.core.registry import RegistryError
from naviyam.db.data_versions import ASPECT_NAMES
from naviyam.learning.promotion import PromotionRefused, promote_version

console = Console()
err_console = Console(stderr=True)
app = typer.Typer(no_args_is_help=True, help="모델 레지스트리(registry): 목록(list), 승격(promote), 되돌리기(rollback).")

#: Metric shown in the list, per kind.
_HEADLINE = {"ranker": ("recent_mrr", "val_auc"), "nlu": ("exact_mean", "nlu_examples")}


def _registry():
    return open_registry()[1]


def _headline(mv) -> str:
    m = mv.metrics or {}
    for key in _HEADLINE.get(mv.kind, ()):
        v = m.get(key)
        if isinstance(v, (int, float)):
            return f"{key} {v:.4f}"
        if isinstance(v, dict) and isinstance(v.get("exact"), (int, float)):
            return f"{key} exact {v['exact']:.4f}"
    return ""


@app.command("list")
def list_(kind: str = typer.Option(None, help="이 종류(kind)만 보여요 (nlu, index, ranker, lora, normalizer).")) -> None:
    """모든 버전을 상태, 데이터 기간, 부모, 대표 지표와 함께 보여요 (list)."""
    registry = _registry()
    versions = registry.list(kind)
    by_id = {mv.id: mv.version for mv in registry.list()}
    stale = registry.stale()
    table = Table(title="모델 버전")
    for col in ("종류", "버전", "상태", "데이터 기간", "부모", "지표", "승격 시각", "데이터"):
        table.add_column(col)
    for mv in versions:
        window = (f"{mv.data_window_start:%m-%d}~{mv.data_window_end:%m-%d}"
                  if mv.data_window_start and mv.data_window_end else "")
        style = "bold green" if mv.status == "production" else ("yellow" if mv.status == "candidate" else None)
        note = ""
        if mv.status == "production" and mv.kind in stale:
            note = "오래됨: " + ", ".join(ASPECT_NAMES.get(a, a) for a in stale[mv.kind]) + " 바뀜"
        table.add_row(mv.kind, mv.version, mv.status, window, by_id.get(mv.parent_id, ""), _headline(mv),
                      f"{mv.promoted_at:%Y-%m-%d %H:%M}" if mv.promoted_at else "", note, style=style)
    console.print(table)
    if stale:
        console.print("[yellow]운영 데이터가 모델보다 새로워요. `naviyam train all`(또는 `naviyam setup`)로 "
                      "오래된 모델만 다시 만들 수 있어요.[/yellow]")


@app.command("promote")
def promote(
    version: str = typer.Argument(..., help="운영에 올릴 버전."),
    force: bool = typer.Option(False, help="오프라인 비교에서 운영 모델을 이기지 못해도 올려요 "
                                           "(기본 점검(sanity check)은 그대로 해요)."),
) -> None:
    """점검을 거쳐 버전을 운영에 올려요 (promote); 실행 중인 서버는 재시작 없이 바꿔요."""
    registry = _registry()
    try:
        mv = promote_version(registry, version, get_settings(), force=force)
    except (RegistryError, PromotionRefused) as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    console.print(f"{mv.kind} {mv.version}을(를) 운영 모델로 올렸어요. 서버는 다음 확인 때(또는 POST /admin/reload) 바꿔요.")


@app.command("rollback")
def rollback(kind: str = typer.Argument(..., help="모델 종류(kind): nlu, index, ranker, lora 또는 normalizer.")) -> None:
    """KIND의 이전 운영 버전으로 되돌려요 (rollback; 지금 버전은 보관(archived)돼요)."""
    registry = _registry()
    try:
        restored, rolled_back = registry.rollback(kind)
    except RegistryError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    console.print(f"{kind}: {rolled_back.version} → {restored.version}(으)로 되돌렸어요.")
