"""Ablations: means and stds over seeds, and each variant's paired difference to the full model by
seed, checked against a hand computation of the paired t-test and Holm's correction."""
import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.weightstats import ttost_paired

from mmrest.analysis.ablation import REFERENCE, ablation
from mmrest.analysis.stats import Stat, stat
from mmrest.metrics import METRIC_NAMES
from mmrest.stats import DEFAULT_MIN_EFFECT, DIFFERS, NO_PRACTICAL_DIFFERENCE


def _metrics(mae: float, acc7: float) -> dict[str, float]:
    return {m: 50.0 for m in METRIC_NAMES} | {"mae": mae, "acc7": acc7}


def test_stat_is_mean_and_sample_std():
    s = stat([1.0, 2.0, 4.0])
    assert (s.mean, s.n) == (7 / 3, 3)
    assert s.std == pytest.approx(np.sqrt(((1 - 7 / 3) ** 2 + (2 - 7 / 3) ** 2 + (4 - 7 / 3) ** 2) / 2))
    assert stat([3.0]) == Stat(3.0, None, 1)


def test_paired_differences_by_seed_match_a_hand_computation():
    # Full model MAE 0.80, 0.85, 0.82 on seeds 1-3; no_bias 0.84, 0.90, 0.85 -> per-seed differences
    # 0.04, 0.05, 0.03: mean 0.04, sd 0.01, t = 0.04 / (0.01 / sqrt 3) = 6.93 on 2 df.
    full = {1: _metrics(0.80, 40.0), 2: _metrics(0.85, 42.0), 3: _metrics(0.82, 41.0)}
    no_bias = {1: _metrics(0.84, 40.5), 2: _metrics(0.90, 41.5), 3: _metrics(0.85, 41.0)}
    rows = ablation({"full": full, "no_bias": no_bias}, reference="full", min_effect=DEFAULT_MIN_EFFECT)
    reference, variant = rows
    assert reference.cell("mae").verdict == REFERENCE and reference.cell("mae").paired is None
    cell = variant.cell("mae")
    t = 0.04 / (0.01 / math.sqrt(3))
    p = 2 * stats.t.sf(t, 2)
    half = stats.t.ppf(0.975, 2) * 0.01 / math.sqrt(3)
    assert cell.diff == pytest.approx(0.04)
    assert cell.paired.p == pytest.approx(p)
    assert (cell.paired.ci_low, cell.paired.ci_high) == (pytest.approx(0.04 - half), pytest.approx(0.04 + half))
    # One comparison per metric family: Holm changes nothing, the interval at 95 % excludes 0.
    assert cell.paired.p_holm == pytest.approx(p) and cell.paired.seeds == 3
    assert cell.verdict == DIFFERS and cell.better is False  # higher MAE is worse
    # Acc-7: differences +0.5, -0.5, 0 -> mean 0, sd 0.5: the two one-sided tests against a 1-point
    # min_effect (statsmodels' TOST) reject at 5 %, so no practical difference.
    acc7 = [[m["acc7"] for m in by_seed.values()] for by_seed in (no_bias, full)]
    assert ttost_paired(*map(np.array, acc7), -1.0, 1.0)[0] < 0.05
    assert variant.cell("acc7").diff == pytest.approx(0.0) and variant.cell("acc7").verdict == NO_PRACTICAL_DIFFERENCE
    assert variant.cell("corr").verdict == NO_PRACTICAL_DIFFERENCE  # identical on every seed


def test_seeds_are_paired_by_name_not_by_order():
    full = {1: _metrics(0.80, 40.0), 2: _metrics(0.90, 40.0), 3: _metrics(0.70, 40.0)}
    shifted = {seed: _metrics(m["mae"] + 0.05, 40.0) for seed, m in full.items()}
    reordered = dict(reversed(list(shifted.items())))
    _, variant = ablation({"full": full, "v": reordered}, reference="full", min_effect=DEFAULT_MIN_EFFECT)
    # Every seed moved by exactly +0.05: no spread in the differences, a certain difference.
    assert variant.cell("mae").diff == pytest.approx(0.05) and variant.cell("mae").verdict == DIFFERS


def test_holm_corrects_across_the_variants_of_a_metric():
    full = {s: _metrics(0.80 + 0.01 * s, 40.0) for s in (1, 2, 3, 4)}
    a = {s: _metrics(0.80 + 0.01 * s + d, 40.0) for s, d in zip((1, 2, 3, 4), (0.02, 0.03, 0.025, 0.035))}
    b = {s: _metrics(0.80 + 0.01 * s + d, 40.0) for s, d in zip((1, 2, 3, 4), (0.01, -0.01, 0.02, 0.0))}
    _, row_a, row_b = ablation({"full": full, "a": a, "b": b}, reference="full", min_effect=DEFAULT_MIN_EFFECT)
    raw = [row_a.cell("mae").paired.p, row_b.cell("mae").paired.p]
    low, high = sorted(raw)
    assert sorted([row_a.cell("mae").paired.p_holm, row_b.cell("mae").paired.p_holm]) == [
        pytest.approx(2 * low), pytest.approx(max(2 * low, high))]


def test_variants_without_runs_are_left_out_and_the_reference_is_required():
    rows = ablation({"full": {1: _metrics(0.8, 40.0)}, "no_bias": {}}, reference="full", min_effect=DEFAULT_MIN_EFFECT)
    assert [r.variant for r in rows] == ["full"]
    with pytest.raises(ValueError, match="reference variant 'full' has no trained model"):
        ablation({"full": {}, "no_bias": {1: _metrics(0.8, 40.0)}}, reference="full", min_effect=DEFAULT_MIN_EFFECT)
