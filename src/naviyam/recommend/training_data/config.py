"""The settings of a training-set build and its report."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class TrainingDataConfig:
    #: positives used (sampled evenly over time when there are more); 0 = all
    max_positives: int = 12_000
    #: Layer 1 candidates not chosen, per positive: one hard (same category), the rest at random
    negatives_per_positive: int = 8
    #: the share of the time span used only to warm up the counts (no examples)
    warmup_share: float = 0.15
    val_share: float = 0.2
    #: length of a request window: at each window's start Layer 1 is refitted and every user who
    #: chooses something in the window asks for recommendations (see the module doc)
    window_days: float = 14.0
    #: validation orders whose whole candidate list is kept for ranking metrics
    ranking_lists: int = 400
    candidates_k: int = 100
    min_review_rating: int = 4
    #: negatives drawn from the whole catalogue per positive (half uniformly, half by popularity), besides
    #: the Layer 1 ones: the ranker learns what users choose, not only what Layer 1 found
    catalogue_negatives: int = 1
    #: share of simulated requests with no words at all ("오늘 뭐 먹지?"), as the vague requests of known users
    vague_share: float = 0.35
    seed: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrainingSetReport:
    folder: Path
    n_train: int
    n_val: int
    n_ranking_rows: int
    n_ranking_lists: int
    positives: dict[str, int]
    skipped_uncovered: int
    cutoff: dt.datetime
    window: tuple[dt.datetime, dt.datetime]
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)


