import math

import numpy as np
import pytest

from mmrest.metrics import METRIC_NAMES, msa_metrics, pearson

# Worked by hand (see the comments): six samples that touch every clip range and both Acc-2 rules.
PRED = [-2.6, -0.4, 0.4, 1.6, 3.5, 0.0]
LABEL = [-3.0, 0.0, 0.6, 1.4, 2.4, -0.2]


def test_names_are_the_documented_ones():
    assert METRIC_NAMES == ("mae", "corr", "acc7", "acc5", "acc3", "acc2_has0", "f1_has0", "acc2_non0", "f1_non0")
    assert set(msa_metrics(PRED, LABEL)) == set(METRIC_NAMES)


def test_hand_computed_case():
    m = msa_metrics(PRED, LABEL)
    # |errors| = .4 .4 .2 .2 1.1 .2 -> 2.5 / 6
    assert m["mae"] == pytest.approx(2.5 / 6)
    # clip to 3 and round: pred -3 0 0 2 3 0, label -3 0 1 1 2 0 -> 3 of 6
    assert m["acc7"] == pytest.approx(50.0)
    # clip to 2: pred -2 0 0 2 2 0, label -2 0 1 1 2 0 -> 4 of 6
    assert m["acc5"] == pytest.approx(400 / 6)
    # clip to 1: pred -1 0 0 1 1 0, label -1 0 1 1 1 0 -> 5 of 6
    assert m["acc3"] == pytest.approx(500 / 6)
    # has-0: pred>=0 F F T T T T, label>=0 F T T T T F -> 4 of 6
    assert m["acc2_has0"] == pytest.approx(400 / 6)
    # F1(T)=.75 (TP 3, FP 1, FN 1), F1(F)=.5 (TP 1, FP 1, FN 1); weights 4 and 2
    assert m["f1_has0"] == pytest.approx(100 * (4 * 0.75 + 2 * 0.5) / 6)
    # non-0 drops the label-0 sample; pred>0 F T T T F equals label>0 F T T T F
    assert m["acc2_non0"] == pytest.approx(100.0)
    assert m["f1_non0"] == pytest.approx(100.0)


def test_pearson_by_hand_and_constant():
    # means 2 and 2; covariance sum (-1)(-1)+0+1*0 = 1; variances 2 and 2 -> 0.5
    assert pearson(np.array([1.0, 2, 3]), np.array([1.0, 3, 2])) == pytest.approx(0.5)
    assert pearson(np.array([1.0, 1, 1]), np.array([1.0, 3, 2])) == 0.0
    assert msa_metrics([1, 2, 3], [1, 3, 2])["corr"] == pytest.approx(0.5)


def test_rounding_is_half_to_even_as_in_mmsa():
    # np.round(2.5) == 2 and np.round(-0.5) == -0: labels 2.4 and 0.2 land in the same classes.
    assert msa_metrics([2.5, -0.5], [2.4, 0.2])["acc7"] == 100.0


def test_all_zero_labels_leave_non0_undefined():
    m = msa_metrics([0.3, -0.2], [0.0, 0.0])
    assert math.isnan(m["acc2_non0"]) and math.isnan(m["f1_non0"])


def test_shape_mismatch_is_refused():
    with pytest.raises(ValueError, match="equally long"):
        msa_metrics([1.0, 2.0], [1.0])
