"""What ``naviyam simulate`` writes: the exposure log as an A/B log, the per-user comparison, table and chart."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from naviyam.core.charts import figure_png, new_figure
from naviyam.core.clock import zone
from naviyam.db.models import FeedbackEvent, Interaction
from naviyam.db.session import make_engine, migrate
from naviyam.learning.ab import CANDIDATE, PRODUCTION
from naviyam.learning.ab_report import ABDesign, summarise
from naviyam.service.sim_types import AB_ROLE, AB_VERSION, LEARNING, Exposure, SimulationResult

ARM_LABELS = {"control": "대조(control, 첫날 모델 유지)", "learning": "학습(learning, 매일 밤 naviyam learn)"}
COLORS = {"control": "#337ab7", "learning": "#d9534f"}


def write_ab_log(folder: Path, rows: list[Exposure]) -> Path:
    """The run's exposure log in a fresh database at ``folder/naviyam.db``, as the service stores an A/B test:
    one interaction per turn that showed shops (``ab_arm``: learning = candidate, control = production; the
    ranker version names the arm) and its feedback events. ``naviyam ab report`` reads it as is."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "naviyam.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{db.as_posix()}")
    migrate(engine)
    with engine.begin() as conn:
        for r in rows:
            iid = conn.execute(insert(Interaction).values(
                session_id=r.session_id, user_id=r.user_id, message=r.message, intent=r.intent,
                recommendations=[{"shop_id": s, "rank": i + 1} for i, s in enumerate(r.shown)],
                model_versions={"ranker": AB_VERSION[r.arm]}, ab_arm=AB_ROLE[r.arm], created_at=r.at)).inserted_primary_key[0]
            for kind, shop, when in r.feedback:
                conn.execute(insert(FeedbackEvent).values(interaction_id=iid, user_id=r.user_id, shop_id=shop,
                                                          feedback_type=kind, created_at=when))
    engine.dispose()
    return db


def per_user_counts(rows: list[Exposure]) -> dict[str, dict[Any, list[int]]]:
    """The simulation's own per-user counts in the A/B roles: ``{role: {user: [shown, clicked, ordered]}}``.

    The period is the one an A/B report reads: from the learning arm's first exposure to its last (with one
    arm, the whole run). Turns of control users after the learning arm's last turn of the run are left out,
    as ``naviyam ab report`` leaves them out."""
    learning = [r.at for r in rows if r.arm == LEARNING]
    lo, hi = (min(learning), max(learning)) if learning else (None, None)
    out: dict[str, dict[Any, list[int]]] = {CANDIDATE: {}, PRODUCTION: {}}
    for r in rows:
        if lo is not None and not lo <= r.at <= hi:
            continue
        c = out[AB_ROLE[r.arm]].setdefault(r.user_id, [0, 0, 0])
        kinds = {k for k, _, _ in r.feedback}
        c[0] += 1
        c[1] += bool(kinds & {"clicked", "ordered", "favorited"})
        c[2] += "ordered" in kinds
    return out


def _welch(rows: list[Exposure], alpha: float) -> dict[str, Any]:
    arms, comps, _planned, _sd = summarise(per_user_counts(rows), ABDesign(alpha=alpha, min_users=2))
    out: dict[str, Any] = {"users": {"learning": arms[CANDIDATE].users, "control": arms[PRODUCTION].users}}
    for c in comps:
        out[c.metric] = {"learning": c.candidate.mean, "control": c.production.mean, "diff": c.welch.diff,
                         "low": c.welch.low, "high": c.welch.high, "t": c.welch.t, "p_value": c.welch.p_value,
                         "significant": c.significant}
    return out


def compare_arms(result: SimulationResult, alpha: float = 0.05, last_days: int | None = None) -> dict[str, Any]:
    """Per-user CTR and conversion of the arms over the run (:func:`per_user_counts`), Welch's t-test
    (learning − control); under ``"last_days"`` the same over the run's last ``last_days`` days (default: the
    second half), when learning has had time to act; under ``"first_day"`` the same over day 1, when both arms
    still serve the day-0 models (a difference there is the luck of the split, not learning)."""
    if len(result.arms) < 2:
        return {}
    out = _welch(result.exposures, alpha)
    if len(result.dates) > 1:
        # Day 1 is served by the same day-0 models in both arms: any difference there is the luck of the split.
        day1 = [r for r in result.exposures if _local_date(r.at) == result.dates[0]]
        out["first_day"] = {"days": 1, "from": result.dates[0].isoformat(), **_welch(day1, alpha)}
    k = last_days if last_days is not None else len(result.dates) // 2
    if 0 < k < len(result.dates):
        first = result.dates[-k]
        tail = [r for r in result.exposures if _local_date(r.at) >= first]
        out["last_days"] = {"days": k, "from": first.isoformat(), **_welch(tail, alpha)}
    return out


def _local_date(at_utc):
    return at_utc.replace(tzinfo=dt.UTC).astimezone(zone()).date()


