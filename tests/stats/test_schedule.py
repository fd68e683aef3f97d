"""Looks and their levels: the budget sums to alpha, early looks spend little, bad input."""
import numpy as np
import pytest
from scipy.stats import norm

from mmrest.stats import Schedule


def test_levels_sum_to_alpha_and_the_final_look_keeps_most():
    schedule = Schedule(start=3, max=20, alpha=0.05, interim_share=0.2)
    assert list(schedule.looks) == list(range(3, 21))
    assert schedule.levels.sum() == pytest.approx(0.05)
    assert schedule.level(20) == pytest.approx(0.8 * 0.05)
    interim = schedule.levels[:-1]
    assert np.all(np.diff(interim) > 0)  # spends less early than late
    assert interim[0] < 1e-6


def test_interim_levels_follow_the_obrien_fleming_spending_function():
    schedule = Schedule(start=4, max=10, alpha=0.1, interim_share=0.3)
    t = np.arange(4, 10) / 10
    spent = 2 - 2 * norm.cdf(norm.ppf(1 - 0.1 / 2) / np.sqrt(t))
    increments = np.diff(np.concatenate([[0.0], spent]))
    np.testing.assert_allclose(schedule.levels[:-1], 0.3 * 0.1 * increments / spent[-1], rtol=1e-12)


def test_a_plain_seed_list_is_one_look_at_alpha():
    schedule = Schedule(start=5, max=5)
    assert list(schedule.looks) == [5]
    assert schedule.levels.tolist() == [0.05]
    assert schedule.level(4) == 0.0


def test_a_t_test_needs_two_seeds_so_looks_start_at_two():
    assert list(Schedule(start=1, max=3).looks) == [2, 3]
    assert len(Schedule(start=1, max=1).levels) == 0


@pytest.mark.parametrize("kwargs, message", [
    (dict(start=5, max=3), r"start \(5\) must not exceed max \(3\)"),
    (dict(start=0, max=3), "start must be at least 1"),
    (dict(start=2.5, max=3), "integers"),
    (dict(start=2, max=3, alpha=1.5), "alpha"),
    (dict(start=2, max=3, interim_share=1.0), "interim_share"),
    (dict(start=2, max=3, futility=-0.1), "futility"),
])
def test_bad_schedules_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Schedule(**kwargs)
