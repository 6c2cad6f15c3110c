"""Promotion gate, operator promotion and rollback in the registry."""

from __future__ import annotations

import pytest

from naviyam.core.registry import ModelRegistry, RegistryError
from naviyam.learning.promotion import PromotionRefused, SanityResult, gate, promote_version

SANE = SanityResult(True, {"loads": True})


def test_gate_promotes_only_a_candidate_better_by_the_margin():
    prod = {"recent_mrr": 0.60, "val_auc": 0.70}
    assert gate({"recent_mrr": 0.62, "val_auc": 0.70}, prod, SANE, metric="recent_mrr", margin=0.01).promote
    assert not gate({"recent_mrr": 0.605, "val_auc": 0.70}, prod, SANE, metric="recent_mrr", margin=0.01).promote
    assert not gate({"recent_mrr": 0.50}, prod, SANE, metric="recent_mrr", margin=0.0).promote


def test_gate_lower_is_better_for_losses():
    assert gate({"val_logloss": 0.40}, {"val_logloss": 0.45}, SANE, metric="val_logloss", margin=0.01).promote
    assert not gate({"val_logloss": 0.45}, {"val_logloss": 0.40}, SANE, metric="val_logloss", margin=0.0).promote


def test_gate_guard_metric_blocks_a_regression_elsewhere():
    d = gate({"recent_mrr": 0.9, "val_auc": 0.60}, {"recent_mrr": 0.6, "val_auc": 0.70}, SANE, metric="recent_mrr",
             margin=0.01, guards={"val_auc": 0.02})
    assert not d.promote and any("val_auc" in r for r in d.reasons)


def test_gate_never_promotes_an_insane_candidate():
    bad = SanityResult(False, {"loads": False}, "불러올 수 없어요")
    d = gate({"recent_mrr": 0.99}, {"recent_mrr": 0.1}, bad, metric="recent_mrr", margin=0.0)
    assert not d.promote and "점검 실패" in d.reasons[0]
    assert gate({"recent_mrr": 0.5}, None, SANE, metric="recent_mrr", margin=0.1).promote  # nothing to beat


def _versions(engine, tmp_path, n=3):
    reg = ModelRegistry(engine, tmp_path / "models")
    names = []
    for _ in range(n):
        alloc = reg.allocate("ranker")
        reg.register(alloc, metrics={"n": len(names)})
        names.append(alloc.version)
    return reg, names


def test_promote_archives_the_previous_production(engine, tmp_path):
    reg, (a,) = _versions(engine, tmp_path, 1)
    cand = reg.allocate("ranker")
    reg.register(cand, status="candidate")
    reg.promote(cand.version)
    statuses = {m.version: m.status for m in reg.list("ranker")}
    assert statuses == {a: "archived", cand.version: "production"}
    with pytest.raises(RegistryError):
        reg.promote("ranker-nope")


def test_rollback_walks_back_through_the_production_history(engine, tmp_path):
    reg, (a, b, c) = _versions(engine, tmp_path, 3)
    restored, rolled = reg.rollback("ranker")
    assert (restored.version, rolled.version) == (b, c)
    assert reg.current("ranker").version == b and reg.get(c).status == "archived"
    assert reg.get(c).metrics["rolled_back"]["restored"] == b
    # a second rollback goes further back, not forth to the rolled-back version
    restored, rolled = reg.rollback("ranker")
    assert (restored.version, rolled.version) == (a, b)
    with pytest.raises(RegistryError, match="되돌릴 수 없어요"):
        reg.rollback("ranker")
    with pytest.raises(RegistryError):
        reg.rollback("nlu")
    # an operator may promote a rolled-back version again
    reg.promote(c)
    assert reg.current("ranker").version == c


def test_operator_promotion_checks_the_files_and_the_recorded_comparison(loop_world, tmp_path):
    import shutil

    from naviyam.config import Settings

    reg = loop_world.registry
    settings = Settings(var_dir=tmp_path, _env_file=None)
    prod = reg.current("ranker")
    # a copy of production that the offline comparison did not find better
    worse = reg.allocate("ranker")
    shutil.copytree(prod.path, worse.path, dirs_exist_ok=True)
    reg.register(worse, status="archived", metrics={"promotion": {"promote": False, "reasons": ["차이 없음"]}})
    with pytest.raises(PromotionRefused, match="--force"):
        promote_version(reg, worse.version, settings)
    # a corrupt one is refused even with --force
    broken = reg.allocate("ranker")
    shutil.copytree(prod.path, broken.path, dirs_exist_ok=True)
    (broken.path / "weights.pt").write_bytes(b"not a checkpoint")
    reg.register(broken, status="candidate")
    with pytest.raises(PromotionRefused, match="점검 실패"):
        promote_version(reg, broken.version, settings, force=True)
    assert reg.current("ranker").version == prod.version
    # forced, a sane version goes in; rollback restores the previous one
    promote_version(reg, worse.version, settings, force=True)
    assert reg.current("ranker").version == worse.version
    restored, _ = reg.rollback("ranker")
    assert restored.version == prod.version
