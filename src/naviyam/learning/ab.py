"""Online A/B tests: stable arm assignment and per-arm CTR / conversion with significance.

Formulas (pure functions, no I/O):

* arm: ``sha256(salt:user_id)`` read as a number in [0, 1); below ``share`` → candidate.
* Wilson score interval for a proportion p̂ = k/n at z (1.96 for 95 %):
  ``(p̂ + z²/2n ± z·sqrt(p̂(1-p̂)/n + z²/4n²)) / (1 + z²/n)``.
* Two-proportion z-test: pooled p = (k₁+k₂)/(n₁+n₂),
  ``z = (p̂₁ - p̂₂) / sqrt(p(1-p)(1/n₁ + 1/n₂))``, two-sided p-value ``erfc(|z|/√2)``.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

PRODUCTION = "production"
CANDIDATE = "candidate"


def assign_arm(user_key: int | str | None, share: float, salt: str = "naviyam-ab") -> str:
    """Stable arm for a user: the same user always lands in the same arm for a given salt."""
    if share <= 0 or user_key is None:
        return PRODUCTION
    digest = hashlib.sha256(f"{salt}:{user_key}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    return CANDIDATE if u < share else PRODUCTION


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def two_proportion_test(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float]:
    """(z, two-sided p-value) for H0: p1 == p2."""
    if n1 == 0 or n2 == 0:
        return (0.0, 1.0)
    pooled = (k1 + k2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return (0.0, 1.0)
    z = (k1 / n1 - k2 / n2) / se
    return (z, math.erfc(abs(z) / math.sqrt(2)))


@dataclass(frozen=True)
class ArmStats:
    arm: str
    shown: int
    clicked: int
    converted: int

    @property
    def ctr(self) -> float:
        return self.clicked / self.shown if self.shown else 0.0

    @property
    def conversion(self) -> float:
        return self.converted / self.shown if self.shown else 0.0


@dataclass(frozen=True)
class Comparison:
    metric: str
    candidate: float
    production: float
    candidate_ci: tuple[float, float]
    production_ci: tuple[float, float]
    z: float
    p_value: float
    significant: bool


def compare_arms(candidate: ArmStats, production: ArmStats, alpha: float = 0.05) -> list[Comparison]:
    out = []
    for metric, kc, kp in (("ctr", candidate.clicked, production.clicked),
                           ("conversion", candidate.converted, production.converted)):
        z, p = two_proportion_test(kc, candidate.shown, kp, production.shown)
        out.append(Comparison(
            metric, kc / candidate.shown if candidate.shown else 0.0, kp / production.shown if production.shown else 0.0,
            wilson_interval(kc, candidate.shown), wilson_interval(kp, production.shown), z, p, p < alpha,
        ))
    return out
