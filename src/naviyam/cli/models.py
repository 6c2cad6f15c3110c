"""``naviyam models list | promote V | rollback KIND``: the model registry for operators."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

console = Console()
err_console = Console(stderr=True)
app = typer.Typer(no_args_is_help=True, help="Model registry: list, promote, roll back.")

#: Metric shown in the list, per kind.
_HEADLINE = {"ranker": ("recent_mrr", "val_auc"), "nlu": ("exact_mean", "nlu_examples")}


def _registry():
    from naviyam.config import get_settings
    from naviyam.db.session import get_engine, migrate
    from naviyam.learning.registry import ModelRegistry

    engine = get_engine()
    migrate(engine)
    return ModelRegistry(engine, get_settings().models_dir)


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
def list_(kind: str = typer.Option(None, help="Only this kind (nlu, index, ranker, lora, normalizer).")) -> None:
    """Every version with its status, data window, parent and headline metric."""
    from naviyam.db.data_versions import ASPECT_NAMES

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
    version: str = typer.Argument(..., help="The version to put into production."),
    force: bool = typer.Option(False, help="Promote even if its offline comparison did not beat production "
                                           "(sanity checks still run)."),
) -> None:
    """Promote a version after its sanity checks; running servers pick it up without a restart."""
    from naviyam.config import get_settings
    from naviyam.learning.promotion import PromotionRefused, promote_version
    from naviyam.learning.registry import RegistryError

    registry = _registry()
    try:
        mv = promote_version(registry, version, get_settings(), force=force)
    except (RegistryError, PromotionRefused) as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    console.print(f"{mv.kind} {mv.version}을(를) 운영 모델로 올렸어요. 서버는 다음 확인 때(또는 POST /admin/reload) 바꿔요.")


@app.command("rollback")
def rollback(kind: str = typer.Argument(..., help="Model kind: nlu, index, ranker, lora or normalizer.")) -> None:
    """Put the previous production version of KIND back into production (the current one is archived)."""
    from naviyam.learning.registry import RegistryError

    registry = _registry()
    try:
        restored, rolled_back = registry.rollback(kind)
    except RegistryError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    console.print(f"{kind}: {rolled_back.version} → {restored.version}(으)로 되돌렸어요.")
