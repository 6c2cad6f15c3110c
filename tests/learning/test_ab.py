import math

from naviyam.learning.ab import (
    CANDIDATE,
    PRODUCTION,
    ArmStats,
    assign_arm,
    compare_arms,
    two_proportion_test,
    wilson_interval,
)


def test_assignment_is_stable_and_close_to_the_share():
    arms = [assign_arm(u, 0.2) for u in range(20000)]
    assert arms == [assign_arm(u, 0.2) for u in range(20000)]
    share = arms.count(CANDIDATE) / len(arms)
    assert 0.19 < share < 0.21
    assert assign_arm(5, 0.0) == PRODUCTION and assign_arm(None, 0.5) == PRODUCTION


def test_wilson_interval_known_values():
    lo, hi = wilson_interval(50, 100)
    assert math.isclose(lo, 0.4038, abs_tol=1e-3) and math.isclose(hi, 0.5962, abs_tol=1e-3)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_two_proportion_test_known_value():
    z, p = two_proportion_test(60, 100, 40, 100)
    assert math.isclose(z, 2.828, abs_tol=1e-3) and math.isclose(p, 0.00468, abs_tol=1e-4)
    assert two_proportion_test(10, 100, 10, 100)[1] == 1.0


def test_comparison_flags_significance_only_when_it_is():
    big = compare_arms(ArmStats(CANDIDATE, 1000, 150, 50), ArmStats(PRODUCTION, 1000, 100, 30))
    assert big[0].metric == "ctr" and big[0].significant
    small = compare_arms(ArmStats(CANDIDATE, 50, 8, 2), ArmStats(PRODUCTION, 50, 6, 2))
    assert not small[0].significant and not small[1].significant
