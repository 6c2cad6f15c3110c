"""``naviyam parse``, ``naviyam train nlu`` and ``naviyam eval nlu``: thin shells over :mod:`naviyam.nlu`.

Wire with ``register(app, train_app, eval_app)``; ``eval_app`` is optional.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from naviyam.config import get_settings
from naviyam.core.registry import default_registry
from naviyam.db.session import get_engine, migrate
from naviyam.learning.nlu_gate import train_nlu_gated
from naviyam.llm.backend import LLMBackend
from naviyam.llm.settings import get_llm_settings
from naviyam.nlu import NLUSession, load_parser, train_nlu
from naviyam.nlu.evaluate import cases_from_examples, evaluate_cases, load_cases
from naviyam.nlu.latency import measure as measure_latency
from naviyam.nlu.lexicon import Lexicon
from naviyam.nlu.llm_parser import LLMNLUParser
from naviyam.nlu.operator import OperatorDataError, load_operator_examples
from naviyam.nlu.report import write_report
from naviyam.nlu.train import public_examples


def parse_jsonl_lines(parser: Any, lines: Iterable[str]) -> Iterable[dict[str, Any]]:
    """One output object per non-blank input line; turns of a line share one session."""
    for n, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line:
            continue
        case_id: Any = None
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            yield {"id": None, "error": f"{n}번째 줄: 올바른 JSON이 아니에요 (invalid JSON: {e.msg})"}
            continue
        if isinstance(obj, dict):
            case_id = obj.get("id")
        turns = obj.get("turns") if isinstance(obj, dict) else None
        if not isinstance(turns, list) or not all(isinstance(t, str) for t in turns):
            yield {"id": case_id, "error": f"{n}번째 줄: \"turns\"(문자열 목록)가 있는 객체여야 해요"}
            continue
        session = NLUSession()
        yield {"id": case_id, "results": [parser.parse(t, session).to_dict() for t in turns]}


def parse_cmd(
    text: str | None = typer.Argument(None, help="메시지 하나 (예: \"만원으로 치킨 먹을 수 있어?\")."),
    jsonl: Path | None = typer.Option(
        None, "--jsonl", help="JSONL 파일 ({\"id\", \"turns\": [...]} 한 줄에 하나, '-'는 표준입력)."),
) -> None:
    """메시지를 NLU 결과 JSON 한 줄로 출력합니다 (Parse a message into the NLU contract object)."""
    if text is None and jsonl is None:
        typer.echo("텍스트나 --jsonl 파일을 주세요.", err=True)
        raise typer.Exit(2)
    migrate(get_engine())  # a fresh folder gets its (empty) registry instead of database errors
    parser = load_parser()
    if text is not None:
        typer.echo(json.dumps(parser.parse(text).to_dict(), ensure_ascii=False))
    if jsonl is not None:
        if str(jsonl) == "-":
            lines: Iterable[str] = sys.stdin
        else:
            if not jsonl.exists():
                typer.echo(f"파일이 없어요: {jsonl}", err=True)
                raise typer.Exit(2)
            lines = jsonl.read_text(encoding="utf-8", errors="replace").splitlines()
        for out in parse_jsonl_lines(parser, lines):
            typer.echo(json.dumps(out, ensure_ascii=False))


def _console():
    c = Console()
    return c if c.is_terminal else Console(width=160)


def _metrics_table(metrics: dict[str, Any], title: str):
    t = Table(title=title)
    t.add_column("데이터(set)")
    for c in ("turns", "intent acc", "intent F1", "slot F1", "filters exact", "exact", "multi-turn", "ECE"):
        t.add_column(c, justify="right")
    for name, m in metrics.items():
        if not isinstance(m, dict) or "turns" not in m:
            continue
        mt = m.get("multiturn_exact")
        t.add_row(name, str(m["turns"]), f"{m['intent_accuracy']:.3f}", f"{m['intent_macro_f1']:.3f}",
                  f"{m['slot_micro_f1']:.3f}", f"{m['filters_exact']:.3f}", f"{m['exact']:.3f}",
                  "-" if mt is None else f"{mt:.3f}", f"{m['ece']:.3f}")
    return t


def _load_operator(paths: list[Path], engine: Any, console) -> Any:
    """The operator's examples, or exit 2 listing every bad line (nothing trained)."""
    try:
        data = load_operator_examples(list(paths), Lexicon.build(engine))
    except OperatorDataError as exc:
        typer.echo(f"운영자 예시에 문제가 {len(exc.errors)}건 있어 아무것도 학습하지 않았어요:", err=True)
        for e in exc.errors:
            typer.echo(f"  - {e}", err=True)
        raise typer.Exit(2) from None
    for w in data.warnings:
        console.print(f"[yellow]주의[/yellow] {w}")
    return data


