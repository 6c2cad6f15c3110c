"""Start-up work for ``make run``: sample world into an empty database, missing models built."""

from __future__ import annotations

import logging
from collections.abc import Callable

from rich.console import Console
from sqlalchemy import Engine

from naviyam.config import Settings
from naviyam.db.session import session_scope
from naviyam.learning.registry import ModelRegistry
from naviyam.progress import progress_reporter
from naviyam.shops import count_shops

log = logging.getLogger(__name__)

def _build_nlu(engine: Engine, registry: ModelRegistry, settings: Settings) -> str:
    from naviyam.nlu import train_nlu

    return train_nlu(engine, registry, epochs=settings.nlu_epochs, n_examples=settings.nlu_train_examples,
                     with_baselines=False).version


def _build_index(engine: Engine, registry: ModelRegistry, settings: Settings) -> str:
    from naviyam.recommend.layer1 import build_layer1

    return build_layer1(engine, registry).version


def _build_ranker(engine: Engine, registry: ModelRegistry, settings: Settings) -> str:
    from naviyam.recommend.ranker.pipeline import default_dataset_dir, train_ranker
    from naviyam.recommend.ranker.trainer import TrainConfig

    mv, _result, _report = train_ranker(engine, registry, default_dataset_dir(settings), rebuild_data=True,
                                        train_config=TrainConfig(epochs=settings.ranker_epochs))
    return mv.version


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
    from naviyam.data.excel import import_workbook

    with session_scope(engine) as s:
        if count_shops(s):
            return None
    with progress_reporter(console) as report:
        result = import_workbook(engine, workbook, progress=report)
    return dict(result)


def ensure_sample_world(engine: Engine, settings: Settings, console: Console | None = None) -> dict[str, int] | None:
    """Generate the sample world when the shop table is empty; return its counts, or None."""
    from naviyam.data.generate import generate_world

    with session_scope(engine) as s:
        if count_shops(s):
            return None
    with progress_reporter(console) as report:
        return generate_world(engine, seed=settings.sample_seed, shops=settings.sample_shops,
                              users=settings.sample_users, days=settings.sample_days, progress=report)


def build_missing_models(engine: Engine, settings: Settings, console: Console | None = None) -> dict[str, str]:
    """Build every model kind that has no production version yet; return kind → version."""
    registry = ModelRegistry(engine, settings.models_dir)
    built = {}
    for kind, builder in MODEL_BUILDERS.items():
        current = registry.current(kind)
        if current is not None:
            built[kind] = current.version
            continue
        log.info("building %s model", kind)
        if console is not None:
            console.print(f"building the {kind} model (first start only)...")
        try:
            built[kind] = builder(engine, registry, settings)
        except ValueError as exc:
            if kind != "ranker":
                raise
            # Too few orders for a time split: the service still answers, in Layer 1's order.
            log.warning("ranker not built: %s", exc)
            if console is not None:
                console.print("[yellow]주문 기록이 아직 적어 순위 모델(ranker)을 만들지 못했어요. 추천은 후보 순서"
                              "(Layer 1)로 하고, 주문이 쌓이면 `naviyam train ranker`로 만들 수 있어요.[/yellow]")
    return built
