"""The seed planner, simulated through the judging code: against statsmodels' power of a paired
t-test where the procedure reduces to one, and the orderings the race must show."""
import math

import pytest
from statsmodels.stats.power import TTestPower

from mmrest.stats import detectable_differences, planned_power
from mmrest.stats.planner import REPLICATES

# Three binomial standard errors of a power near 0.5 from REPLICATES simulated families.
TOLERANCE = 3 * math.sqrt(0.25 / REPLICATES)


@pytest.mark.parametrize("n, delta", [(5, 1.0), (10, 0.7), (20, 0.5)])
def test_one_comparison_at_one_look_has_the_paired_t_tests_power(n, delta):
    # A family of one, judged once at alpha: the comparison's test is the paired t-test (its
    # group's pooled variance is its own), whose power statsmodels computes exactly.
    exact = TTestPower().power(effect_size=delta, nobs=n, alpha=0.05, alternative="two-sided")
    simulated = planned_power(delta, sd_diff=1.0, seeds=n, family_size=1, start=n, max_seeds=n)
    assert simulated == pytest.approx(exact, abs=TOLERANCE)


def test_the_detectable_difference_of_one_comparison_is_the_paired_t_tests():
    table = detectable_differences(1.0, family_size=1, start=10, max_seeds=10, seeds=(10,))
    exact = TTestPower().solve_power(effect_size=None, nobs=10, alpha=0.05, power=0.8, alternative="two-sided")
    assert table[10] == pytest.approx(exact, rel=0.1)


def test_the_table_scales_with_the_noise():
    one = detectable_differences(1.0, family_size=6, start=3, max_seeds=10)
    assert detectable_differences(2.5, family_size=6, start=3, max_seeds=10) == pytest.approx(
        {n: 2.5 * d for n, d in one.items()}, nan_ok=True)


def test_bigger_families_earlier_looks_and_fewer_seeds_need_bigger_differences():
    small = detectable_differences(1.0, family_size=4, start=10, max_seeds=10, seeds=(10,))[10]
    large = detectable_differences(1.0, family_size=40, start=10, max_seeds=10, seeds=(10,))[10]
    raced = detectable_differences(1.0, family_size=4, start=3, max_seeds=20, seeds=(10,))[10]
    assert small < large
    # Ten seeds of a race to 20: the look at 10 spends a sliver of alpha, so it needs more.
    assert small < raced
    table = detectable_differences(1.0, family_size=4, start=5, max_seeds=5, seeds=(5, 10, 20))
    assert table[5] > table[10] > table[20]


def test_a_zero_spread_detects_anything_and_nothing_spreads_no_power():
    assert planned_power(0.1, sd_diff=0.0, seeds=3, family_size=5, start=3, max_seeds=3) == 1.0
    assert planned_power(0.0, sd_diff=0.0, seeds=3, family_size=5, start=3, max_seeds=3) == 0.0


@pytest.mark.parametrize("kwargs, message", [
    (dict(sd_diff=-1.0, family_size=3), "sd_diff"),
    (dict(sd_diff=1.0, family_size=0), "family_size"),
    (dict(sd_diff=1.0, family_size=3, seeds=(1, 5)), "at least 2 seeds"),
    (dict(sd_diff=1.0, family_size=3, power=1.0), "power"),
    (dict(sd_diff=1.0, family_size=3, start=6), "start <= max_seeds"),
])
def test_bad_plans_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        detectable_differences(**{"start": 3, "max_seeds": 5, **kwargs})
