"""What ``naviyam simulate`` writes: the exposure log as an A/B log, the per-user comparison, table and chart."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import insert

from naviyam.core.charts import figure_png, new_figure
from naviyam.core.clock import zone
from naviyam.db.models import FeedbackEvent, Interaction
from naviyam.db.session import make_engine, migrate
from naviyam.learning.ab import CANDIDATE, PRODUCTION, paired_t_test
from naviyam.learning.ab_report import ABDesign, summarise
from naviyam.service.sim_types import (
    AB_ROLE,
    AB_VERSION,
    CONTROL,
    LEARNING,
    PAIRED,
    Exposure,
    SimulationResult,
    arm_of,
)

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


def _count(counts: list[int], turn: Exposure) -> None:
    """Add one turn that showed shops to ``[shown, clicked, ordered]`` (a click, order or favourite clicks)."""
    kinds = {k for k, _, _ in turn.feedback}
    counts[0] += 1
    counts[1] += bool(kinds & {"clicked", "ordered", "favorited"})
    counts[2] += "ordered" in kinds


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
        _count(out[AB_ROLE[r.arm]].setdefault(r.user_id, [0, 0, 0]), r)
    return out


def _welch(rows: list[Exposure], alpha: float) -> dict[str, Any]:
    arms, comps, _planned, _sd = summarise(per_user_counts(rows), ABDesign(alpha=alpha, min_users=2))
    out: dict[str, Any] = {"users": {"learning": arms[CANDIDATE].users, "control": arms[PRODUCTION].users}}
    for c in comps:
        out[c.metric] = {"learning": c.candidate.mean, "control": c.production.mean, "diff": c.welch.diff,
                         "low": c.welch.low, "high": c.welch.high, "t": c.welch.t, "p_value": c.welch.p_value,
                         "significant": c.significant}
    return out


def paired_counts(rows: list[Exposure]) -> dict[int, dict[str, list[int]]]:
    """Per user and arm, over the whole run: ``{user: {arm: [shown, clicked, ordered]}}`` (a paired run)."""
    out: dict[int, dict[str, list[int]]] = {}
    for r in rows:
        _count(out.setdefault(r.user_id, {}).setdefault(r.arm, [0, 0, 0]), r)
    return out


def _paired(rows: list[Exposure], alpha: float) -> dict[str, Any]:
    """Per-user CTR and conversion under both arms, of the users shown shops in both: the paired t-test."""
    both = [(c[LEARNING], c[CONTROL]) for c in paired_counts(rows).values() if LEARNING in c and CONTROL in c]
    out: dict[str, Any] = {"users": {"learning": len(both), "control": len(both), "pairs": len(both)}}
    for metric, col in (("ctr", 1), ("conversion", 2)):
        lv = [a[col] / a[0] for a, _ in both]
        cv = [b[col] / b[0] for _, b in both]
        t = paired_t_test(lv, cv, alpha)
        out[metric] = {"learning": float(np.mean(lv)) if lv else 0.0, "control": float(np.mean(cv)) if cv else 0.0,
                       "diff": t.diff, "low": t.low, "high": t.high, "t": t.t, "p_value": t.p_value,
                       "significant": bool(t.p_value < alpha)}
    return out


def online_view(result: SimulationResult) -> list[Exposure]:
    """The turns an online A/B test of the run would log: each user's from the arm the A/B hash gives."""
    if result.config.design != PAIRED:
        return result.exposures
    arms = tuple(result.arms)
    return [r for r in result.exposures if r.arm == arm_of(r.user_id, arms, result.config.seed)]


