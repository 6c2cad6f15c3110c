"""``naviyam learn``: the seed's incremental_training.sh (47.B) as one function.

1. New feedback since the last run? (the watermark is the highest feedback id
   a previous run consumed, kept in the ``learning_run`` table). None: say so, stop.
2. Build incremental data from the last ``window_days`` of interactions and
   their feedback (:mod:`naviyam.learning.incremental`), split by time.
3. Ranker: fine-tune a candidate from the production ranker (warm start, few
   epochs, small lr) on the incremental rows (weighted for position bias, see
   :mod:`naviyam.learning.incremental`) plus a replay sample of the ranker's
   original training rows (so it does not forget; at most ``replay_ratio``
   times as many rows as the new feedback gave, so the feedback is not
   drowned: with 3,000 replayed rows against ~5,000 new ones a night, each
   candidate lost 0.01–0.03 of the validation AUC to its production, the
   losses added up night after night, and the guard rejected every candidate
   from the third night on; with up to 4× the new rows, 30,000 at most, the
   candidate kept the validation AUC and won more on the held-out lists, on
   the 400-shop sample world. On the default-size world candidates lose far
   more AUC with either replay and are rejected: an open question, measured
   for #17 in ``benchmarks/results/simulate/README.md``). When production is itself a fine-tuned ranker, the feedback it
   was already trained on (before its data window's end) is not trained on
   again in full: a sample of it as large as the new rows is replayed with
   them (retraining every night on the whole window from the newest
   production would fit old rows again and again), save it as a registry version, sanity-check it from disk, and
   compare it with production on the same recent held-out lists and the
   standard time-split validation set. With enough recent lists the primary
   metric is their position-bias-corrected MRR (``recent_ips_mrr``): on lists
   logged under production's order, plain MRR favours production, whose top
   shop was looked at most.
4. NLU: retrain on its base generated data (same size and seed as the
   production version) plus the good conversations, evaluated with
   production on production's held-out set and the public contract examples.
5. LoRA (only when the LLM path is enabled, :mod:`naviyam.learning.lora_step`):
   a candidate adapter trained from the production adapter on the good
   conversations plus a replay sample, compared with production on the same
   held-out rows (held-out perplexity; the LLM's NLU exact match guards).
6. Each candidate passing the gate (:mod:`naviyam.learning.promotion`) is
   promoted — unless an online A/B test is configured (``ab_share`` > 0): then
   it stays a candidate and the A/B arm serves it until an operator decides.
   A candidate that does not pass is archived (failed sanity: ``failed``),
   with the decision in its metrics.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine, func, select

from naviyam.core.clock import to_local, utcnow
from naviyam.core.privacy import training_exclusions
from naviyam.core.registry import ModelRegistry
from naviyam.db.models import FeedbackEvent, LearningRun
from naviyam.db.session import session_scope
from naviyam.learning.incremental import IncrementalData, IncrementalDataConfig, build_incremental_data, ips_mrr
from naviyam.learning.lora_step import (
    GUARD_METRIC,
    PRIMARY_METRIC,
    LoraStepConfig,
    lora_enabled,
    train_candidate_adapter,
)
from naviyam.learning.promotion import (
    GateDecision,
    evaluate_parser,
    evaluate_ranker,
    gate,
    ranker_primary_metric,
    sanity_check_parser,
    sanity_check_ranker,
)
from naviyam.llm.settings import get_llm_settings
from naviyam.nlu.evaluate import load_cases
from naviyam.nlu.parser import NLUParser
from naviyam.nlu.train import train_nlu
from naviyam.recommend.features import FEATURE_VERSION, FeatureRows
from naviyam.recommend.layer1 import CandidateGenerator
from naviyam.recommend.ranker.finetune import WEIGHT_COLUMN, FineTuneConfig, fine_tune
from naviyam.recommend.ranker.serving import RankerLoadError, WideDeepRanker
from naviyam.recommend.ranker.trainer import load_training_set

log = logging.getLogger(__name__)

Say = Callable[[str], None]


@dataclass
class LearnConfig:
    data: IncrementalDataConfig = field(default_factory=IncrementalDataConfig)
    finetune: FineTuneConfig = field(default_factory=FineTuneConfig)
    #: rows sampled from the production ranker's training set and trained on again (0: none)
    replay_rows: int = 30000
    #: ... but at most this many times the incremental rows (0: no such cap)
    replay_ratio: float = 4.0
    train_ranker: bool = True
    train_nlu: bool = True
    #: generated NLU sentences (None: as many as the production NLU was trained on)
    nlu_examples: int | None = None
    nlu_epochs: int | None = None
    #: "auto": promote a candidate that passes the gate (unless an A/B test runs); "never": keep it a candidate
    promote: str = "auto"
    margin: float = 0.005
    #: how much worse than production the standard validation AUC may be
    guard_tolerance: float = 0.01
    min_recent_lists: int = 10
    max_ranker_latency_ms: float = 50.0
    max_nlu_latency_ms: float = 200.0
    ab_share: float = 0.0
    #: run even when no feedback is new (e.g. after a failed run)
    force: bool = False
    #: train a LoRA adapter when the LLM path is enabled (llm_settings.enabled)
    train_lora: bool = True
    lora: LoraStepConfig = field(default_factory=LoraStepConfig)
    #: the LLM settings (None: naviyam.llm.settings.get_llm_settings())
    llm_settings: Any = None

    @classmethod
    def from_settings(cls, settings, **kw: Any) -> LearnConfig:
        return cls(margin=settings.promotion_margin, max_ranker_latency_ms=settings.max_ranker_latency_ms,
                   max_nlu_latency_ms=settings.max_nlu_latency_ms, ab_share=settings.ab_share, **kw)


@dataclass
class ModelOutcome:
    kind: str
    version: str | None
    production: str | None
    status: str  # promoted | candidate | rejected | failed | skipped
    message: str
    candidate_metrics: dict[str, Any] = field(default_factory=dict)
    production_metrics: dict[str, Any] = field(default_factory=dict)
    decision: dict[str, Any] | None = None
    seconds: float = 0.0


@dataclass
class LearnReport:
    status: str  # trained | skipped | failed
    message: str
    new_feedback: int
    watermark: int
    data: dict[str, Any] = field(default_factory=dict)
    models: list[ModelOutcome] = field(default_factory=list)
    seconds: float = 0.0
    run_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        return _json_safe(asdict(self))


def last_watermark(engine: Engine) -> int:
    """The highest feedback id an earlier successful run consumed (0 before the first)."""
    with session_scope(engine) as s:
        return int(s.scalar(select(func.max(LearningRun.feedback_watermark))
                            .where(LearningRun.status.in_(("trained", "skipped")))) or 0)


def _record(engine: Engine, report: LearnReport, started: dt.datetime) -> int:
    with session_scope(engine) as s:
        row = LearningRun(started_at=started, finished_at=utcnow(), status=report.status,
                          feedback_watermark=report.watermark, summary=report.to_json())
        s.add(row)
        s.flush()
        return row.id


def run_learning(engine: Engine, registry: ModelRegistry, config: LearnConfig | None = None, *,
                 now: dt.datetime | None = None, say: Say | None = None) -> LearnReport:
    """One incremental learning run (see the module doc). ``now`` is UTC (naive); ``say`` gets progress lines."""
    cfg = config or LearnConfig()
    say = say or (lambda m: log.info(m))
    t0 = time.perf_counter()
    started = utcnow()
    now = now or started
    before = last_watermark(engine)
    with session_scope(engine) as s:
        top = int(s.scalar(select(func.max(FeedbackEvent.id))) or 0)
        new = int(s.scalar(select(func.count(FeedbackEvent.id)).where(FeedbackEvent.id > before)) or 0)
    if new == 0 and not cfg.force:
        report = LearnReport("skipped", "새로운 피드백이 없어요. 학습을 건너뜁니다.", 0, before,
                             seconds=time.perf_counter() - t0)
        say(report.message)
        report.run_id = _record(engine, report, started)
        return report
    say(f"새 피드백 {new}건 (피드백 id {before} 이후) — 증분 학습을 시작해요.")
    report = LearnReport("trained", "", new, top)
    try:
        generator = _load_generator(engine, registry, say) if cfg.train_ranker else None
        data = build_incremental_data(engine, generator, now, cfg.data, seen_until=_seen_until(registry))
        report.data = {
            "window": [data.window[0].isoformat(timespec="seconds"), data.window[1].isoformat(timespec="seconds")],
            "labelled_interactions": data.n_interactions, "train_interactions": data.n_train_interactions,
            "holdout_interactions": data.n_holdout_interactions, "train_rows": len(data.train),
            "holdout_rows": len(data.holdout), "positives": data.positives, "good_conversations": len(data.nlu_rows),
        }
        say(f"증분 데이터: 피드백 받은 대화 {data.n_interactions}개 → 랭커 학습 행 {len(data.train)}개, "
            f"검증 행 {len(data.holdout)}개 (최근 {data.n_holdout_interactions}개 대화), "
            f"좋은 대화 {len(data.nlu_rows)}개")
        if cfg.train_ranker:
            report.models.append(_learn_ranker(engine, registry, generator, data, cfg, say))
        if cfg.train_nlu:
            report.models.append(_learn_nlu(engine, registry, data, cfg, say))
        if cfg.train_lora:
            lora = _learn_lora(engine, registry, data, cfg, say)
            if lora is not None:
                report.models.append(lora)
    except Exception as exc:  # noqa: BLE001 - recorded; the watermark stays so the next run retries
        log.exception("learning run failed")
        report.status, report.watermark = "failed", before
        report.message = f"학습 중 오류가 났어요: {type(exc).__name__}: {exc}"
        say(report.message)
    else:
        done = [m for m in report.models if m.status != "skipped"]
        report.message = ("증분 학습을 마쳤어요: " + ", ".join(f"{m.kind} {m.status}" for m in done)) if done \
            else "학습할 만한 데이터가 부족해 후보를 만들지 않았어요."
        say(report.message)
    report.seconds = time.perf_counter() - t0
    report.run_id = _record(engine, report, started)
    return report


# --------------------------------------------------------------------------- ranker


def _load_generator(engine: Engine, registry: ModelRegistry, say: Say):
    if registry.current("index") is None:
        say("1단계 색인이 없어 랭커는 건너뛰어요 (`naviyam index build` 먼저).")
        return None
    return CandidateGenerator.load(engine, registry)


def _base_dataset(engine: Engine, prod_mv) -> tuple[pd.DataFrame | None, pd.DataFrame | None,
                                                    pd.DataFrame | None]:
    """(train, val, ranking) frames the production ranker was trained with, when still on disk.

    Rows of users no training may use any more (erased since, or a child whose guardian withdrew consent)
    are dropped: what was written before a deletion never comes back through the replay sample."""
    folder = ((prod_mv.config or {}).get("dataset")) if prod_mv is not None else None
    if not folder or not Path(folder).is_dir():
        return None, None, None
    try:
        frames = load_training_set(Path(folder))[:3]
    except (OSError, ValueError, KeyError) as exc:
        log.warning("training set %s unreadable: %s", folder, exc)
        return None, None, None
    excluded = training_exclusions(engine)
    if not excluded:
        return frames
    return tuple(None if df is None else df[~df["user_id"].isin(excluded)].reset_index(drop=True)
                 for df in frames)


def _learn_ranker(engine, registry: ModelRegistry, generator, data: IncrementalData, cfg: LearnConfig,
                  say: Say) -> ModelOutcome:
    t0 = time.perf_counter()
    prod_mv = registry.current("ranker")
    if prod_mv is None or generator is None:
        return ModelOutcome("ranker", None, None, "skipped",
                            "운영 중인 랭커(또는 색인)가 없어요. `naviyam train ranker`로 먼저 학습하세요.")
    if len(data.train) == 0:
        return ModelOutcome("ranker", None, prod_mv.version, "skipped", "랭커를 학습할 피드백 행이 없어요.")
    try:
        production = WideDeepRanker.load(Path(prod_mv.path), version=prod_mv.version)
    except RankerLoadError as exc:
        return ModelOutcome("ranker", None, prod_mv.version, "skipped", f"운영 랭커를 불러올 수 없어요: {exc}")
    base_train, val, ranking = _base_dataset(engine, prod_mv)
    train = _new_and_replayed_feedback(data.train, prod_mv, cfg.finetune.seed)
    if len(train) == 0:
        return ModelOutcome("ranker", None, prod_mv.version, "skipped", "운영 랭커가 아직 보지 못한 피드백 행이 없어요.")
    n_new = int(train.attrs.get("new_rows", len(train)))
    n_replay = cfg.replay_rows if cfg.replay_ratio <= 0 else min(cfg.replay_rows, int(cfg.replay_ratio * n_new))
    if base_train is not None and n_replay > 0 and len(base_train):
        replay = base_train.sample(min(n_replay, len(base_train)), random_state=cfg.finetune.seed)
        replay = replay.assign(**{WEIGHT_COLUMN: 1.0})
        train = pd.concat([train, replay[[c for c in replay.columns if c in train.columns]]], ignore_index=True)
    say(f"랭커 미세조정: {prod_mv.version}에서 시작, {len(train)}행 (새 피드백 {n_new} + 이전 피드백·원래 학습 데이터 "
        f"재학습 표본 {len(train) - n_new}), {cfg.finetune.epochs} epoch, lr {cfg.finetune.lr}")
    result = fine_tune(production, train, cfg.finetune)
    alloc = registry.allocate("ranker")
    result.ranker.save(alloc.path)
    sample = data.holdout if len(data.holdout) else data.train
    sanity = sanity_check_ranker(alloc.path, sample.head(200), max_latency_ms=cfg.max_ranker_latency_ms,
                                 version=alloc.version)
    cand_m = _with_ips(evaluate_ranker(result.ranker, data.holdout, val, ranking), result.ranker, data.holdout)
    prod_m = _with_ips(evaluate_ranker(production, data.holdout, val, ranking), production, data.holdout)
    metric = ranker_primary_metric(cand_m, cfg.min_recent_lists)
    if metric == "recent_mrr" and cand_m.get("recent_ips_mrr") is not None:
        metric = "recent_ips_mrr"
    guards = {"val_auc": cfg.guard_tolerance} if metric != "val_auc" else {}
    decision = gate(cand_m, prod_m, sanity, metric=metric, margin=cfg.margin, guards=guards)
    metrics = {**cand_m, **{f"fine_tune_{k}": v for k, v in result.ranker.metrics_.items()},
               "production_comparison": prod_m, "promotion": decision.to_json()}
    metrics = _json_safe(metrics)
    mv = registry.register(
        alloc, metrics=metrics, status="candidate", parent=prod_mv.version, data_window=data.window,
        config={"source": "learn", "fine_tune": cfg.finetune.to_json(), "data": cfg.data.to_json(),
                "replay_rows": cfg.replay_rows, "feature_version": FEATURE_VERSION,
                "model": result.ranker.net_.config.to_json(), "dataset": (prod_mv.config or {}).get("dataset")},
    )
    outcome = _settle("ranker", mv.version, prod_mv.version, decision, cand_m, prod_m, registry, cfg, say)
    outcome.seconds = time.perf_counter() - t0
    return outcome


def _seen_until(registry: ModelRegistry) -> dt.datetime | None:
    """The end of the data window of a production ranker made by ``naviyam learn`` (None: it saw no feedback)."""
    mv = registry.current("ranker")
    if mv is None or (mv.config or {}).get("source") != "learn":
        return None
    return mv.data_window_end


def _new_and_replayed_feedback(train: pd.DataFrame, prod_mv, seed: int) -> pd.DataFrame:
    """The incremental rows production has not been trained on, plus as many of the rows it has (a replay).

    Only a production ranker made by ``naviyam learn`` has seen feedback: the rows before its data
    window's end. The result's ``attrs["new_rows"]`` counts the new rows."""
    end = prod_mv.data_window_end if (prod_mv.config or {}).get("source") == "learn" else None
    if end is None or not len(train):
        train.attrs["new_rows"] = len(train)
        return train
    seen = pd.to_datetime(train["event_time"]) < pd.Timestamp(to_local(end.replace(tzinfo=dt.UTC)))
    new, old = train[~seen], train[seen]
    if not len(new):
        out = new.reset_index(drop=True)
        out.attrs["new_rows"] = 0
        return out
    if len(old) > len(new):
        keep = old["query_id"].drop_duplicates().sample(frac=len(new) / len(old), random_state=seed)
        old = old[old["query_id"].isin(set(keep))]
    out = pd.concat([new, old], ignore_index=True)
    out.attrs["new_rows"] = len(new)
    return out


def _with_ips(metrics: dict[str, Any], ranker, holdout: pd.DataFrame) -> dict[str, Any]:
    """``metrics`` plus the held-out lists' position-bias-corrected MRR (:func:`incremental.ips_mrr`)."""
    if len(holdout) and "propensity" in holdout:
        value, _ = ips_mrr(holdout, ranker.score_rows(FeatureRows.from_frame(holdout)))
        metrics = {**metrics, "recent_ips_mrr": value}
    return metrics


