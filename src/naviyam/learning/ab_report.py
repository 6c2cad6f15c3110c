"""The online A/B report, by the unit of assignment: per-user CTR and conversion, Welch's t-test, a planned sample.

Which turns count: interactions that showed recommendations while a test ran
(``interaction.ab_arm`` set) of *known* users. Arms are assigned by user id,
so a turn without one (an anonymous visitor, always served production) was
not randomised and is left out (counted in ``excluded_turns``). One test is
one candidate ranker: by default the newest candidate version found in the
candidate arm, compared with the production arm over the same period.

Per user u with n_u turns that showed shops:

* CTR_u        = turns with a clicked / ordered / favorited feedback / n_u;
* conversion_u = turns with an ordered feedback / n_u.

Per arm: the mean of CTR_u over its users with a t interval; between arms:
Welch's t-test and the interval of the difference (:mod:`naviyam.learning.ab`).

Planned sample and peeking. The test is a fixed-horizon design: the users
each arm needs, ``n = ⌈2 (z(1-α/2) + z(power))² σ² / δ²⌉``, come from the
stated minimum detectable effect δ (``ABDesign.mde``: absolute difference of
per-user CTR), α and the power, with σ the standard deviation of CTR_u over
all users of the test pooled without looking at the arms (a blinded estimate,
which keeps the false-positive rate at α), and never fewer than
``ABDesign.min_users``. Until both arms reach n the verdict is "계속 수집"
whatever the p-value says: a report may be run every day, but only the
analysis at the planned sample decides, so looking early does not inflate
false positives.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, select

from naviyam.core.charts import figure_png, new_figure
from naviyam.db.models import FeedbackEvent, Interaction
from naviyam.db.session import session_scope
from naviyam.learning.ab import (
    CANDIDATE,
    PRODUCTION,
    MeanInterval,
    WelchResult,
    mean_interval,
    users_per_arm,
    welch_test,
)

POSITIVE = ("clicked", "ordered", "favorited")
METRIC_NAMES = {"ctr": "사용자당 클릭률(CTR)", "conversion": "사용자당 전환율(주문)"}
ARM_NAMES = {CANDIDATE: "후보", PRODUCTION: "운영"}

#: Verdict states: no data yet, collecting up to the planned sample, and the three decisions.
NO_DATA, COLLECTING, PROMOTE, REJECT, NO_DIFFERENCE = "no_data", "collecting", "promote", "reject", "no_difference"


@dataclass(frozen=True)
class ABDesign:
    """How a test is planned and judged (settings ``NAVIYAM_AB_ALPHA``, ``_POWER``, ``_MDE``, ``_MIN_USERS``)."""

    alpha: float = 0.05
    power: float = 0.8
    mde: float = 0.02
    min_users: int = 100

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> ABDesign:
        values = {"alpha": settings.ab_alpha, "power": settings.ab_power, "mde": settings.ab_mde,
                  "min_users": settings.ab_min_users}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


@dataclass(frozen=True)
class ArmSummary:
    arm: str
    users: int
    shown: int
    clicked: int
    converted: int
    ctr: MeanInterval
    conversion: MeanInterval

    @property
    def turn_ctr(self) -> float:
        """Clicked turns / shown turns (pooled over users; shown, not tested)."""
        return self.clicked / self.shown if self.shown else 0.0


@dataclass(frozen=True)
class MetricComparison:
    metric: str
    candidate: MeanInterval
    production: MeanInterval
    welch: WelchResult
    significant: bool


@dataclass
class ABReport:
    candidate_version: str | None
    production_versions: list[str]
    start: dt.datetime | None
    end: dt.datetime | None
    arms: dict[str, ArmSummary]
    design: ABDesign = field(default_factory=ABDesign)
    comparisons: list[MetricComparison] = field(default_factory=list)
    planned_users: int = 0
    planning_sd: float | None = None
    excluded_turns: int = 0

    @property
    def has_data(self) -> bool:
        return all(self.arms.get(a) is not None and self.arms[a].users >= 2 for a in (CANDIDATE, PRODUCTION))

    @property
    def sample_reached(self) -> bool:
        return self.has_data and min(self.arms[a].users for a in (CANDIDATE, PRODUCTION)) >= self.planned_users

    def comparison(self, metric: str) -> MetricComparison | None:
        return next((c for c in self.comparisons if c.metric == metric), None)

    @property
    def status(self) -> str:
        if not self.has_data:
            return NO_DATA
        if not self.sample_reached:
            return COLLECTING
        ctr = self.comparison("ctr")
        if not ctr.significant:
            return NO_DIFFERENCE
        return PROMOTE if ctr.welch.diff > 0 else REJECT

    def verdict(self) -> str:
        """One Korean sentence (or two) for the operator."""
        status = self.status
        if status == NO_DATA:
            return "두 그룹 모두에 추천을 본 사용자가 두 명 이상 있어야 비교할 수 있어요."
        c, p = self.arms[CANDIDATE].users, self.arms[PRODUCTION].users
        if status == COLLECTING:
            return (f"계속 수집: 그룹마다 사용자 {self.planned_users}명이 필요해요 (지금 후보 {c}명, 운영 {p}명). "
                    "계획한 표본에 닿기 전에는 p값이 작아 보여도 판단하지 마세요. 중간에 자주 들여다보고 "
                    "멈추면 거짓 양성이 늘어요.")
        w = self.comparison("ctr").welch
        diff = (f"차이 {w.diff:+.3f}, {1 - self.design.alpha:.0%} 신뢰구간 [{w.low:+.3f}, {w.high:+.3f}], "
                f"p={w.p_value:.4f}")
        if status == PROMOTE:
            return (f"후보 모델의 사용자당 클릭률이 유의하게 높아요 ({diff}). "
                    f"`naviyam models promote {self.candidate_version}`로 승격하세요.")
        if status == REJECT:
            return f"후보 모델의 사용자당 클릭률이 유의하게 낮아요 ({diff}). 승격하지 마세요."
        return (f"계획한 표본에서 클릭률 차이가 유의하지 않아요 ({diff}). 운영 모델을 그대로 두세요 "
                f"(최소 검출 효과 {self.design.mde:.3f} 이상의 차이는 없다고 볼 수 있어요).")

    def to_json(self) -> dict[str, Any]:
        def interval(m: MeanInterval) -> dict[str, float]:
            return {"mean": m.mean, "low": m.low, "high": m.high, "sd": m.sd, "n": m.n}

        return {
            "candidate_version": self.candidate_version, "production_versions": self.production_versions,
            "start": self.start.isoformat() if self.start else None, "end": self.end.isoformat() if self.end else None,
            "unit": "user",
            "design": {"alpha": self.design.alpha, "power": self.design.power, "mde": self.design.mde,
                       "min_users": self.design.min_users, "planned_users_per_arm": self.planned_users,
                       "planning_sd": self.planning_sd},
            "arms": {a: {"users": s.users, "shown": s.shown, "clicked": s.clicked, "converted": s.converted,
                         "turn_ctr": s.turn_ctr, "ctr": interval(s.ctr), "conversion": interval(s.conversion)}
                     for a, s in self.arms.items()},
            "comparisons": [{"metric": c.metric, "candidate": interval(c.candidate),
                             "production": interval(c.production),
                             "diff": c.welch.diff, "diff_low": c.welch.low, "diff_high": c.welch.high,
                             "t": c.welch.t, "df": c.welch.df, "p_value": c.welch.p_value,
                             "significant": c.significant} for c in self.comparisons],
            "excluded_turns": self.excluded_turns,
            "sample_reached": self.sample_reached,
            "status": self.status,
            "verdict": self.verdict(),
        }


def summarise(per_user: dict[str, dict[Any, list[int]]], design: ABDesign) -> tuple[
        dict[str, ArmSummary], list[MetricComparison], int, float | None]:
    """Arm summaries, comparisons, planned users per arm and the planning σ from per-user counts.

    ``per_user[arm][user] = [shown, clicked, converted]`` (turns).
    """
    arms: dict[str, ArmSummary] = {}
    values: dict[str, dict[str, np.ndarray]] = {}
    for arm in (CANDIDATE, PRODUCTION):
        counts = np.array(list(per_user.get(arm, {}).values()), dtype=float).reshape(-1, 3)
        shown = counts[:, 0]
        keep = shown > 0
        ctr = counts[keep, 1] / shown[keep]
        conv = counts[keep, 2] / shown[keep]
        values[arm] = {"ctr": ctr, "conversion": conv}
        arms[arm] = ArmSummary(arm, int(keep.sum()), int(shown.sum()), int(counts[:, 1].sum()),
                               int(counts[:, 2].sum()), mean_interval(ctr, design.alpha),
                               mean_interval(conv, design.alpha))
    pooled = np.concatenate([values[a]["ctr"] for a in (CANDIDATE, PRODUCTION)])
    sd = float(pooled.std(ddof=1)) if pooled.size >= 2 else None
    planned = max(design.min_users, users_per_arm(sd, design.mde, design.alpha, design.power)) if sd is not None \
        else design.min_users
    comparisons = []
    if all(arms[a].users >= 2 for a in (CANDIDATE, PRODUCTION)):
        for metric in ("ctr", "conversion"):
            w = welch_test(values[CANDIDATE][metric], values[PRODUCTION][metric], design.alpha)
            comparisons.append(MetricComparison(metric, getattr(arms[CANDIDATE], metric),
                                                getattr(arms[PRODUCTION], metric), w, w.p_value < design.alpha))
    return arms, comparisons, planned, sd


def ab_report(engine: Engine, *, since: dt.datetime | None = None, until: dt.datetime | None = None,
              candidate_version: str | None = None, design: ABDesign | None = None) -> ABReport:
    """The report for one candidate ranker (the newest one seen when not given)."""
    design = design or ABDesign()
    with session_scope(engine) as s:
        q = select(Interaction.id, Interaction.user_id, Interaction.ab_arm, Interaction.model_versions,
                   Interaction.recommendations, Interaction.created_at).where(Interaction.ab_arm.is_not(None))
        if since is not None:
            q = q.where(Interaction.created_at >= since)
        if until is not None:
            q = q.where(Interaction.created_at < until)
        rows = [r for r in s.execute(q.order_by(Interaction.id)) if r.recommendations]
        if candidate_version is None:
            cands = [r for r in rows if r.ab_arm == CANDIDATE and (r.model_versions or {}).get("ranker")]
            candidate_version = cands[-1].model_versions["ranker"] if cands else None
        in_test = [r for r in rows if r.ab_arm == CANDIDATE and (r.model_versions or {}).get("ranker")
                   == candidate_version]
        start = min((r.created_at for r in in_test), default=None)
        end = max((r.created_at for r in in_test), default=None)
        if start is not None:
            rows = [r for r in rows if start <= r.created_at <= end and (
                r.ab_arm == PRODUCTION or (r.model_versions or {}).get("ranker") == candidate_version)]
        else:
            rows = []
        excluded = sum(r.user_id is None for r in rows)
        rows = [r for r in rows if r.user_id is not None]
        ids = [r.id for r in rows]
        feedback: dict[int, set[str]] = defaultdict(set)
        for chunk in range(0, len(ids), 900):
            for iid, kind in s.execute(select(FeedbackEvent.interaction_id, FeedbackEvent.feedback_type)
                                       .where(FeedbackEvent.interaction_id.in_(ids[chunk:chunk + 900]))):
                feedback[iid].add(kind)
    per_user: dict[str, dict[Any, list[int]]] = {CANDIDATE: {}, PRODUCTION: {}}
    prod_versions: set[str] = set()
    for r in rows:
        c = per_user.setdefault(r.ab_arm, {}).setdefault(r.user_id, [0, 0, 0])
        kinds = feedback.get(r.id, set())
        c[0] += 1
        c[1] += bool(kinds & set(POSITIVE))
        c[2] += "ordered" in kinds
        if r.ab_arm == PRODUCTION and (r.model_versions or {}).get("ranker"):
            prod_versions.add(r.model_versions["ranker"])
    arms, comparisons, planned, sd = summarise(per_user, design)
    return ABReport(candidate_version, sorted(prod_versions), start, end, arms, design, comparisons, planned, sd,
                    excluded)


def plot_intervals(report: ABReport) -> bytes:
    """PNG: per-arm means with their intervals (top) and the difference with its interval and ±MDE (bottom)."""
    fig = new_figure(9, 4.6)
    axes = fig.subplots(2, 2, gridspec_kw={"height_ratios": [2, 1]})
    level = f"{1 - report.design.alpha:.0%}"
    colors = {CANDIDATE: "#d9534f", PRODUCTION: "#337ab7"}
    for col, metric in enumerate(("ctr", "conversion")):
        top, bottom = axes[0][col], axes[1][col]
        for y, arm in enumerate((PRODUCTION, CANDIDATE)):
            s = report.arms.get(arm)
            if s is None or s.users == 0:
                continue
            m = getattr(s, metric)
            top.errorbar([m.mean], [y], xerr=[[m.mean - m.low], [m.high - m.mean]], fmt="o", capsize=5,
                         color=colors[arm])
            top.annotate(f"{m.mean:.3f} [{m.low:.3f}, {m.high:.3f}]", (m.mean, y), textcoords="offset points",
                         xytext=(0, 8), ha="center", fontsize=8)
        top.set_yticks([0, 1], [f"운영 ({report.arms[PRODUCTION].users if PRODUCTION in report.arms else 0}명)",
                                f"후보 ({report.arms[CANDIDATE].users if CANDIDATE in report.arms else 0}명)"])
        top.set_ylim(-0.6, 1.6)
        top.set_title(f"{METRIC_NAMES[metric]} · {level} 신뢰구간", fontsize=10)
        top.grid(alpha=0.3, axis="x")
        c = report.comparison(metric)
        bottom.axvline(0, color="grey", linewidth=1)
        if metric == "ctr":
            for x in (-report.design.mde, report.design.mde):
                bottom.axvline(x, color="grey", linestyle=":", linewidth=1)
        if c is not None:
            w = c.welch
            bottom.errorbar([w.diff], [0], xerr=[[w.diff - w.low], [w.high - w.diff]], fmt="s", capsize=5,
                            color="#5cb85c" if c.significant else "black")
            bottom.annotate(f"{w.diff:+.3f} (p={w.p_value:.3f})", (w.diff, 0), textcoords="offset points",
                            xytext=(0, 7), ha="center", fontsize=8)
        bottom.set_yticks([0], ["후보 - 운영"])
        bottom.set_ylim(-0.8, 0.9)
        bottom.grid(alpha=0.3, axis="x")
    fig.suptitle(f"A/B 테스트 ({report.candidate_version or '후보 없음'}) — 사용자 단위, "
                 f"계획 {report.planned_users}명/그룹", fontsize=11)
    fig.tight_layout()
    return figure_png(fig)


def write_report_files(report: ABReport, out_dir: Path) -> dict[str, Path]:
    """``ab_intervals.png`` and ``ab_report.json`` in ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    png = out_dir / "ab_intervals.png"
    png.write_bytes(plot_intervals(report))
    js = out_dir / "ab_report.json"
    js.write_text(json.dumps(report.to_json(), ensure_ascii=False, indent=1), encoding="utf-8")
    return {"png": png, "json": js}