def _gate_table(res: Any):
    cand, prod = res.candidate, res.production or {}
    t = Table(title=f"후보 {res.version.version} vs 운영 {res.production_version or '(없음)'}")
    for c in ("지표", "후보", "운영", "차이"):
        t.add_column(c, justify="right" if c != "지표" else "left")
    names = {"operator_exact": "운영자 예시(보류분) 완전 일치", "operator_intent_accuracy": "운영자 예시 의도 정확도",
             "heldout_exact": "생성 보류 데이터 완전 일치", "heldout_intent_accuracy": "생성 보류 데이터 의도 정확도",
             "nlu_examples_exact": "계약 예시 완전 일치"}
    for k, label in names.items():
        c, p = cand.get(k), prod.get(k)
        if c is None and p is None:
            continue
        d = "-" if c is None or p is None else f"{c - p:+.3f}"
        t.add_row(f"{label} ({k})", "-" if c is None else f"{c:.3f}", "-" if p is None else f"{p:.3f}", d)
    return t


def train_cmd(
    epochs: int = typer.Option(10, "--epochs", min=1, help="학습 반복 수(epochs) (태거 반복 = 10 × epochs)."),
    examples: int | None = typer.Option(None, "--examples", min=200, help="생성할 학습 예시 수 (기본 16000)."),
    seed: int = typer.Option(13, "--seed", help="생성 데이터의 무작위 시드(seed)."),
    no_baselines: bool = typer.Option(False, "--no-baselines", help="기준 모델(baselines) 비교를 건너뛰어요."),
    data: list[Path] | None = typer.Option(
        None, "--data", help="운영자가 라벨링한 예시 파일 (여러 번 가능): 계약 JSONL (한 줄에 NLU 객체 하나) 또는 "
                             "원래 설계의 NLU JSON ([{text, intent, entities}] 또는 {\"training_data\": [...]})."),
    force: bool = typer.Option(False, "--force", help="--data로 학습한 후보를 비교 결과와 상관없이 운영에 올립니다 "
                               "(점검은 그대로)."),
    tolerance: float = typer.Option(0.005, "--tolerance", min=0.0, help="생성 보류 데이터에서 운영보다 이만큼까지 "
                                    "낮아도 '나쁘지 않음'으로 봅니다."),
    share: float = typer.Option(0.15, "--share", min=0.01, max=0.9, help="운영자 예시가 학습 데이터에서 차지할 "
                                "몫 (예시를 이만큼 반복; 3~100회)."),
) -> None:
    """NLU(의도 분류기 + CRF 태거)를 학습하고 평가해 새 버전으로 등록해요."""
    console = _console()
    registry = default_registry()
    operator = _load_operator(data, registry.engine, console) if data else None
    if operator is not None:
        console.print(f"운영자 예시 {len(operator.rows)}개 ({', '.join(operator.files)})"
                      + (f" · 새 낱말 {len(operator.aliases)}개: "
                         + ", ".join(f"{s}→{v}" for _, s, v in operator.aliases) if operator.aliases else ""))
    steps = ["generating", "analysing", "intent", "tagger", "calibrating", "evaluating", "baselines", "registering"]
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                  console=console) as progress:
        task = progress.add_task("NLU 학습", total=len(steps))

        def report(step: str, frac: float) -> None:
            i = steps.index(step) if step in steps else 0
            progress.update(task, completed=i + min(max(frac, 0.0), 0.99), description=f"NLU 학습: {step}")

        gated = None
        if operator is None:
            mv = train_nlu(registry.engine, registry, epochs=epochs, n_examples=examples, seed=seed,
                           progress=report, with_baselines=not no_baselines)
        else:
            gated = train_nlu_gated(registry.engine, registry, operator.rows, epochs=epochs, n_examples=examples,
                                    seed=seed, progress=report, with_baselines=not no_baselines,
                                    tolerance=tolerance, force=force, operator_share=share,
                                    max_latency_ms=get_settings().max_nlu_latency_ms)
            mv = gated.version
        progress.update(task, completed=len(steps), description="NLU 학습: 완료")
    metrics = mv.metrics or {}
    console.print(_metrics_table(metrics, f"NLU {mv.version}"))
    if gated is not None:
        _print_gate(console, gated, mv, metrics)
    base = metrics.get("baselines")
    if base:
        console.print(_baselines_table(base))
    console.print(f"학습 {metrics.get('train_seconds')}초 · {mv.version} 저장 → {mv.path}")


