"""The fast version of benchmarks/stats_calibration.py: the same mixes through the engine's race
and the report's family, on 20 families per mix (the old procedure's comparison is the
benchmark's alone), with tolerances widened to match the small sample (the benchmark's own 2-SE
tolerances, plus a margin)."""
import importlib.util
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "stats_calibration.py"
MIXES = "ABCDE"


@pytest.fixture(scope="module")
def figures():
    spec = importlib.util.spec_from_file_location("stats_calibration", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module.finish(module.run(module.draws(families=20, seed=1)), old=None)


@pytest.mark.parametrize("mix", MIXES)
def test_differs_keeps_the_family_wise_error_rate(figures, mix):
    assert figures[f"{mix}.family_wise_false_positive_rate"] <= 0.05 + figures[f"{mix}.family_wise_tolerance"]


@pytest.mark.parametrize("mix", MIXES)
def test_no_practical_difference_is_rarely_wrong(figures, mix):
    assert figures[f"{mix}.false_equivalence_rate"] <= 0.05


@pytest.mark.parametrize("mix", MIXES)
def test_the_drawn_interval_covers_at_every_effect_size(figures, mix):
    for effect in ("0", "0.5", "1", "2", "4"):
        covered = figures[f"{mix}.coverage_{effect}sd"]
        assert covered >= 0.95 - 2 * figures[f"{mix}.coverage_tolerance_{effect}sd"] - 0.01


def test_final_values_keep_the_family_wise_error_rate_whatever_was_chosen(figures):
    for k in (3, 5, 8):
        assert figures[f"F.family_wise_false_positive_rate_{k}_candidates"] <= 0.05 + 2 * figures["F.family_wise_tolerance"]


def test_racing_finds_large_effects_and_mostly_agrees_with_the_fixed_design(figures):
    assert figures["A.power_2sd"] >= 0.85
    assert figures["A.racing_agreement"] >= 0.90
    assert figures["A.mean_seeds_4sd"] < figures["A.mean_seeds_0sd"]  # large effects stop early
