"""A/B statistics by the unit of assignment, on synthetic logs whose true effect is known.

Each synthetic user has a hidden CTR drawn from Beta(m·c, (1-m)·c) (mean m; a small c makes a user's turns
strongly alike: intra-user correlation 1/(1+c)) and clicks each of their turns with that probability.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from naviyam.learning.ab import (
    CANDIDATE,
    PRODUCTION,
    assign_arm,
    mean_interval,
    paired_t_test,
    two_proportion_test,
    users_per_arm,
    welch_test,
    wilson_interval,
)
from naviyam.learning.ab_report import (
    COLLECTING,
    NO_DIFFERENCE,
    PROMOTE,
    ABDesign,
    ab_report,
    plot_intervals,
    summarise,
)

CAND_V, PROD_V = "ranker-cand", "ranker-prod"


def synthetic_arm(rng, users: int, mean_ctr: float, concentration: float, turns: float = 20.0,
                  order_share: float = 0.4) -> list[list[int]]:
    """[shown, clicked, converted] turns per user: hidden CTR ~ Beta, turns ~ 1 + Poisson(turns - 1)."""
    p = rng.beta(mean_ctr * concentration, (1 - mean_ctr) * concentration, size=users)
    n = 1 + rng.poisson(turns - 1, size=users)
    clicked = rng.binomial(n, p)
    converted = rng.binomial(clicked, order_share)
    return [[int(a), int(b), int(c)] for a, b, c in zip(n, clicked, converted, strict=True)]


def per_turn_p(cand: list[list[int]], prod: list[list[int]]) -> float:
    """The wrong test: every turn an independent trial."""
    c, p = np.array(cand), np.array(prod)
    return two_proportion_test(int(c[:, 1].sum()), int(c[:, 0].sum()), int(p[:, 1].sum()), int(p[:, 0].sum()))[1]


def per_user(cand, prod):
    return {CANDIDATE: dict(enumerate(cand)), PRODUCTION: {10_000 + i: v for i, v in enumerate(prod)}}


# --------------------------------------------------------------------------- the formulas


def test_assignment_is_stable_and_close_to_the_share():
    arms = [assign_arm(u, 0.2) for u in range(20000)]
    assert arms == [assign_arm(u, 0.2) for u in range(20000)]
    share = arms.count(CANDIDATE) / len(arms)
    assert 0.19 < share < 0.21
    assert assign_arm(5, 0.0) == PRODUCTION and assign_arm(None, 0.5) == PRODUCTION


def test_wilson_and_two_proportion_known_values():
    lo, hi = wilson_interval(50, 100)
    assert math.isclose(lo, 0.4038, abs_tol=1e-3) and math.isclose(hi, 0.5962, abs_tol=1e-3)
    z, p = two_proportion_test(60, 100, 40, 100)
    assert math.isclose(z, 2.828, abs_tol=1e-3) and math.isclose(p, 0.00468, abs_tol=1e-4)


def test_mean_interval_is_the_t_interval():
    m = mean_interval([0.0, 0.5, 1.0, 0.5], alpha=0.05)
    # mean 0.5, s = sqrt(1/6), t(0.975, 3) = 3.182
    half = 3.1824 * math.sqrt(1 / 6) / 2
    assert m.mean == 0.5 and m.n == 4
    assert m.low == pytest.approx(max(0.0, 0.5 - half), abs=1e-3) and m.high == pytest.approx(min(1.0, 0.5 + half))
    assert mean_interval([0.3]).low == 0.0 and mean_interval([0.3]).high == 1.0


def test_welch_matches_the_formula():
    a, b = [0.1, 0.2, 0.3, 0.25], [0.4, 0.5, 0.45, 0.7, 0.6]
    w = welch_test(a, b)
    va, vb = np.var(a, ddof=1) / 4, np.var(b, ddof=1) / 5
    t = (np.mean(a) - np.mean(b)) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / 3 + vb**2 / 4)
    assert w.t == pytest.approx(t) and w.df == pytest.approx(df) and w.diff == pytest.approx(np.mean(a) - np.mean(b))
    assert w.low < w.diff < w.high and w.p_value < 0.05
    assert welch_test([0.2, 0.2], [0.2, 0.2]).p_value == 1.0
    assert welch_test([0.2], [0.1, 0.3]).p_value == 1.0


def test_paired_t_test_matches_the_formula_and_needs_pairs():
    a, b = [0.5, 0.6, 0.4, 0.9, 0.3], [0.45, 0.52, 0.41, 0.8, 0.22]
    r = paired_t_test(a, b)
    d = np.subtract(a, b)
    t = d.mean() / (d.std(ddof=1) / math.sqrt(5))
    half = 2.7764451051977987 * d.std(ddof=1) / math.sqrt(5)  # t(0.975, 4)
    assert r.diff == pytest.approx(d.mean()) and r.t == pytest.approx(t) and r.df == 4
    assert r.low == pytest.approx(d.mean() - half) and r.high == pytest.approx(d.mean() + half)
    # the same values as two independent samples: users' own levels hide the small shift
    assert r.p_value < 0.05 < welch_test(a, b).p_value
    assert paired_t_test([0.2, 0.3], [0.2, 0.3]).p_value == 1.0
    assert paired_t_test([0.2], [0.1]).p_value == 1.0
    with pytest.raises(ValueError):
        paired_t_test([0.1, 0.2], [0.1])


def test_planned_sample_follows_the_textbook_formula():
    # sigma 0.4, delta 0.05, alpha 0.05, power 0.8: 2 * (1.95996 + 0.84162)^2 * 0.16 / 0.0025 = 1004.7
    assert users_per_arm(0.4, 0.05) == 1005
    assert users_per_arm(0.4, 0.10) == 252  # half the effect → four times the users
    with pytest.raises(ValueError):
        users_per_arm(0.4, 0.0)


# --------------------------------------------------------------------------- known truths, many times over


def test_per_user_welch_keeps_alpha_where_the_per_turn_test_cries_wolf():
    """A/A logs (no effect) with strongly correlated turns: Welch on users errs ~5 %, the per-turn z-test far more."""
    rng = np.random.default_rng(2026)
    naive = welch = 0
    runs = 300
    for _ in range(runs):
        cand, prod = (synthetic_arm(rng, 40, 0.3, 0.5, turns=30) for _ in range(2))
        naive += per_turn_p(cand, prod) < 0.05
        _, comps, _, _ = summarise(per_user(cand, prod), ABDesign())
        welch += comps[0].significant
    assert naive / runs > 0.4
    assert welch / runs < 0.09


def test_planned_sample_gives_the_stated_power_for_a_true_effect_of_the_mde():
    rng = np.random.default_rng(7)
    design = ABDesign(mde=0.1, min_users=2)
    pilot = synthetic_arm(rng, 400, 0.3, 2.0) + synthetic_arm(rng, 400, 0.4, 2.0)
    sd = float(np.std([c / s for s, c, _ in pilot], ddof=1))
    n = users_per_arm(sd, design.mde, design.alpha, design.power)
    hits = 0
    runs = 200
    for _ in range(runs):
        _, comps, _, _ = summarise(per_user(synthetic_arm(rng, n, 0.4, 2.0), synthetic_arm(rng, n, 0.3, 2.0)), design)
        hits += comps[0].significant and comps[0].welch.diff > 0
    assert 0.68 < hits / runs < 0.92  # power 0.8 by design


# --------------------------------------------------------------------------- the report on stored logs


def test_report_detects_a_true_effect_once_the_planned_sample_is_reached(engine, write_ab_log):
    rng = np.random.default_rng(11)
    cand = synthetic_arm(rng, 160, 0.42, 2.0)   # true per-user CTR +0.12
    prod = synthetic_arm(rng, 160, 0.30, 2.0)
    write_ab_log(engine, cand, prod, CAND_V, PROD_V, anonymous_turns=30)
    rep = ab_report(engine, design=ABDesign(mde=0.1, min_users=50))
    assert rep.candidate_version == CAND_V and rep.production_versions == [PROD_V]
    assert rep.arms[CANDIDATE].users == 160 and rep.arms[PRODUCTION].users == 160
    assert rep.excluded_turns == 30  # anonymous turns were never randomised
    assert rep.arms[PRODUCTION].shown == sum(r[0] for r in prod)
    assert rep.planned_users <= 160 and rep.sample_reached
    ctr = rep.comparison("ctr")
    assert ctr.significant and ctr.welch.low < 0.12 < ctr.welch.high  # the interval covers the truth
    assert ctr.candidate.low < 0.42 < ctr.candidate.high and ctr.production.low < 0.30 < ctr.production.high
    assert rep.status == PROMOTE and f"naviyam models promote {CAND_V}" in rep.verdict()
    png = plot_intervals(rep)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    doc = rep.to_json()
    assert doc["unit"] == "user" and doc["design"]["planned_users_per_arm"] == rep.planned_users
    assert doc["status"] == PROMOTE and json.dumps(doc)


def test_no_effect_with_correlated_turns_is_not_called_significant(sqlite_engine, write_ab_log):
    """The same log: the per-turn z-test calls it (p < 0.05); the per-user test, correctly, does not."""
    rng = np.random.default_rng(5)
    cand = synthetic_arm(rng, 150, 0.3, 0.5, turns=20)  # same truth in both arms
    prod = synthetic_arm(rng, 150, 0.3, 0.5, turns=20)
    assert per_turn_p(cand, prod) < 0.05  # the trap this log sets
    write_ab_log(sqlite_engine, cand, prod, CAND_V, PROD_V)
    rep = ab_report(sqlite_engine, design=ABDesign(mde=0.15, min_users=50))
    assert rep.sample_reached
    ctr = rep.comparison("ctr")
    assert not ctr.significant and ctr.welch.low < 0 < ctr.welch.high
    assert rep.status == NO_DIFFERENCE and "승격하세요" not in rep.verdict()


def test_no_promote_verdict_before_the_planned_sample(sqlite_engine, write_ab_log, tmp_path, monkeypatch):
    """A big planted effect is already 'significant' with 40 users per arm, but the plan wants more: keep collecting."""
    rng = np.random.default_rng(3)
    cand = synthetic_arm(rng, 40, 0.6, 2.0)
    prod = synthetic_arm(rng, 40, 0.3, 2.0)
    write_ab_log(sqlite_engine, cand, prod, CAND_V, PROD_V)
    design = ABDesign(mde=0.05, min_users=100)
    rep = ab_report(sqlite_engine, design=design)
    assert rep.comparison("ctr").significant  # a peek would have said "promote"
    assert rep.planned_users > 40 and not rep.sample_reached
    assert rep.status == COLLECTING
    assert "계속 수집" in rep.verdict() and "promote" not in rep.verdict()

    # the operator's command says the same, and writes the interval chart
    from typer.testing import CliRunner

    from naviyam.cli import app
    from naviyam.config import get_settings
    from naviyam.db.session import get_engine

    monkeypatch.setenv("NAVIYAM_DATABASE_URL", str(sqlite_engine.url))
    monkeypatch.setenv("NAVIYAM_AB_MDE", "0.05")
    monkeypatch.setenv("NAVIYAM_AB_MIN_USERS", "100")
    get_settings.cache_clear()
    get_engine.cache_clear()
    try:
        res = CliRunner().invoke(app, ["ab", "report", "--out", str(tmp_path / "ab")], env={"COLUMNS": "200"})
        res_json = CliRunner().invoke(app, ["ab", "report", "--json"])
    finally:
        get_engine().dispose()
        get_settings.cache_clear()
        get_engine.cache_clear()
    assert res.exit_code == 0, res.output
    assert "계속 수집" in res.output and "계획 표본 그룹당" in res.output
    assert (tmp_path / "ab" / "ab_intervals.png").stat().st_size > 10_000
    doc = json.loads(res_json.output)
    assert doc["status"] == COLLECTING and doc["design"]["mde"] == 0.05 and doc["sample_reached"] is False


def test_the_command_refuses_an_impossible_design_in_korean():
    from typer.testing import CliRunner

    from naviyam.cli import app

    for args, word in ((["--mde", "0"], "--mde"), (["--alpha", "0.7"], "--alpha"), (["--power", "1"], "--power"),
                       (["--min-users", "1"], "--min-users")):
        res = CliRunner().invoke(app, ["ab", "report", *args])
        assert res.exit_code == 2 and word in res.output and "해요" in res.output, res.output
