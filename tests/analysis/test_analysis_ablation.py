"""Ablations: means and stds over seeds, differences to the full model, and the noise rule on a
case inside the seed noise, one beyond it, and one with a single seed."""
import numpy as np
import pytest

from mmrest.analysis.ablation import BEYOND, REFERENCE, UNDETERMINED, WITHIN, ablation, compare
from mmrest.analysis.stats import Stat, stat
from mmrest.metrics import METRIC_NAMES


def _metrics(mae: float, acc7: float) -> dict[str, float]:
    return {m: 50.0 for m in METRIC_NAMES} | {"mae": mae, "acc7": acc7}


def test_stat_is_mean_and_sample_std():
    s = stat([1.0, 2.0, 4.0])
    assert (s.mean, s.n) == (7 / 3, 3)
    assert s.std == pytest.approx(np.sqrt(((1 - 7 / 3) ** 2 + (2 - 7 / 3) ** 2 + (4 - 7 / 3) ** 2) / 2))
    assert stat([3.0]) == Stat(3.0, None, 1)


def test_rule_beyond_within_and_undetermined():
    full = Stat(0.80, 0.02, 3)
    assert compare(full, Stat(0.90, 0.05, 3)) == pytest.approx((0.10, 0.05, BEYOND))
    diff, noise, verdict = compare(full, Stat(0.83, 0.05, 3))
    assert (diff, noise, verdict) == (pytest.approx(0.03), 0.05, WITHIN)
    assert compare(full, Stat(0.90, None, 1))[1:] == (None, UNDETERMINED)


def test_table_over_seeds():
    # full: mae 0.80, 0.82 (std 0.01414); acc7 40, 42 (std 1.414)
    # no_bias: mae 0.81, 0.83 -> diff +0.01 inside the noise; acc7 30, 31 -> diff -10.5 beyond it
    # no_mmc: one seed -> undetermined
    rows = ablation({
        "full": [_metrics(0.80, 40.0), _metrics(0.82, 42.0)],
        "no_bias": [_metrics(0.81, 30.0), _metrics(0.83, 31.0)],
        "no_mmc_no_bias": [_metrics(0.95, 35.0)],
    }, reference="full")
    assert [(r.variant, r.seeds) for r in rows] == [("full", 2), ("no_bias", 2), ("no_mmc_no_bias", 1)]
    full, no_bias, no_mmc = rows
    assert full.cell("mae").verdict == REFERENCE and full.cell("mae").diff is None
    assert full.cell("mae").value.mean == pytest.approx(0.81)
    assert full.cell("mae").value.std == pytest.approx(0.02 / np.sqrt(2))
    mae, acc7 = no_bias.cell("mae"), no_bias.cell("acc7")
    assert mae.diff == pytest.approx(0.01) and mae.noise == pytest.approx(0.02 / np.sqrt(2))
    assert mae.verdict == WITHIN and mae.better is False  # higher MAE is worse
    assert acc7.diff == pytest.approx(-10.5) and acc7.noise == pytest.approx(np.sqrt(2))
    assert acc7.verdict == BEYOND and acc7.better is False
    assert no_mmc.cell("acc7").verdict == UNDETERMINED and no_mmc.cell("acc7").noise is None
    assert no_mmc.cell("mae").better is False
    assert no_bias.cell("corr").diff == 0.0 and no_bias.cell("corr").better is None


def test_a_variant_that_beats_the_full_model_is_marked_better():
    rows = ablation({"full": [_metrics(0.9, 40.0)] * 2, "no_bias": [_metrics(0.7, 45.0)] * 2}, reference="full")
    assert rows[1].cell("mae").better is True and rows[1].cell("acc7").better is True
    # Both stds are 0: any difference is beyond the (zero) seed noise.
    assert rows[1].cell("mae").verdict == BEYOND


def test_variants_without_runs_are_left_out_and_the_reference_is_required():
    rows = ablation({"full": [_metrics(0.8, 40.0)], "no_bias": []}, reference="full")
    assert [r.variant for r in rows] == ["full"]
    with pytest.raises(ValueError, match="reference variant 'full' has no trained model"):
        ablation({"full": [], "no_bias": [_metrics(0.8, 40.0)]}, reference="full")
