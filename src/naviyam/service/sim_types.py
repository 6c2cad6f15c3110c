"""The simulation's names and records: arms, configuration, per-day figures, exposures, results."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from naviyam.learning.ab import CANDIDATE, PRODUCTION, assign_arm

Say = Callable[[str], None]
CONTROL, LEARNING = "control", "learning"
ARMS = (CONTROL, LEARNING)
#: Designs: every chosen user lives in every arm (the same random numbers), or each user in one arm.
PAIRED, SPLIT = "paired", "split"
DESIGNS = (PAIRED, SPLIT)
#: The A/B role each arm plays in the exposure log.
AB_ROLE = {LEARNING: CANDIDATE, CONTROL: PRODUCTION}
#: Model version written into the exposure log per arm (one test spanning the whole run).
AB_VERSION = {LEARNING: "simulate-learning", CONTROL: "simulate-control"}
#: Local meal times turns fall in: (start hour, span in minutes).
MEAL_WINDOWS = ((11, 120), (17, 150))


def arm_of(user_id: int, arms: tuple[str, ...], seed: int) -> str:
    """The arm a simulated user belongs to (one arm: everybody in it)."""
    if len(arms) == 1:
        return arms[0]
    return LEARNING if assign_arm(user_id, 0.5, f"naviyam-sim-{seed}") == CANDIDATE else CONTROL


class SimulationError(ValueError):
    """The simulation cannot run as asked (a Korean message for the operator)."""


@dataclass
class SimulateConfig:
    days: int = 14
    users: int = 300
    arms: tuple[str, ...] = ARMS
    seed: int = 7
    #: chance that a simulated user uses the service on a given day
    active_share: float = 0.8
    #: turns of an active user on a day: 1 + Poisson(extra_turns)
    extra_turns: float = 0.6
    #: first simulated day (None: the day after the world's last order)
    start: dt.date | None = None
    #: the nightly learning: ranker fine-tune options and whether the NLU retrains too
    learn_nlu: bool = False
    learn_epochs: int = 2
    learn_lr: float = 0.0005
    learn_window_days: int = 28
    in_place: bool = False
    #: ``paired``: every chosen user lives in every arm's world, with the same random numbers (the
    #: per-user difference is measured within the user); ``split``: each user in one arm (by the A/B hash)
    design: str = PAIRED

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["arms"] = list(self.arms)
        d["start"] = self.start.isoformat() if self.start else None
        return d


@dataclass
class DayStats:
    turns: int = 0
    shown: int = 0
    clicked: int = 0
    ordered: int = 0
    favourited: int = 0
    dismissed: int = 0
    rank_sum: int = 0
    users: int = 0

    @property
    def ctr(self) -> float:
        return self.clicked / self.shown if self.shown else 0.0

    @property
    def conversion(self) -> float:
        return self.ordered / self.shown if self.shown else 0.0

    @property
    def mean_rank(self) -> float | None:
        return self.rank_sum / self.clicked if self.clicked else None


@dataclass
class ArmResult:
    arm: str
    users: list[int]
    days: list[DayStats] = field(default_factory=list)
    #: per day, the model kinds (and versions) the nightly run promoted
    promotions: list[list[str]] = field(default_factory=list)
    #: user -> [turns that showed shops, clicked, ordered] over the whole run
    per_user: dict[int, list[int]] = field(default_factory=dict)
    learn_seconds: list[float] = field(default_factory=list)


@dataclass
class Exposure:
    """One turn of the exposure log."""

    arm: str
    user_id: int
    session_id: str
    message: str
    intent: str
    shown: list[int]
    at: dt.datetime  # UTC, naive
    feedback: list[tuple[str, int, dt.datetime]]  # (type, shop, UTC)


@dataclass
class SimulationResult:
    config: SimulateConfig
    dates: list[dt.date]
    arms: dict[str, ArmResult]
    taste_source: str
    out_dir: Path
    seconds: float = 0.0
    comparison: dict[str, Any] = field(default_factory=dict)
    #: the exposure log (every turn that showed shops, with its feedback)
    exposures: list[Exposure] = field(default_factory=list, repr=False)

    def summary_json(self) -> dict[str, Any]:
        """The ``--json`` line: days, per-arm CTR and conversion per day, and the learning arm's promotions."""
        arms = {a: {"ctr": [round(d.ctr, 4) for d in r.days], "conversion": [round(d.conversion, 4) for d in r.days]}
                for a, r in self.arms.items()}
        learning = self.arms.get(LEARNING)
        return {"days": [d.isoformat() for d in self.dates], "arms": arms,
                "promotions": learning.promotions if learning else [[] for _ in self.dates]}


# --------------------------------------------------------------------------- the arms' worlds