def markdown(result: SimulationResult, command: str | None = None) -> str:
    """The per-day table (both arms), the per-user comparison and the command that produced it."""
    cfg = result.config
    lines = ["# naviyam simulate", ""]
    if command:
        lines += ["```", command, "```", ""]
    lines += [f"- 기간: {result.dates[0]} ~ {result.dates[-1]} ({len(result.dates)}일), 시드 {cfg.seed}, "
              f"사용자 {sum(len(r.users) for r in result.arms.values())}명 "
              f"({', '.join(f'{a} {len(r.users)}명' for a, r in result.arms.items())})",
              f"- 취향: {'생성기의 숨은 취향(시드로 다시 만든 것)' if result.taste_source == 'generator' else '주문 기록으로 추정'}",
              f"- 밤 학습: 랭커 미세조정 {cfg.learn_epochs} epoch, lr {cfg.learn_lr}, 창 {cfg.learn_window_days}일, "
              f"NLU {'재학습' if cfg.learn_nlu else '재학습 안 함'}",
              f"- 걸린 시간: {result.seconds:.0f}초", ""]
    head = ["날짜"]
    for a in result.arms:
        head += [f"{a} CTR", f"{a} 전환율", f"{a} 평균 순위", f"{a} 추천 대화"]
    head += ["승격"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    learning = result.arms.get("learning")
    for i, day in enumerate(result.dates):
        row = [day.isoformat()]
        for r in result.arms.values():
            d = r.days[i]
            row += [f"{d.ctr:.3f}", f"{d.conversion:.3f}", "-" if d.mean_rank is None else f"{d.mean_rank:.2f}",
                    str(d.shown)]
        row.append(", ".join(p.split(":")[0] for p in learning.promotions[i]) if learning else "")
        lines.append("| " + " | ".join(row) + " |")
    comp = result.comparison
    if comp:
        lines += ["", "사용자 단위 비교 (전체 기간, 사용자마다 CTR·전환율 하나, Welch t-검정, learning − control):", ""]
        lines += ["| 지표 | learning | control | 차이 | 95% 구간 | p |", "|---|---|---|---|---|---|"]
        for metric, name in (("ctr", "CTR"), ("conversion", "전환율")):
            c = comp.get(metric)
            if c:
                lines.append(f"| {name} | {c['learning']:.4f} | {c['control']:.4f} | {c['diff']:+.4f} | "
                             f"[{c['low']:+.4f}, {c['high']:+.4f}] | {c['p_value']:.4g} |")
        lines += ["", f"사용자 수: learning {comp['users']['learning']}명, control {comp['users']['control']}명. "
                  "같은 로그를 `NAVIYAM_VAR_DIR=<out>/ab naviyam ab report --min-users 2`로 읽으면 같은 값이 나와요."]
        for key, title in (("first_day", "첫날만(두 그룹 모두 첫날 모델: 여기서 나는 차이는 사용자를 나눈 운):"),
                           ("last_days", "마지막 {days}일({start}부터)만, 같은 방법:")):
            part = comp.get(key)
            if not part:
                continue
            lines += ["", title.format(days=part["days"], start=part["from"]), "",
                      "| 지표 | learning | control | 차이 | 95% 구간 | p |", "|---|---|---|---|---|---|"]
            for metric, name in (("ctr", "CTR"), ("conversion", "전환율")):
                c = part.get(metric)
                if c:
                    lines.append(f"| {name} | {c['learning']:.4f} | {c['control']:.4f} | {c['diff']:+.4f} | "
                                 f"[{c['low']:+.4f}, {c['high']:+.4f}] | {c['p_value']:.4g} |")
    return "\n".join(lines) + "\n"


def chart(result: SimulationResult) -> bytes:
    """PNG: CTR (left) and conversion (right) per day and arm; promotion nights marked on the learning line."""
    fig = new_figure(10, 4)
    axes = fig.subplots(1, 2)
    x = list(range(1, len(result.dates) + 1))
    for ax, metric, title in ((axes[0], "ctr", "일별 클릭률(CTR)"), (axes[1], "conversion", "일별 전환율(주문)")):
        for arm, r in result.arms.items():
            y = [getattr(d, metric) for d in r.days]
            ax.plot(x, y, marker="o", color=COLORS.get(arm), label=ARM_LABELS.get(arm, arm))
            if arm == "learning":
                px = [i + 1 for i, p in enumerate(r.promotions) if p]
                ax.scatter(px, [y[i - 1] for i in px], marker="^", s=70, color="#5cb85c", zorder=3,
                           label="그날 밤 승격" if metric == "ctr" else None)
        ax.set_title(title, fontsize=11)
        ax.set_xticks(x if len(x) <= 31 else x[::7])
        ax.set_xlabel("시뮬레이션 날짜 (일)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8, loc="lower right")
    comp = result.comparison.get("ctr") if result.comparison else None
    sub = (f" — 사용자당 CTR 차이 {comp['diff']:+.3f} (p={comp['p_value']:.3g})" if comp else "")
    fig.suptitle(f"naviyam simulate: {len(result.dates)}일{sub}", fontsize=11)
    fig.tight_layout()
    return figure_png(fig)


def write_files(result: SimulationResult, command: str | None = None) -> dict[str, Path]:
    """``simulate.md``, ``simulate.png`` and ``simulate.json`` in the run's folder."""
    out = Path(result.out_dir)
    md, png, js = out / "simulate.md", out / "simulate.png", out / "simulate.json"
    md.write_text(markdown(result, command), encoding="utf-8")
    png.write_bytes(chart(result))
    data = {**result.summary_json(), "config": result.config.to_json(), "comparison": result.comparison,
            "per_day": {a: [{"ctr": d.ctr, "conversion": d.conversion, "mean_rank": d.mean_rank, "shown": d.shown,
                             "turns": d.turns, "users": d.users, "clicked": d.clicked, "ordered": d.ordered,
                             "favourited": d.favourited, "dismissed": d.dismissed} for d in r.days]
                        for a, r in result.arms.items()},
            "learn_seconds": {a: r.learn_seconds for a, r in result.arms.items()}, "seconds": result.seconds}
    js.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    return {"md": md, "png": png, "json": js}