def compare_arms(result: SimulationResult, alpha: float = 0.05, last_days: int | None = None) -> dict[str, Any]:
    """Per-user CTR and conversion of the arms over the run, learning − control: within users (paired t-test)
    in a paired run, else Welch's t-test over :func:`per_user_counts`. Under ``"last_days"`` the same over the
    run's last ``last_days`` days (default: the second half), when learning has had time to act; under
    ``"first_day"`` the same over day 1, when both arms still serve the day-0 models (a difference there is
    the luck of the split, or none at all in a paired run). A paired run also gets ``"ab"``: Welch's test on
    :func:`online_view`, what ``naviyam ab report`` reads from the run's A/B log."""
    if len(result.arms) < 2:
        return {}
    paired = result.config.design == PAIRED
    test = _paired if paired else _welch
    out = {"design": result.config.design, **test(result.exposures, alpha)}
    if paired:
        out["ab"] = _welch(online_view(result), alpha)
        out["daily"] = [{"date": d.isoformat(), **{k: v for k, v in _paired(
            [r for r in result.exposures if _local_date(r.at) == d], alpha)["ctr"].items()
            if k in ("diff", "low", "high", "p_value")}} for d in result.dates]
    if len(result.dates) > 1:
        day1 = [r for r in result.exposures if _local_date(r.at) == result.dates[0]]
        out["first_day"] = {"days": 1, "from": result.dates[0].isoformat(), **test(day1, alpha)}
    k = last_days if last_days is not None else len(result.dates) // 2
    if 0 < k < len(result.dates):
        first = result.dates[-k]
        tail = [r for r in result.exposures if _local_date(r.at) >= first]
        out["last_days"] = {"days": k, "from": first.isoformat(), **test(tail, alpha)}
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
              f"사용자 {len(set().union(*(r.users for r in result.arms.values())))}명 "
              f"({', '.join(f'{a} {len(r.users)}명' for a, r in result.arms.items())}; 설계 {cfg.design})",
              f"- 취향: {'생성기의 숨은 취향(시드로 다시 만든 것)' if result.taste_source == 'generator' else '주문 기록으로 추정'}",
              f"- 밤 학습: 랭커 미세조정 {cfg.learn_epochs} epoch, lr {cfg.learn_lr}, 창 {cfg.learn_window_days}일, "
              f"NLU {'재학습' if cfg.learn_nlu else '재학습 안 함'}",
              f"- 걸린 시간: {result.seconds:.0f}초", ""]
    head = ["날짜"]
    for a in result.arms:
        head += [f"{a} CTR", f"{a} 전환율", f"{a} 평균 순위", f"{a} 추천 대화"]
    daily = (result.comparison or {}).get("daily")
    head += (["사용자당 CTR 차이 (대응, 95% 구간)"] if daily else []) + ["승격"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    learning = result.arms.get("learning")
    for i, day in enumerate(result.dates):
        row = [day.isoformat()]
        for r in result.arms.values():
            d = r.days[i]
            row += [f"{d.ctr:.3f}", f"{d.conversion:.3f}", "-" if d.mean_rank is None else f"{d.mean_rank:.2f}",
                    str(d.shown)]
        if daily:
            row.append(f"{daily[i]['diff']:+.4f} [{daily[i]['low']:+.4f}, {daily[i]['high']:+.4f}]")
        row.append(", ".join(p.split(":")[0] for p in learning.promotions[i]) if learning else "")
        lines.append("| " + " | ".join(row) + " |")
    lines += _comparison_lines(result.comparison)
    return "\n".join(lines) + "\n"


def _table(part: dict[str, Any]) -> list[str]:
    lines = ["| 지표 | learning | control | 차이 | 95% 구간 | p |", "|---|---|---|---|---|---|"]
    for metric, name in (("ctr", "CTR"), ("conversion", "전환율")):
        c = part.get(metric)
        if c:
            lines.append(f"| {name} | {c['learning']:.4f} | {c['control']:.4f} | {c['diff']:+.4f} | "
                         f"[{c['low']:+.4f}, {c['high']:+.4f}] | {c['p_value']:.4g} |")
    return lines


def _comparison_lines(comp: dict[str, Any]) -> list[str]:
    """The per-user comparison (:func:`compare_arms`) as Markdown: the whole run, the A/B view, day 1, the end."""
    if not comp:
        return []
    paired = comp.get("design") == PAIRED
    lines = ["", ("사용자 단위 비교 (전체 기간, 같은 사용자가 두 세계를 모두 살아요: 사용자마다 learning CTR − control CTR, "
                  "대응 t-검정):" if paired else
                  "사용자 단위 비교 (전체 기간, 사용자마다 CTR·전환율 하나, Welch t-검정, learning − control):"), ""]
    lines += _table(comp)
    if paired:
        ab = comp["ab"]
        lines += ["", f"두 그룹에 모두 추천을 받은 사용자 {comp['users']['pairs']}명.", "",
                  "온라인 A/B 시험으로 본 같은 실행 (사용자마다 A/B 해시가 정한 한 그룹의 대화만, Welch t-검정; "
                  "`NAVIYAM_VAR_DIR=<out>/ab naviyam ab report --min-users 2`가 읽는 로그):", ""]
        lines += _table(ab)
        lines += ["", f"사용자 수: learning {ab['users']['learning']}명, control {ab['users']['control']}명."]
    else:
        lines += ["", f"사용자 수: learning {comp['users']['learning']}명, control {comp['users']['control']}명. "
                  "같은 로그를 `NAVIYAM_VAR_DIR=<out>/ab naviyam ab report --min-users 2`로 읽으면 같은 값이 나와요."]
    first_title = ("첫날만(두 그룹 모두 첫날 모델: 목록이 같아 차이가 거의 없어야 해요):" if paired
                   else "첫날만(두 그룹 모두 첫날 모델: 여기서 나는 차이는 사용자를 나눈 운):")
    for key, title in (("first_day", first_title), ("last_days", "마지막 {days}일({start}부터)만, 같은 방법:")):
        part = comp.get(key)
        if part:
            lines += ["", title.format(days=part["days"], start=part["from"]), ""] + _table(part)
    return lines


def _daily_panel(ax, x: list[int], daily: list[dict[str, Any]]) -> None:
    """The paired run's day-by-day per-user CTR difference (learning − control) with its 95 % interval."""
    diff = [d["diff"] for d in daily]
    ax.errorbar(x, diff, yerr=[[d["diff"] - d["low"] for d in daily], [d["high"] - d["diff"] for d in daily]],
                marker="o", color=COLORS["learning"], ecolor="#999999", capsize=3)
    ax.axhline(0.0, color="#333333", linewidth=0.8)
    ax.set_title("같은 사용자의 CTR 차이 (learning - control, 95% 구간)", fontsize=11)
    ax.set_xticks(x if len(x) <= 31 else x[::7])
    ax.set_xlabel("시뮬레이션 날짜 (일)")
    ax.grid(alpha=0.3)


def chart(result: SimulationResult) -> bytes:
    """PNG: CTR (left) and conversion (middle) per day and arm, promotion nights marked on the learning line;
    in a paired run, the daily within-user CTR difference with its interval (right)."""
    daily = (result.comparison or {}).get("daily")
    fig = new_figure(15 if daily else 10, 4)
    axes = fig.subplots(1, 3 if daily else 2)
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
    if daily:
        _daily_panel(axes[2], x, daily)
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