# --------------------------------------------------------------------------- NLU


def _learn_nlu(engine, registry: ModelRegistry, data: IncrementalData, cfg: LearnConfig, say: Say) -> ModelOutcome:
    t0 = time.perf_counter()
    prod_mv = registry.current("nlu")
    if not data.nlu_rows:
        return ModelOutcome("nlu", None, prod_mv.version if prod_mv else None, "skipped",
                            "추천이 선택된 좋은 대화가 없어 NLU는 다시 학습하지 않아요.")
    heldout = None
    production = None
    pconf = (prod_mv.config or {}) if prod_mv else {}
    if prod_mv is not None:
        held_path = Path(prod_mv.path) / "heldout.jsonl"
        heldout = load_cases(held_path) if held_path.exists() else None
        try:
            production = NLUParser.load(Path(prod_mv.path), version=prod_mv.version)
        except Exception as exc:  # noqa: BLE001
            log.warning("production NLU %s cannot be loaded: %s", prod_mv.version, exc)
    n_examples = cfg.nlu_examples or int(pconf.get("n_examples") or 16000)
    epochs = cfg.nlu_epochs or int(pconf.get("epochs") or 10)
    say(f"NLU 재학습: 생성 문장 {n_examples}개 + 좋은 대화 {len(data.nlu_rows)}개, {epochs} epoch")
    mv = train_nlu(engine, registry, epochs=epochs, n_examples=n_examples, seed=int(pconf.get("seed") or 13),
                   with_baselines=False, status="candidate", extra_rows=data.nlu_rows, heldout_rows=heldout,
                   parent=prod_mv.version if prod_mv else None)
    held_rows = heldout if heldout is not None else load_cases(Path(mv.path) / "heldout.jsonl")
    sanity = sanity_check_parser(Path(mv.path), max_latency_ms=cfg.max_nlu_latency_ms, version=mv.version)
    candidate = NLUParser.load(Path(mv.path), version=mv.version)
    cand_m = evaluate_parser(candidate, held_rows)
    prod_m = evaluate_parser(production, held_rows) if production is not None else None
    decision = gate(cand_m, prod_m, sanity, metric="exact_mean", margin=cfg.margin,
                    guards={"nlu_examples_intent_accuracy": cfg.guard_tolerance})
    registry.set_status(mv.version, "candidate", note=_json_safe(
        {"comparison": cand_m, "production_comparison": prod_m, "promotion": decision.to_json()}))
    outcome = _settle("nlu", mv.version, prod_mv.version if prod_mv else None, decision, cand_m, prod_m or {},
                      registry, cfg, say)
    outcome.seconds = time.perf_counter() - t0
    return outcome


