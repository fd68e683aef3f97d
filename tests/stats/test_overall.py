"""The overall test per curve: textbook sums of squares, the paired t-test, complete blocks."""
import math

import numpy as np
import pytest
from scipy import stats

from mmrest.stats import overall_test


def test_f_by_hand_on_three_seeds_and_three_levels():
    x = np.array([[1.0, 2.0, 4.0],  # rows: seeds (blocks); columns: levels
                  [2.0, 2.5, 5.0],
                  [0.5, 2.0, 3.0]])
    b, k = x.shape
    grand = x.mean()
    ss_level = b * ((x.mean(axis=0) - grand) ** 2).sum()
    ss_block = k * ((x.mean(axis=1) - grand) ** 2).sum()
    ss_error = ((x - grand) ** 2).sum() - ss_level - ss_block
    f = (ss_level / (k - 1)) / (ss_error / ((k - 1) * (b - 1)))
    result = overall_test(list(x.T))
    assert result.statistic == pytest.approx(f)
    assert result.p == pytest.approx(stats.f.sf(f, k - 1, (k - 1) * (b - 1)))
    assert (result.blocks, result.levels) == (3, 3)
    assert "AnovaRM" in result.method


def test_two_levels_are_the_paired_t_test():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=7), rng.normal(size=7)
    result = overall_test([a, b])
    t = stats.ttest_rel(a, b)
    assert result.statistic == pytest.approx(t.statistic ** 2)
    assert result.p == pytest.approx(t.pvalue)


def test_only_seeds_every_level_ran_enter():
    rng = np.random.default_rng(1)
    levels = [rng.normal(size=6) for _ in range(4)]
    holed = [v.copy() for v in levels]
    holed[1][2] = np.nan  # a failed trial drops seed 2 from every level
    short = holed[:3] + [holed[3][:5]]  # a level that ran five seeds drops seed 5
    keep = [0, 1, 3, 4]
    assert overall_test(short) == overall_test([v[keep] for v in levels])
    assert overall_test(short).blocks == 4


def test_no_residual_variation_is_defined():
    seeds = np.array([0.0, 1.0, 5.0])
    shifted = overall_test([seeds, seeds + 1, seeds + 3])
    assert (shifted.statistic, shifted.p) == (math.inf, 0.0)
    same = overall_test([seeds, seeds, seeds])
    assert (same.statistic, same.p) == (0.0, 1.0)


def test_too_little_data():
    one = overall_test([[1.0, np.nan], [2.0, 3.0], [0.5, 1.0]])
    assert one.blocks == 1 and math.isnan(one.p)
    with pytest.raises(ValueError, match="at least 2 levels"):
        overall_test([[1.0, 2.0]])


def test_friedman_cannot_reject_with_three_seeds_after_a_correction():
    # Why the overall test is not Friedman (docs/statistics.md): with 3 seeds and 3 levels even
    # perfectly consistent ranks give p = 0.0498, above any Holm step over two or more curves.
    ranks = [np.array([1.0, 1.0, 1.0]), np.array([2.0, 2.0, 2.0]), np.array([3.0, 3.0, 3.0])]
    assert stats.friedmanchisquare(*ranks).pvalue == pytest.approx(0.0498, abs=1e-4)
    assert overall_test([r + np.array([0.0, 0.1, -0.1]) for r in ranks]).p < 0.001
