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

#: kind → builder(engine, registry, settings) returning the new version string.
#: Filled as trainable parts land; each builds only when no production version exists.
MODEL_BUILDERS: dict[str, Callable[[Engine, ModelRegistry, Settings], str]] = {}


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
        built[kind] = builder(engine, registry, settings)
    return built