# --------------------------------------------------------------------------- LoRA


def _learn_lora(engine, registry: ModelRegistry, data: IncrementalData, cfg: LearnConfig,
                say: Say) -> ModelOutcome | None:
    """The LoRA step (:mod:`naviyam.learning.lora_step`); None when the LLM path is off."""
    llm = cfg.llm_settings if cfg.llm_settings is not None else get_llm_settings()
    ok, why = lora_enabled(llm)
    if not ok:
        if llm is not None and llm.enabled:
            say(why)
            return ModelOutcome("lora", None, None, "skipped", why)
        return None
    t0 = time.perf_counter()
    cand = train_candidate_adapter(engine, registry, data.window, llm, cfg.lora, say)
    if cand.version is None:
        return ModelOutcome("lora", None, cand.production, "skipped", cand.message)
    decision = gate(cand.candidate_metrics, cand.production_metrics, cand.sanity, metric=PRIMARY_METRIC,
                    margin=cfg.margin, guards={GUARD_METRIC: cfg.guard_tolerance})
    registry.set_status(cand.version, "candidate", note=_json_safe(
        {"comparison": cand.candidate_metrics, "production_comparison": cand.production_metrics,
         "promotion": decision.to_json()}))
    outcome = _settle("lora", cand.version, cand.production, decision, cand.candidate_metrics,
                      cand.production_metrics or {}, registry, cfg, say)
    outcome.seconds = time.perf_counter() - t0
    return outcome