def _print_gate(console, gated, mv, metrics: dict) -> None:
    """The operator examples used, the gate's comparison and reasons, and which side won."""
    op = metrics.get("operator") or {}
    console.print(f"운영자 예시: 학습 {op.get('n_train')}개 × {op.get('repeat')}회 반복, 비교용 보류 "
                  f"{op.get('n_heldout')}개")
    console.print(_gate_table(gated))
    for line in gated.decision.reasons:
        console.print(f"  · {line}")
    if gated.production_version is None:
        verdict = f"이긴 쪽: 후보 {mv.version} — 첫 NLU라서 바로 운영에 올렸어요."
    elif gated.forced:
        verdict = f"이긴 쪽: 운영 {gated.production_version} — 하지만 --force로 후보 {mv.version}을(를) 운영에 올렸어요."
    elif gated.promoted:
        verdict = (f"이긴 쪽: 후보 {mv.version} — 운영자 예시와 생성 보류 데이터 모두에서 운영보다 나쁘지 않아 "
                   "운영에 올렸어요.")
    else:
        verdict = (f"이긴 쪽: 운영 {gated.production_version} — 후보가 위 이유로 나빠서 보관만 했어요 "
                   f"(상태 {mv.status}). 그래도 쓰려면 --force를 붙여 다시 학습하거나 "
                   f"`naviyam models promote {mv.version} --force`를 쓰세요.")
    console.print(verdict)


def _baselines_table(base: dict) -> Table:
    t = Table(title="기준 모델 비교 (baselines: TF-IDF 글자 n-gram LR 의도 + 규칙만 쓴 슬롯)")
    t.add_column("데이터(set)")
    for c in ("intent acc", "slot F1", "filters exact", "exact"):
        t.add_column(c, justify="right")
    for name, m in base.items():
        t.add_row(name, f"{m['intent_accuracy']:.3f}", f"{m['slot_micro_f1']:.3f}", f"{m['filters_exact']:.3f}",
                  f"{m['exact']:.3f}")
    return t


