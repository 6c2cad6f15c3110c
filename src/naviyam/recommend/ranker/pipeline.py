"""Data → training → registry in one call: what ``naviyam train ranker`` and start-up use."""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from naviyam.progress import Reporter
from naviyam.recommend.features import FEATURE_VERSION
from naviyam.recommend.layer1 import load_config
from naviyam.recommend.ranker.serving import WideDeepRanker
from naviyam.recommend.ranker.trainer import (
    TRAIN_FILE,
    EpochStats,
    RankerTrainConfig,
    fit_wide_deep,
    load_training_set,
    plot_curves,
)
from naviyam.recommend.training_data import TrainingDataConfig, TrainingSetReport, build_training_set
from naviyam.retrieval.index import ShopIndex

log = logging.getLogger(__name__)


def default_dataset_dir(settings) -> Path:
    """Where ``naviyam train data`` writes unless told otherwise: ``<var_dir>/datasets/ranker``."""
    return Path(settings.var_dir) / "datasets" / "ranker"


def production_index(registry):
    """The production Layer 1 shop index (its embeddings are reused for unchanged shops), or None."""
    mv = registry.current("index") if registry is not None else None
    if mv is None:
        return None
    try:
        return ShopIndex.load(Path(mv.path) / "index")
    except (OSError, ValueError, KeyError) as exc:
        log.warning("production index %s unreadable (%s); shops will be embedded again", mv.version, exc)
        return None


def production_layer1_config(registry):
    """The fitted Layer 1 settings of the production index (the ranker serves behind them), or None."""
    mv = registry.current("index") if registry is not None else None
    if mv is None:
        return None
    try:
        return load_config(Path(mv.path))
    except (OSError, ValueError, KeyError) as exc:
        log.warning("production index %s has no readable Layer 1 config (%s); using the defaults", mv.version, exc)
        return None


def train_ranker(
    engine: Engine,
    registry,
    dataset_dir: Path,
    *,
    train_config: RankerTrainConfig | None = None,
    data_config: TrainingDataConfig | None = None,
    rebuild_data: bool = False,
    embedder=None,
    progress: Reporter | None = None,
    on_epoch: Callable[[EpochStats], None] | None = None,
    status: str = "production",
):
    """Build the training set when missing (or asked), train, register. Returns (ModelVersion, TrainResult, report)."""
    report: TrainingSetReport | None = None
    if rebuild_data or not (Path(dataset_dir) / TRAIN_FILE).exists():
        report = build_training_set(engine, dataset_dir, data_config, embedder=embedder,
                                    previous_index=production_index(registry), progress=progress,
                                    layer1_config=production_layer1_config(registry))
    mv, result = train_and_register(dataset_dir, registry, train_config, on_epoch=on_epoch, status=status)
    return mv, result, report


def build_ranker_model(engine: Engine, registry, settings) -> str:
    """``MODEL_BUILDERS["ranker"]`` for start-up: build the data, train, return the new version.

    Needs a Layer 1 index (the candidate generator is refitted from the
    database, so only the embedder is shared).
    """
    mv, _result, _report = train_ranker(engine, registry, default_dataset_dir(settings), rebuild_data=True)
    return mv.version


def _parse_time(value: Any) -> dt.datetime | None:
    if not value:
        return None
    return dt.datetime.fromisoformat(str(value))


def train_and_register(
    dataset_dir: Path,
    registry,
    config: RankerTrainConfig | None = None,
    *,
    on_epoch: Callable[[EpochStats], None] | None = None,
    status: str = "production",
):
    """Train on a training-set folder, save the best checkpoint as a new ranker version, register it.

    Returns ``(ModelVersion, TrainResult)``. The version folder holds
    ``weights.pt`` (state dict), ``ranker.json`` (config, vocabularies,
    metrics, checksum) and ``training_curves.png``.
    """
    cfg = config or RankerTrainConfig()
    train, val, ranking, manifest = load_training_set(dataset_dir)
    result = fit_wide_deep(train, val, ranking, cfg, categories=manifest.get("categories"), on_epoch=on_epoch)
    ranker = WideDeepRanker.from_training(result, cfg)
    alloc = registry.allocate("ranker")
    ranker.save(alloc.path)
    plot_curves(result.history, alloc.path / "training_curves.png", result.best_epoch)
    (alloc.path / "history.json").write_text(json.dumps(
        [asdict(h) for h in result.history], ensure_ascii=False, indent=1), encoding="utf-8")
    window = (_parse_time(manifest.get("window_start")), _parse_time(manifest.get("window_end")))
    mv = registry.register(
        alloc, metrics={k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in result.metrics.items()},
        config={"train": cfg.to_json(), "model": result.net.config.to_json(), "feature_version": FEATURE_VERSION,
                "dataset": str(dataset_dir), "dataset_manifest": {k: v for k, v in manifest.items()
                                                                  if k != "categories"}},
        data_window=window, status=status,
    )
    return mv, result
