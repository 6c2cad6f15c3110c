"""Start-up work for ``make run``: sample world into an empty database, missing models built."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from sqlalchemy import Engine

from naviyam.config import Settings
from naviyam.core.process import pid_alive, wall_seconds
from naviyam.core.registry import ModelRegistry
from naviyam.data.excel import import_workbook
from naviyam.data.generate import generate_world
from naviyam.db.data_versions import ASPECT_NAMES
from naviyam.db.session import session_scope
from naviyam.learning.ranker_gate import gate_ranker
from naviyam.nlu import train_nlu
from naviyam.progress import progress_reporter
from naviyam.recommend.layer1_build import build_layer1
from naviyam.recommend.ranker.pipeline import default_dataset_dir, train_ranker
from naviyam.recommend.ranker.trainer import TrainConfig
from naviyam.shops import count_shops

log = logging.getLogger(__name__)

#: While ``naviyam serve --build-models`` builds the missing models in the background, this file in the var
#: folder says how far it is; ``/health`` reads it and answers ``warming`` with that progress.
WARMING_FILE = "warming.json"


def warming_path(settings: Settings) -> Path:
    return Path(settings.var_dir) / WARMING_FILE




def warming_status(settings: Settings) -> dict | None:
    """What the background model build reports (kinds done, the one building, the ones left), or None
    when no build runs (none started, finished, or its process is gone)."""
    path = warming_path(settings)
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict) or state.get("finished") or not pid_alive(int(state.get("pid") or 0)):
        return None
    return state


def _write_warming(path: Path, state: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)  # atomic: /health never reads half a file

def _build_nlu(engine: Engine, registry: ModelRegistry, settings: Settings) -> str:
    return train_nlu(engine, registry, epochs=settings.nlu_epochs, n_examples=settings.nlu_train_examples,
                     with_baselines=False).version


def _build_index(engine: Engine, registry: ModelRegistry, settings: Settings) -> str:
    """A new index; a rebuild (production exists) goes through the index's promotion gate."""
    rebuild = registry.current("index") is not None
    report = build_layer1(engine, registry, gate=rebuild)
    if rebuild and not report.promoted:
        log.warning("index %s kept as a candidate: %s", report.version, "; ".join(report.gate_reasons))
    return registry.current("index").version


def _build_ranker(engine: Engine, registry: ModelRegistry, settings: Settings) -> str:
    """A new ranker; a rebuild (production exists) is a candidate promoted only past the ranker's gate."""
    production = registry.current("ranker")
    folder = default_dataset_dir(settings)
    mv, result, _report = train_ranker(engine, registry, folder, rebuild_data=True,
                                       train_config=TrainConfig(epochs=settings.ranker_epochs),
                                       status="production" if production is None else "candidate")
    if production is not None:
        gate = gate_ranker(registry, mv, result.metrics, folder, production_mv=production, prefer_fresh=True)
        if not gate.promoted:
            log.warning("ranker %s kept as a candidate: %s", mv.version, "; ".join(gate.reasons))
    return registry.current("ranker").version


#: kind → builder(engine, registry, settings) returning the new version string, in build order
#: (the ranker's training set needs the Layer 1 index). Each builds only when no production version exists.
MODEL_BUILDERS: dict[str, Callable[[Engine, ModelRegistry, Settings], str]] = {
    "nlu": _build_nlu,
    "index": _build_index,
    "ranker": _build_ranker,
}


def ensure_operator_data(engine: Engine, workbook, console: Console | None = None) -> dict[str, int] | None:
    """Import the operator's workbook when the shop table is empty; return rows per sheet, or None.

    Raises :class:`naviyam.data.excel.ImportValidationError` (nothing written) for a bad workbook.
    """
    with session_scope(engine) as s:
        if count_shops(s):
            return None
    with progress_reporter(console) as report:
        result = import_workbook(engine, workbook, progress=report)
    return dict(result)


def ensure_sample_world(engine: Engine, settings: Settings, console: Console | None = None) -> dict[str, int] | None:
    """Generate the sample world when the shop table is empty; return its counts, or None."""
    with session_scope(engine) as s:
        if count_shops(s):
            return None
    with progress_reporter(console) as report:
        return generate_world(engine, seed=settings.sample_seed, shops=settings.sample_shops,
                              users=settings.sample_users, days=settings.sample_days, progress=report)


def models_to_build(registry: ModelRegistry, *, force: bool = False) -> dict[str, str]:
    """kind → why it must be built now: missing, older than the data it reads (stale), or ``force``.

    A rebuilt index makes the ranker's features move too, so the ranker follows the index.
    """
    stale = registry.stale()
    todo: dict[str, str] = {}
    for kind in MODEL_BUILDERS:
        if registry.current(kind) is None:
            todo[kind] = "없음 (처음 만들기)"
        elif force:
            todo[kind] = "--force"
        elif kind in stale:
            todo[kind] = "데이터가 바뀜: " + ", ".join(ASPECT_NAMES.get(a, a) for a in stale[kind])
        elif kind == "ranker" and "index" in todo:
            todo[kind] = "후보 인덱스(index)를 다시 만듦"
    return todo


def build_missing_models(engine: Engine, settings: Settings, console: Console | None = None, *,
                         force: bool = False, report_warming: bool = False) -> dict[str, str]:
    """Build every model kind that is missing or older than the data it reads; return kind → version.

    What is rebuilt and why is told on ``console`` and logged; models that are up to date are kept.
    ``report_warming``: keep :data:`WARMING_FILE` up to date for ``/health`` while building.
    """
    registry = ModelRegistry(engine, settings.models_dir)
    todo = models_to_build(registry, force=force)
    built = {}
    warming = {"pid": os.getpid(), "todo": list(todo), "done": [], "building": None, "started": wall_seconds(),
               "seconds": {}}
    path = warming_path(settings) if report_warming else None
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_warming(path, warming)
    try:
        for kind, builder in MODEL_BUILDERS.items():
            current = registry.current(kind)
            if kind not in todo:
                built[kind] = current.version
                continue
            t0 = time.monotonic()
            if path is not None:
                _write_warming(path, {**warming, "building": kind})
            _build_one(engine, registry, settings, console, kind, builder, todo[kind], current, built)
            warming["done"].append(kind)
            warming["seconds"][kind] = round(time.monotonic() - t0, 1)
            log.info("%s model built in %.1f s", kind, warming["seconds"][kind])
    finally:
        if path is not None:
            _write_warming(path, {**warming, "building": None, "finished": True})
    return built


def _build_one(engine, registry, settings, console, kind, builder, why, current, built) -> None:
    """Build one kind into ``built``; a ranker that cannot be built yet (too few orders) is told, not raised."""
    log.info("building %s model: %s", kind, why)
    if console is not None:
        console.print(f"{kind} 모델을 만들어요 — {why}")
    try:
        built[kind] = builder(engine, registry, settings)
        if current is not None and built[kind] == current.version and console is not None:
            console.print(f"[yellow]새 {kind} 모델이 운영 모델보다 낫지 않아 후보로만 보관했어요 "
                          "(운영 모델을 계속 씁니다; `naviyam models list`).[/yellow]")
    except ValueError as exc:
        if kind != "ranker":
            raise
        # Too few orders for a time split: the service still answers, in Layer 1's order.
        log.warning("ranker not built: %s", exc)
        if console is not None:
            console.print("[yellow]주문 기록이 아직 적어 순위 모델(ranker)을 만들지 못했어요. 추천은 후보 순서"
                          "(Layer 1)로 하고, 주문이 쌓이면 `naviyam train ranker`로 만들 수 있어요.[/yellow]")