def eval_cmd(
    data: Path | None = typer.Option(None, "--data", help="nlu_examples.jsonl 형식의 평가 사례 "
                                        "(기본: 공개 계약 예시)."),
    as_json: bool = typer.Option(False, "--json", help="모든 수치를 JSON 한 줄로 마지막에 출력해요."),
    backend: str = typer.Option("trained", "--backend", help="trained (레지스트리의 NLU) 또는 llm (LLM 경로, "
                                "실패하면 학습된 NLU로 대신)."),
    model_path: Path | None = typer.Option(None, "--model-path", help="--backend llm에서 쓸 LLM 폴더 "
                                              "(기본: NAVIYAM_LLM_MODEL_PATH)."),
    adapter_path: Path | None = typer.Option(None, "--adapter-path", help="--backend llm에서 쓸 LoRA 어댑터 "
                                                "(기본: NAVIYAM_LLM_ADAPTER_PATH, 없으면 운영 어댑터)."),
    out: Path | None = typer.Option(None, "--out", help="보고서 폴더: report.md (의도별 정밀도/재현율/F1, 가장 "
                                       "나쁜 실수), confusion.png, confidence.png, metrics.json, mistakes.jsonl."),
) -> None:
    """운영 NLU를 사례 파일로 평가해요: 의도 정확도, 키별 P/R/F1, 완전 일치(exact)."""
    if backend not in ("trained", "llm"):
        typer.echo("--backend는 trained 또는 llm이에요.", err=True)
        raise typer.Exit(2)
    console = _console()
    cases = _eval_cases(data) if data else public_examples()
    parser = load_parser()
    counts = {"llm": 0, "trained": 0}
    parse = parser.parse
    if backend == "llm":
        s = get_llm_settings().model_copy(update={k: v for k, v in (("model_path", model_path),
                                                                     ("adapter_path", adapter_path)) if v})
        if not s.model_path:
            typer.echo("LLM 폴더를 --model-path나 NAVIYAM_LLM_MODEL_PATH로 알려 주세요.", err=True)
            raise typer.Exit(2)
        llm_parser = LLMNLUParser(LLMBackend.from_settings(s, default_registry()), parser, timeout_s=s.timeout_s)

        def parse(text, session):
            res = llm_parser.parse(text, session)
            counts[llm_parser.last_backend or "trained"] += 1
            return res

        parser = llm_parser
    records: list[dict[str, Any]] = []
    m = evaluate_cases(parse, cases, records=records)
    m["model_version"] = parser.version
    m["backend"] = backend
    if backend == "llm":
        m["answered_by"] = counts
    console.print(_metrics_table({str(data or "nlu_examples"): m}, f"NLU {parser.version}"))
    if backend == "llm":
        console.print(f"LLM이 답한 턴 {counts['llm']}개, 학습된 NLU로 대신한 턴(fallback) {counts['trained']}개")
    t = Table(title="필터 키별 (per filter key)")
    for c in ("key", "precision", "recall", "F1", "support"):
        t.add_column(c, justify="right")
    for k, v in m["per_key"].items():
        t.add_row(k, f"{v['precision']:.3f}", f"{v['recall']:.3f}", f"{v['f1']:.3f}", str(v["support"]))
    console.print(t)
    if out is not None:
        md = write_report(m, records, out, title=f"{parser.version} · {data.name if data else 'nlu_examples'}")
        console.print(f"보고서를 썼어요: {md} (그림 {out / 'confusion.png'}, {out / 'confidence.png'})")
    if as_json:
        typer.echo(json.dumps(m, ensure_ascii=False))


def _eval_cases(path: Path) -> list[dict[str, Any]]:
    """Cases from ``path``: the nlu_examples.jsonl form ({"turns", "expect"}), or operator examples."""
    if not path.exists():
        typer.echo(f"파일이 없어요: {path}", err=True)
        raise typer.Exit(2)
    first = next((x for x in path.read_text(encoding="utf-8-sig").splitlines() if x.strip()), "")
    try:
        if '"turns"' in first and path.suffix.lower() != ".json":
            return load_cases(path)
    except (json.JSONDecodeError, KeyError) as exc:
        typer.echo(f"{path}: 읽을 수 없어요 ({exc})", err=True)
        raise typer.Exit(2) from None

    data = _load_operator([path], default_registry().engine, _console())
    return cases_from_examples(data.rows)


def latency_cmd(
    model: Path | None = typer.Option(None, "--model", help="NLU 모델 폴더 (기본: 레지스트리의 운영 버전)."),
    repeat: int = typer.Option(3, min=1, help="문장마다 잴 횟수."),
) -> None:
    """NLU 응답 시간(parse latency): 공개 예시·손으로 쓴 평가 문장·떼어 둔 문장마다 p50/p95/p99 (밀리초), JSON 한 줄."""
    if model is not None and not model.is_dir():
        typer.echo(f"NLU 모델 폴더가 없어요: {model}", err=True)
        raise typer.Exit(2)
    try:
        result = measure_latency(model, repeat)
    except LookupError:
        typer.echo("운영 중인 NLU 모델이 없어요. 먼저 `naviyam train nlu`로 학습하거나 --model로 폴더를 알려 주세요.",
                   err=True)
        raise typer.Exit(1) from None
    typer.echo(json.dumps(result, ensure_ascii=False))


def register(app: typer.Typer, train_app: typer.Typer, eval_app: typer.Typer | None = None) -> None:
    """Add ``parse`` to ``app``, ``nlu`` to ``train_app`` (and ``nlu`` to ``eval_app`` when given)."""
    app.command("parse")(parse_cmd)
    train_app.command("nlu")(train_cmd)
    if eval_app is not None:
        eval_app.command("nlu")(eval_cmd)
        eval_app.command("nlu-latency")(latency_cmd)
