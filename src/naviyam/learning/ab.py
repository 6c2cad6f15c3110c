"""Online A/B tests: stable arm assignment, and statistics by the unit of assignment (the user).

Users, not chat turns, are assigned to arms (a hash of the user id), so users
are the independent units: the turns of one user share that user's taste and
are correlated. Every test here therefore works on one number per user (that
user's CTR or conversion over the turns that showed shops). Formulas (pure
functions, no I/O):

* arm: ``sha256(salt:user_id)`` read as a number in [0, 1); below ``share`` → candidate.
* per-arm interval for the mean of per-user values x₁…xₙ (t interval):
  ``x̄ ± t(1-α/2, n-1) · s/√n``, clipped to [0, 1] (the values are shares).
* difference of the arms, Welch's t-test (unequal variances):
  ``t = (x̄₁ - x̄₂) / sqrt(s₁²/n₁ + s₂²/n₂)`` with Welch–Satterthwaite degrees of freedom
  ``df = (s₁²/n₁ + s₂²/n₂)² / ((s₁²/n₁)²/(n₁-1) + (s₂²/n₂)²/(n₂-1))``, two-sided p-value and the
  ``(1-α)`` interval of x̄₁ - x̄₂ (``scipy.stats.ttest_ind(equal_var=False)``).
* planned users per arm for a minimum detectable effect δ (absolute difference of per-user means)
  at two-sided level α and power 1-β, with σ the per-user standard deviation:
  ``n = ⌈2 (z(1-α/2) + z(1-β))² σ² / δ²⌉``.

The turn-level statistics (Wilson interval, two-proportion z-test) stay for
reference: they are right for independent trials and wrong for turns of the
same users, whose correlation makes their p-values far too small.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

PRODUCTION = "production"
CANDIDATE = "candidate"


def assign_arm(user_key: int | str | None, share: float, salt: str = "naviyam-ab") -> str:
    """Stable arm for a user: the same user always lands in the same arm for a given salt."""
    if share <= 0 or user_key is None:
        return PRODUCTION
    digest = hashlib.sha256(f"{salt}:{user_key}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    return CANDIDATE if u < share else PRODUCTION


# --------------------------------------------------------------------------- per user (the unit)


@dataclass(frozen=True)
class MeanInterval:
    """Mean of per-user values with its t interval."""

    n: int
    mean: float
    sd: float
    low: float
    high: float


@dataclass(frozen=True)
class WelchResult:
    """Candidate minus production: difference of per-user means, its interval, Welch's t and p."""

    diff: float
    low: float
    high: float
    t: float
    df: float
    p_value: float


def mean_interval(values: Sequence[float], alpha: float = 0.05) -> MeanInterval:
    """``x̄ ± t(1-α/2, n-1)·s/√n`` clipped to [0, 1]; fewer than two values give the whole [0, 1]."""
    x = np.asarray(values, dtype=float)
    n = int(x.size)
    if n == 0:
        return MeanInterval(0, 0.0, 0.0, 0.0, 1.0)
    mean = float(x.mean())
    if n < 2:
        return MeanInterval(n, mean, 0.0, 0.0, 1.0)
    sd = float(x.std(ddof=1))
    half = float(stats.t.ppf(1 - alpha / 2, n - 1)) * sd / math.sqrt(n)
    return MeanInterval(n, mean, sd, max(0.0, mean - half), min(1.0, mean + half))


def welch_test(candidate: Sequence[float], production: Sequence[float], alpha: float = 0.05) -> WelchResult:
    """Welch's two-sample t-test of per-user values (candidate - production), with the difference's interval.

    With fewer than two users in an arm nothing can be said (p = 1, interval [-1, 1]). When both arms
    have no spread at all, equal means give p = 1 and different means p = 0.
    """
    a = np.asarray(candidate, dtype=float)
    b = np.asarray(production, dtype=float)
    if a.size < 2 or b.size < 2:
        diff = float(a.mean() - b.mean()) if a.size and b.size else 0.0
        return WelchResult(diff, -1.0, 1.0, 0.0, 0.0, 1.0)
    diff = float(a.mean() - b.mean())
    se2 = a.var(ddof=1) / a.size + b.var(ddof=1) / b.size
    if se2 == 0:
        p = 1.0 if diff == 0 else 0.0
        return WelchResult(diff, diff, diff, 0.0 if diff == 0 else math.copysign(math.inf, diff),
                           float(a.size + b.size - 2), p)
    res = stats.ttest_ind(a, b, equal_var=False)
    ci = res.confidence_interval(1 - alpha)
    return WelchResult(diff, float(ci.low), float(ci.high), float(res.statistic), float(res.df), float(res.pvalue))


def paired_t_test(candidate: Sequence[float], production: Sequence[float], alpha: float = 0.05) -> WelchResult:
    """The paired t-test of per-unit values measured under both arms (candidate - production, unit by unit).

    For a simulation that lets every user live both arms: the differences d_u share the user's own level,
    so their spread is far smaller than the spread between users. Same fields as :func:`welch_test`
    (``df`` = n - 1); fewer than two pairs say nothing (p = 1, interval [-1, 1]).
    """
    a = np.asarray(candidate, dtype=float)
    b = np.asarray(production, dtype=float)
    if a.shape != b.shape:
        raise ValueError("paired values need one candidate and one production value per unit")
    d = a - b
    diff = float(d.mean()) if d.size else 0.0
    if d.size < 2:
        return WelchResult(diff, -1.0, 1.0, 0.0, 0.0, 1.0)
    if float(d.std(ddof=1)) == 0.0:
        p = 1.0 if diff == 0 else 0.0
        return WelchResult(diff, diff, diff, 0.0 if diff == 0 else math.copysign(math.inf, diff),
                           float(d.size - 1), p)
    res = stats.ttest_rel(a, b)
    ci = res.confidence_interval(1 - alpha)
    return WelchResult(diff, float(ci.low), float(ci.high), float(res.statistic), float(res.df), float(res.pvalue))


def users_per_arm(sd: float, mde: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """``⌈2 (z(1-α/2) + z(power))² σ² / δ²⌉``: users each arm needs to detect a difference ``mde`` (δ)."""
    if mde <= 0:
        raise ValueError("mde must be positive")
    if sd <= 0:
        return 2
    z = float(stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power))
    return max(2, math.ceil(2 * z * z * sd * sd / (mde * mde)))


# --------------------------------------------------------------------------- per turn (reference only)


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of k/n: ``(p̂ + z²/2n ± z·sqrt(p̂(1-p̂)/n + z²/4n²)) / (1 + z²/n)``."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def two_proportion_test(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float]:
    """(z, two-sided p) for H0: p1 == p2 over independent trials: pooled p = (k₁+k₂)/(n₁+n₂),
    ``z = (p̂₁ - p̂₂) / sqrt(p(1-p)(1/n₁ + 1/n₂))``, ``p = erfc(|z|/√2)``.

    Not valid for chat turns of users assigned as a whole (see the module docstring).
    """
    if n1 == 0 or n2 == 0:
        return (0.0, 1.0)
    pooled = (k1 + k2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return (0.0, 1.0)
    z = (k1 / n1 - k2 / n2) / se
    return (z, math.erfc(abs(z) / math.sqrt(2)))
