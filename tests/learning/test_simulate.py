"""``naviyam simulate``: the choice model, a two-day run on the small lived-in world, and the A/B log it writes."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from naviyam.service.sim_users import ShopFacts, SimUser, choose, click_probability, examine_probability, utility


def _user(taste_on: int = 0, k: int = 4, card: bool = False) -> SimUser:
    taste = np.full(k, 0.1 / (k - 1))
    taste[taste_on] = 0.9
    return SimUser(1, taste, 37.5, 127.0, 10_000.0, 1.0, 1.5, card, "generator")


def _shop(cat: int, sid: int = 1, km: float = 0.5, price: float = 8000.0, card: bool = False) -> ShopFacts:
    return ShopFacts(sid, cat, 37.5 + km / 110.95, 127.0, card, False, price, None)


def test_a_shop_of_a_liked_category_is_clicked_more_often():
    user = _user(taste_on=0)
    assert utility(user, _shop(0)) > utility(user, _shop(1))
    assert click_probability(user, _shop(0), rank=1) > click_probability(user, _shop(1), rank=1)


def test_the_same_shop_lower_in_the_list_is_clicked_less_often():
    user, shop = _user(), _shop(0)
    probs = [click_probability(user, shop, rank=r) for r in range(1, 8)]
    assert all(a > b for a, b in zip(probs, probs[1:], strict=False))
    assert examine_probability(1) == 1.0 and 0 < examine_probability(10) < examine_probability(3)


def test_distance_price_and_the_card_lower_or_raise_the_utility():
    user, card_user = _user(), _user(card=True)
    assert utility(user, _shop(0, km=0.3)) > utility(user, _shop(0, km=3.0))
    assert utility(user, _shop(0, price=8000)) > utility(user, _shop(0, price=30000))
    assert utility(card_user, _shop(0, card=True)) > utility(card_user, _shop(0, card=False))


def test_choices_follow_the_model_on_average_and_are_seeded():
    from naviyam.service.sim_users import World

    user = _user(taste_on=0)
    world = World({1: _shop(1, sid=1), 2: _shop(0, sid=2)}, ("a", "b", "c", "d"))
    picks = [choose(user, [1, 2], world, np.random.default_rng([5, i])).shop_id for i in range(2000)]
    # the liked shop wins although it is shown second (position bias does not hide taste)
    assert picks.count(2) > picks.count(1) > 0
    again = [choose(user, [1, 2], world, np.random.default_rng([5, i])).shop_id for i in range(2000)]
    assert picks == again


def _digest(db) -> str:
    """Everything the database holds (schema and rows), whatever SQLite does with its files."""
    import sqlite3

    con = sqlite3.connect(f"file:{db.as_posix()}?mode=ro", uri=True)
    try:
        return hashlib.sha256("\n".join(con.iterdump()).encode()).hexdigest()
    finally:
        con.close()


def _settings(var):
    from naviyam.config import Settings

    # the lived-in world of tests/learning/conftest.py: generate_world(seed=3, users=120, days=30)
    return Settings(var_dir=var, environment="test", admin_api_key="test-admin-key", database_url=None,
                    reload_interval_s=0, sample_seed=3, sample_users=120, sample_days=30, _env_file=None)


@pytest.fixture(scope="module")
def two_day_runs(_loop_world_template, tmp_path_factory):
    """Two runs with the same seed on copies of the lived-in world (which itself must stay untouched)."""
    from naviyam.service.simulate import SimulateConfig, run_simulation

    var = _loop_world_template.var
    before = _digest(var / "naviyam.db")
    cfg = SimulateConfig(days=2, users=40, seed=5)
    runs = [run_simulation(_settings(var), cfg, tmp_path_factory.mktemp(f"sim{i}"), say=lambda m: None)
            for i in range(2)]
    after = _digest(var / "naviyam.db")
    return runs, before, after


def test_two_days_give_the_json_shape_and_the_same_numbers_with_the_same_seed(two_day_runs):
    (first, second), before, after = two_day_runs
    js = first.summary_json()
    assert list(js) == ["days", "arms", "promotions"]
    assert len(js["days"]) == 2 and set(js["arms"]) == {"control", "learning"}
    for arm in js["arms"].values():
        assert set(arm) == {"ctr", "conversion"} and len(arm["ctr"]) == len(arm["conversion"]) == 2
        assert all(0.0 <= x <= 1.0 for x in arm["ctr"] + arm["conversion"])
    assert len(js["promotions"]) == 2
    assert sum(d.shown for r in first.arms.values() for d in r.days) > 20  # the service did recommend
    assert first.taste_source == "generator"  # the hidden tastes were found again from the seed
    assert js == second.summary_json()
    assert first.comparison == second.comparison
    # per user over the run, over day 1 alone (both arms on the day-0 models) and over the second half
    assert {"users", "ctr", "conversion", "first_day", "last_days"} <= set(first.comparison)
    assert first.comparison["first_day"]["from"] == js["days"][0] == first.comparison["first_day"]["from"]
    assert first.comparison["last_days"]["from"] == js["days"][1]
    # the world that was copied did not change: not a row of its database
    assert before == after


def test_the_learning_arm_ran_the_nightly_learn_on_its_own_copy(two_day_runs):
    from sqlalchemy import func, select

    from naviyam.db.models import Interaction, LearningRun
    from naviyam.db.session import make_engine, session_scope

    (first, _), _, _ = two_day_runs
    counts = {}
    for arm in ("control", "learning"):
        engine = make_engine(f"sqlite:///{first.out_dir / arm / 'naviyam.db'}")
        with session_scope(engine) as s:
            counts[arm] = (s.scalar(select(func.count(LearningRun.id))),
                           s.scalar(select(func.count(Interaction.id)).where(Interaction.created_at
                                                                             < dt.datetime(2026, 11, 3))))
        engine.dispose()
    assert counts["learning"][0] == 2 and counts["control"][0] == 0
    assert counts["learning"][1] == sum(d.turns for d in first.arms["learning"].days)
    assert counts["control"][1] == sum(d.turns for d in first.arms["control"].days)


def test_ab_report_on_the_simulated_log_reads_the_simulation_truth(two_day_runs):
    from naviyam.db.session import make_engine
    from naviyam.learning.ab import CANDIDATE, PRODUCTION
    from naviyam.learning.ab_report import ABDesign, ab_report
    from naviyam.service.sim_types import arm_of

    (first, _), _, _ = two_day_runs
    engine = make_engine(f"sqlite:///{first.out_dir / 'ab' / 'naviyam.db'}")
    rep = ab_report(engine, design=ABDesign(min_users=2))
    with engine.connect() as conn:
        logged = conn.exec_driver_sql("SELECT user_id, ab_arm FROM interaction").all()
    engine.dispose()
    # a paired run logs what an online test would see: each user's turns from the one arm the hash gives
    roles = {"learning": CANDIDATE, "control": PRODUCTION}
    assert logged and all(arm == roles[arm_of(uid, ("control", "learning"), 5)] for uid, arm in logged)
    assert len(logged) < sum(d.shown for r in first.arms.values() for d in r.days)
    view = first.comparison["ab"]
    assert rep.arms[CANDIDATE].users == view["users"]["learning"]
    assert rep.arms[PRODUCTION].users == view["users"]["control"]
    assert rep.arms[CANDIDATE].ctr.mean == pytest.approx(view["ctr"]["learning"])
    assert rep.arms[PRODUCTION].conversion.mean == pytest.approx(view["conversion"]["control"])
    assert rep.comparison("ctr").welch.p_value == pytest.approx(view["ctr"]["p_value"])
    # and the split test's interval holds the within-user truth of the same run
    ctr = rep.comparison("ctr").welch
    assert ctr.low <= first.comparison["ctr"]["diff"] <= ctr.high


def test_a_paired_run_gives_every_user_both_worlds_and_day_one_the_same_lists(two_day_runs):
    from naviyam.service.sim_report import chart, markdown

    (first, _), _, _ = two_day_runs
    assert first.arms["learning"].users == first.arms["control"].users
    assert first.comparison["design"] == "paired"
    day1 = first.dates[0]
    by_arm: dict[str, dict] = {"learning": {}, "control": {}}
    for r in first.exposures:
        if r.at.date() <= day1:
            by_arm[r.arm][(r.user_id, r.at)] = (r.message, r.shown, [k for k, _, _ in r.feedback])
    # day 1: both arms serve the day-0 models on the same random numbers, so the same turns, lists and choices
    assert by_arm["learning"] and by_arm["learning"] == by_arm["control"]
    assert first.comparison["first_day"]["ctr"]["diff"] == 0.0
    daily = first.comparison["daily"]
    assert [d["date"] for d in daily] == [d.isoformat() for d in first.dates] and daily[0]["diff"] == 0.0
    assert all(d["low"] <= d["diff"] <= d["high"] for d in daily)
    md = markdown(first)
    assert "대응 t-검정" in md and "온라인 A/B 시험으로 본 같은 실행" in md and f"{daily[1]['diff']:+.4f}" in md
    assert chart(first).startswith(b"\x89PNG")
    assert first.comparison["users"]["pairs"] >= 30


def _exposures(effect: float, users: int, turns: int, seed: int):
    """A paired log: user u clicks with p_u (users differ a lot) under control and p_u + effect under learning."""
    from naviyam.service.sim_types import Exposure

    rng = np.random.default_rng(seed)
    rows = []
    t0 = dt.datetime(2026, 11, 2, 3)
    for uid in range(1, users + 1):
        p = float(rng.uniform(0.1, 0.8))
        for k in range(turns):
            at = t0 + dt.timedelta(minutes=k)
            u = rng.random()  # the same draw in both worlds (common random numbers)
            for arm, q in (("control", p), ("learning", min(1.0, p + effect))):
                fb = [("clicked", 3, at)] if u < q else []
                rows.append(Exposure(arm, uid, f"s{uid}{arm}", "아무거나 추천해줘", "FOOD_RECOMMENDATION", [3, 4], at, fb))
    return rows


def _result(rows, design: str):
    from naviyam.service.sim_types import ArmResult, SimulateConfig, SimulationResult

    cfg = SimulateConfig(days=1, users=2, seed=1, design=design)
    arms = {a: ArmResult(a, sorted({r.user_id for r in rows if r.arm == a})) for a in ("control", "learning")}
    return SimulationResult(cfg, [dt.date(2026, 11, 2)], arms, "generator", Path("."), exposures=rows)


def test_the_paired_test_finds_a_small_true_effect_that_a_split_test_of_the_same_users_misses():
    from naviyam.service.sim_report import compare_arms

    rows = _exposures(0.04, users=200, turns=10, seed=3)
    paired = compare_arms(_result(rows, "paired"))
    assert paired["ctr"]["significant"] and paired["ctr"]["low"] > 0
    assert paired["ctr"]["low"] <= 0.04 <= paired["ctr"]["high"]
    # the online view (each user in one arm) of the same run cannot tell: users differ far more than 0.04
    assert not paired["ab"]["ctr"]["significant"]
    assert paired["ab"]["users"]["learning"] + paired["ab"]["users"]["control"] == 200
    # no effect: the paired test does not invent one
    null = compare_arms(_result(_exposures(0.0, users=200, turns=10, seed=4), "paired"))
    assert null["ctr"]["diff"] == 0.0 and not null["ctr"]["significant"]


def test_ab_report_finds_a_planted_effect_in_a_simulation_log(tmp_path):
    """A log written by the simulation's writer, where the learning arm's users click twice as often."""
    from naviyam.db.session import make_engine
    from naviyam.learning.ab import CANDIDATE
    from naviyam.learning.ab_report import ABDesign, ab_report, summarise
    from naviyam.service.sim_report import per_user_counts, write_ab_log
    from naviyam.service.simulate import Exposure

    rng = np.random.default_rng(11)
    rows, planted = [], {"candidate": {}, "production": {}}
    t0 = dt.datetime(2026, 11, 1, 3)
    for uid in range(1, 81):
        arm = "learning" if uid % 2 else "control"
        p = 0.5 if arm == "learning" else 0.25
        c = planted["candidate" if arm == "learning" else "production"].setdefault(uid, [0, 0, 0])
        for k in range(8):
            at = t0 + dt.timedelta(minutes=uid * 10 + k)
            clicked = bool(rng.random() < p)
            ordered = clicked and bool(rng.random() < 0.5)
            fb = ([("clicked", 3, at)] if clicked else []) + ([("ordered", 3, at)] if ordered else [])
            rows.append(Exposure(arm, uid, f"s{uid}", "아무거나 추천해줘", "FOOD_RECOMMENDATION", [3, 4, 5], at, fb))
            c[0] += 1
            c[1] += clicked
            c[2] += ordered
    db = write_ab_log(tmp_path / "ab", rows)
    engine = make_engine(f"sqlite:///{db}")
    design = ABDesign(min_users=2)
    rep = ab_report(engine, design=design)
    engine.dispose()
    counted = per_user_counts(rows)
    # the log's period ends with the learning arm's last turn: only control user 80 loses its last turns
    assert {u: c for u, c in counted["candidate"].items()} == planted["candidate"]
    assert {u: c for u, c in counted["production"].items() if u != 80} == \
        {u: c for u, c in planted["production"].items() if u != 80}
    _, comps, _, _ = summarise(counted, design)
    truth = {c.metric: c for c in comps}
    ctr = rep.comparison("ctr")
    assert ctr.significant and ctr.welch.diff > 0.15
    assert ctr.welch.diff == pytest.approx(truth["ctr"].welch.diff)
    assert ctr.welch.p_value == pytest.approx(truth["ctr"].welch.p_value)
    assert rep.arms[CANDIDATE].users == 40


def test_cli_simulate_prints_the_json_line_last(_loop_world_template, tmp_path, naviyam, monkeypatch):
    for k, v in {"NAVIYAM_SAMPLE_SEED": "3", "NAVIYAM_SAMPLE_USERS": "120", "NAVIYAM_SAMPLE_DAYS": "30"}.items():
        monkeypatch.setenv(k, v)
    res = naviyam(_loop_world_template.var, "simulate", "--days", "1", "--users", "10", "--arms", "control",
                  "--json", "--out", tmp_path / "out")
    assert res.exit_code == 0, res.output
    last = json.loads(res.output.strip().splitlines()[-1])
    assert list(last["arms"]) == ["control"] and len(last["days"]) == 1 and last["promotions"] == [[]]
    assert (tmp_path / "out" / "simulate.md").exists() and (tmp_path / "out" / "simulate.png").exists()
    bad = naviyam(_loop_world_template.var, "simulate", "--arms", "control,우주", "--out", tmp_path / "x")
    assert bad.exit_code == 2 and "--arms" in bad.output and "Traceback" not in bad.output
    design = naviyam(_loop_world_template.var, "simulate", "--design", "반반", "--out", tmp_path / "z")
    assert design.exit_code == 2 and "--design" in design.output and "Traceback" not in design.output
    inplace = naviyam(_loop_world_template.var, "simulate", "--in-place", "--out", tmp_path / "y")
    assert inplace.exit_code == 2 and "--in-place" in inplace.output
