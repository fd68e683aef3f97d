"""The fast version of benchmarks/stats_calibration.py: the same simulation and figures on fewer
families, seeded, with tolerances widened to match (the benchmark's own 2-SE tolerances plus a
margin for the small sample)."""
import importlib.util
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "stats_calibration.py"


@pytest.fixture(scope="module")
def figures():
    spec = importlib.util.spec_from_file_location("stats_calibration", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module.calibrate(families=100, curves=200, seed=1)


def test_racing_keeps_the_family_wise_error_rate(figures):
    assert figures["family_wise_false_positive_rate"] <= 0.05 + figures["family_wise_tolerance"]
    assert figures["family_wise_false_positive_rate_fixed"] <= 0.05 + figures["family_wise_tolerance"]


def test_the_reported_interval_covers(figures):
    assert figures["coverage"] >= 0.95 - 2 * figures["coverage_tolerance"]
    assert figures["coverage_look_adjusted"] >= 0.95


def test_power_is_what_the_planner_says(figures):
    assert figures["power_2sd"] == pytest.approx(figures["planned_power_2sd"], abs=0.05)


def test_racing_agrees_with_the_fixed_design_on_fewer_trials(figures):
    assert figures["racing_agreement"] >= 0.93
    assert figures["racing_trial_fraction"] <= 0.62
    assert figures["false_no_practical_difference_rate"] <= 0.01


def test_the_overall_test_keeps_its_level(figures):
    for seeds in (3, 10):
        assert figures[f"overall_false_positive_rate_{seeds}_seeds"] <= 0.05 + 2 * figures["overall_tolerance"]
