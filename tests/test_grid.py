"""The one rule for how a list of hyperparameter values is spaced (planner, Optuna, report axes)."""
import pytest

from mmrest.grid import is_log_spaced


@pytest.mark.parametrize("values, expected", [
    ([1, 3, 10, 30, 100], True),  # the xi grid: ratios about 3
    ([0.2, 0.4, 0.8, 1.6], True),  # exact doubling
    ([0.5, 0.7, 1.0, 1.4, 2.0], True),  # a refined log grid around 1
    ([100, 1, 30, 3, 10], True),  # order does not matter
    ([3, 5, 7, 9, 11], False),  # the k grid: even steps
    ([1, 2, 3], False),
    ([0.0, 0.025, 0.05, 0.1], False),  # zero cannot sit on a log axis
    ([-1.0, 1.0, 10.0], False),
    ([5.0, 5.0, 5.0], False),  # one distinct value has no spacing
    ([5], False),
    # Two values: geometric when they span a factor of 10 or more, arithmetic otherwise.
    ([0.1, 10.0], True),
    ([1, 100], True),
    ([0.01, 0.1], True),
    ([1, 2], False),
    ([3, 12], False),
])
def test_log_spacing(values, expected):
    assert is_log_spaced(values) is expected


def test_values_near_the_float_limit_do_not_overflow():
    assert is_log_spaced([1e300, 1e302, 1e304]) is True
