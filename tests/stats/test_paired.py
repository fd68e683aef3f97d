"""The paired t-test of one comparison: hand computation, NaN and zero-variance rules, bad input."""
import math

import numpy as np
import pytest
from scipy import stats

from mmrest.stats import paired_difference
from mmrest.stats.paired import row_tests


def test_paired_difference_by_hand():
    # Differences 1, 2, 4: mean 7/3, sd sqrt(7/3), se sd/sqrt(3), t = mean/se on 2 degrees of freedom.
    d = paired_difference([2.0, 3.0, 7.0], [1.0, 1.0, 3.0])
    mean, sd = 7 / 3, math.sqrt(7 / 3)
    se = sd / math.sqrt(3)
    assert d.n == 3
    assert d.mean == pytest.approx(mean)
    assert d.sd == pytest.approx(sd)
    assert d.p == pytest.approx(2 * stats.t.sf(mean / se, 2))
    q = stats.t.ppf(0.975, 2)  # 4.3027
    assert (d.ci_low, d.ci_high) == pytest.approx((mean - q * se, mean + q * se))


def test_a_failed_seed_drops_its_pair_and_a_longer_reference_is_cut():
    with_nan = paired_difference([1.0, np.nan, 3.0, 6.0], [0.5, 2.0, 1.0, 1.0, 99.0])
    plain = paired_difference([1.0, 3.0, 6.0], [0.5, 1.0, 1.0])
    assert with_nan == plain
    assert with_nan.n == 3


def test_other_confidence_levels_are_scipys_interval():
    t, r = np.array([0.3, 0.9, 0.4, 1.2]), np.array([0.1, 0.2, 0.6, 0.3])
    d = paired_difference(t, r, confidence=0.8)
    ci = stats.ttest_rel(t, r).confidence_interval(0.8)
    assert (d.ci_low, d.ci_high) == pytest.approx((ci.low, ci.high))


def test_zero_variance_is_defined():
    shifted = paired_difference([2.0, 3.0, 5.0], [1.5, 2.5, 4.5])  # every difference is 0.5
    assert (shifted.sd, shifted.ci_low, shifted.ci_high, shifted.p) == (0.0, 0.5, 0.5, 0.0)
    same = paired_difference([2.0, 3.0, 5.0], [2.0, 3.0, 5.0])
    assert (same.mean, same.sd, same.ci_low, same.ci_high, same.p) == (0.0, 0.0, 0.0, 0.0, 1.0)


def test_too_few_pairs_give_nan_numbers():
    one = paired_difference([2.0, np.nan], [1.0, 1.0])
    assert one.n == 1 and one.mean == 1.0
    assert all(math.isnan(v) for v in (one.sd, one.ci_low, one.ci_high, one.p))
    none = paired_difference([np.nan], [1.0])
    assert none.n == 0 and math.isnan(none.mean)


def test_rows_tested_together_match_scipy_one_row_at_a_time():
    rng = np.random.default_rng(3)
    t, r = rng.normal(size=(12, 6)), rng.normal(size=(12, 6))
    t[2, 1] = np.nan  # a failed seed
    r[5, [0, 3, 4, 5]] = np.nan  # two pairs left
    rows = row_tests(t, r, confidence=0.9)
    for i in range(12):
        keep = ~np.isnan(t[i] - r[i])
        res = stats.ttest_rel(t[i, keep], r[i, keep])
        ci = res.confidence_interval(0.9)
        d = t[i, keep] - r[i, keep]
        got = (rows.n[i], rows.mean[i], rows.sd[i], rows.low[i], rows.high[i], rows.p[i])
        want = (keep.sum(), d.mean(), d.std(ddof=1), ci.low, ci.high, res.pvalue)
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_bad_input_is_refused_with_a_reason():
    with pytest.raises(ValueError, match="mismatched lengths"):
        paired_difference([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="1-D"):
        paired_difference([[1.0, 2.0]], [[1.0, 2.0]])
    with pytest.raises(ValueError, match="confidence"):
        paired_difference([1.0, 2.0], [0.0, 0.0], confidence=95)
