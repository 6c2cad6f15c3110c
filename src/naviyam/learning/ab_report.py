"""The online A/B report: per-arm CTR and conversion from stored interactions and feedback.

Per arm, over interactions that showed recommendations while a test ran
(``interaction.ab_arm`` set):

* shown     = such interactions;
* clicked   = those with at least one clicked / ordered / favorited feedback;
* converted = those with an ordered feedback.

CTR = clicked / shown, conversion = converted / shown, each with its Wilson
interval, and the two-proportion z-test between the arms
(:func:`naviyam.learning.ab.compare_arms`). One test is one candidate ranker:
by default the newest candidate version found in the candidate arm, compared
with the production arm over the same period.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select

from naviyam.db.models import FeedbackEvent, Interaction
from naviyam.db.session import session_scope
from naviyam.learning.ab import CANDIDATE, PRODUCTION, ArmStats, Comparison, compare_arms

POSITIVE = ("clicked", "ordered", "favorited")
METRIC_NAMES = {"ctr": "클릭률(CTR)", "conversion": "전환율(주문)"}


@dataclass
class ABReport:
    candidate_version: str | None
    production_versions: list[str]
    start: dt.datetime | None
    end: dt.datetime | None
    arms: dict[str, ArmStats]
    users: dict[str, int]
    comparisons: list[Comparison] = field(default_factory=list)
    alpha: float = 0.05

    @property
    def has_data(self) -> bool:
        return all(self.arms.get(a) and self.arms[a].shown > 0 for a in (CANDIDATE, PRODUCTION))

    def verdict(self) -> str:
        """One Korean sentence for the operator."""
        if not self.has_data:
            return "두 그룹 모두에 추천이 보여진 대화가 있어야 비교할 수 있어요."
        ctr = next(c for c in self.comparisons if c.metric == "ctr")
        if not ctr.significant:
            return (f"클릭률 차이가 통계적으로 유의하지 않아요 (p={ctr.p_value:.3f} ≥ {self.alpha}). "
                    "데이터를 더 모으거나 후보를 그대로 두세요.")
        if ctr.candidate > ctr.production:
            return (f"후보 모델의 클릭률이 유의하게 높아요 (p={ctr.p_value:.3f}). "
                    f"`naviyam models promote {self.candidate_version}`로 승격을 검토하세요.")
        return f"후보 모델의 클릭률이 유의하게 낮아요 (p={ctr.p_value:.3f}). 승격하지 마세요."

    def to_json(self) -> dict[str, Any]:
        return {
            "candidate_version": self.candidate_version, "production_versions": self.production_versions,
            "start": self.start.isoformat() if self.start else None, "end": self.end.isoformat() if self.end else None,
            "arms": {a: {"shown": s.shown, "clicked": s.clicked, "converted": s.converted, "ctr": s.ctr,
                         "conversion": s.conversion, "users": self.users.get(a, 0)} for a, s in self.arms.items()},
            "comparisons": [{"metric": c.metric, "candidate": c.candidate, "production": c.production,
                             "candidate_ci": list(c.candidate_ci), "production_ci": list(c.production_ci),
                             "z": c.z, "p_value": c.p_value, "significant": c.significant} for c in self.comparisons],
            "verdict": self.verdict(),
        }


def ab_report(engine: Engine, *, since: dt.datetime | None = None, until: dt.datetime | None = None,
              candidate_version: str | None = None, alpha: float = 0.05) -> ABReport:
    """Per-arm figures and the comparison for one candidate ranker (the newest one seen when not given)."""
    with session_scope(engine) as s:
        q = select(Interaction.id, Interaction.user_id, Interaction.session_id, Interaction.ab_arm,
                   Interaction.model_versions, Interaction.recommendations, Interaction.created_at
                   ).where(Interaction.ab_arm.is_not(None))
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
        ids = [r.id for r in rows]
        feedback: dict[int, set[str]] = {}
        for chunk in range(0, len(ids), 900):
            for iid, kind in s.execute(select(FeedbackEvent.interaction_id, FeedbackEvent.feedback_type)
                                       .where(FeedbackEvent.interaction_id.in_(ids[chunk:chunk + 900]))):
                feedback.setdefault(iid, set()).add(kind)
    counts = {a: [0, 0, 0] for a in (CANDIDATE, PRODUCTION)}
    users: dict[str, set[Any]] = {a: set() for a in counts}
    prod_versions: set[str] = set()
    for r in rows:
        c = counts.setdefault(r.ab_arm, [0, 0, 0])
        kinds = feedback.get(r.id, set())
        c[0] += 1
        c[1] += bool(kinds & set(POSITIVE))
        c[2] += "ordered" in kinds
        users.setdefault(r.ab_arm, set()).add(r.user_id if r.user_id is not None else r.session_id)
        if r.ab_arm == PRODUCTION and (r.model_versions or {}).get("ranker"):
            prod_versions.add(r.model_versions["ranker"])
    arms = {a: ArmStats(a, *v) for a, v in counts.items()}
    report = ABReport(candidate_version, sorted(prod_versions), start, end, arms,
                      {a: len(u) for a, u in users.items()}, alpha=alpha)
    if report.has_data:
        report.comparisons = compare_arms(arms[CANDIDATE], arms[PRODUCTION], alpha=alpha)
    return report