# --------------------------------------------------------------------------- decision


def _settle(kind: str, version: str, production: str | None, decision: GateDecision, cand_m: dict[str, Any],
            prod_m: dict[str, Any], registry: ModelRegistry, cfg: LearnConfig, say: Say) -> ModelOutcome:
    for line in decision.reasons:
        say(f"  [{kind}] {line}")
    if not decision.sanity.ok:
        registry.set_status(version, "failed")
        status, msg = "failed", f"{kind} 후보 {version}은(는) 점검에 실패해 쓰지 않아요: {decision.sanity.reason}"
    elif not decision.promote:
        registry.set_status(version, "archived")
        status, msg = "rejected", f"{kind} 후보 {version}은(는) 운영 모델보다 충분히 좋지 않아 보관만 해요."
    elif cfg.promote != "auto" or (kind == "ranker" and cfg.ab_share > 0):
        _archive_older_candidates(registry, kind, version)
        status = "candidate"
        msg = (f"{kind} 후보 {version}이(가) 오프라인 비교를 통과했어요. "
               + (f"온라인 A/B 테스트(사용자 {cfg.ab_share:.0%})에서 검증한 뒤 `naviyam models promote {version}`로 "
                  "승격하세요." if kind == "ranker" and cfg.ab_share > 0 else
                  f"`naviyam models promote {version}`로 승격할 수 있어요."))
    else:
        registry.promote(version)
        status, msg = "promoted", f"{kind} 후보 {version}을(를) 운영 모델로 승격했어요 (이전: {production or '없음'})."
    say(msg)
    return ModelOutcome(kind, version, production, status, msg, cand_m, prod_m, decision.to_json())


def _archive_older_candidates(registry: ModelRegistry, kind: str, keep: str) -> None:
    for mv in registry.list(kind):
        if mv.status == "candidate" and mv.version != keep:
            registry.set_status(mv.version, "archived")


def _json_safe(v: Any) -> Any:
    """Plain JSON: NaN and infinities become None, numpy scalars Python numbers, other objects strings."""
    if isinstance(v, dict):
        return {str(k): _json_safe(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_json_safe(x) for x in v]
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        v = v.item()
    if isinstance(v, float):
        return None if math.isnan(v) or math.isinf(v) else v
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, (dt.datetime, dt.date)):
        return v.isoformat()
    return str(v)
