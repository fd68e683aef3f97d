"""The seed planner: round trip with the power it plans, its scaling, and bad input."""
import pytest

from mmrest.stats import detectable_differences, planned_power


def test_the_detectable_difference_has_the_requested_power():
    table = detectable_differences(0.8, family_size=12, seeds=(3, 5, 10, 20), power=0.8)
    assert list(table) == [3, 5, 10, 20]
    for seeds, difference in table.items():
        assert planned_power(difference, sd_diff=0.8, seeds=seeds, family_size=12) == pytest.approx(0.8, abs=1e-6)
    values = list(table.values())
    assert values == sorted(values, reverse=True)  # more seeds, smaller differences


def test_it_is_in_the_metric_units_and_stricter_for_a_bigger_family():
    one = detectable_differences(1.0, family_size=10)
    assert detectable_differences(2.5, family_size=10)[5] == pytest.approx(2.5 * one[5])
    assert detectable_differences(1.0, family_size=30)[5] > one[5]


def test_planned_power_by_simple_cases():
    assert planned_power(0.0, sd_diff=1.0, seeds=10, family_size=5) == pytest.approx(0.05 / 5 / 2)
    assert planned_power(-3.0, sd_diff=1.0, seeds=10, family_size=5) == planned_power(3.0, sd_diff=1.0, seeds=10, family_size=5)
    assert planned_power(0.1, sd_diff=0.0, seeds=3, family_size=5) == 1.0


@pytest.mark.parametrize("kwargs, message", [
    (dict(sd_diff=-1.0, family_size=3), "sd_diff"),
    (dict(sd_diff=1.0, family_size=0), "family_size"),
    (dict(sd_diff=1.0, family_size=3, seeds=(1, 5)), "at least 2 seeds"),
    (dict(sd_diff=1.0, family_size=3, power=1.0), "power"),
])
def test_bad_plans_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        detectable_differences(**kwargs)
