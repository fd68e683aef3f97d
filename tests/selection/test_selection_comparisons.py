"""Paired comparisons from a trial table: values aligned by the seed list, failed seeds missing,
a refine stage's base point borrowed from the stage that ran it, and the pooled spread."""
import math

import numpy as np
import pytest
from trial_tables import facts, oat_stage, table, trial

from mmrest.selection.comparisons import curves, level_pairings, pooled_sd


def _table():
    rows = [trial(varied="base", seed=s, valid={"mae": 0.70 + 0.01 * s}) for s in (1, 2, 3)]
    rows += [trial(varied="xi", xi=10.0, seed=1, valid={"mae": 0.80}),
             trial(varied="xi", xi=10.0, seed=2, state="FAIL", error="NaN loss"),
             trial(varied="xi", xi=10.0, seed=3, valid={"mae": 0.84})]
    # A refine stage: a new xi level, no base point of its own (it is the coarse stage's).
    rows += [trial(stage="fine", varied="xi", xi=5.0, seed=s, valid={"mae": 0.75 + 0.01 * s}) for s in (3, 1, 2)]
    return table(rows)


def test_values_follow_the_seed_list_with_failed_seeds_missing():
    trials = _table()
    raw = facts([oat_stage(xi=[3, 10]), oat_stage("fine", xi=[3, 5])], trials, seeds=(1, 2, 3))
    coarse, fine = level_pairings(trials, raw)
    treatment, reference = coarse.values("valid_mae", raw.seeds)
    np.testing.assert_allclose(treatment, [0.80, np.nan, 0.84])
    np.testing.assert_allclose(reference, [0.71, 0.72, 0.73])
    assert (coarse.stage, coarse.param, coarse.value, coarse.reference) == ("coarse", "xi", 10.0, 3.0)
    # The fine stage's level is compared with the coarse stage's base point, seed by seed.
    treatment, reference = fine.values("valid_mae", raw.seeds)
    np.testing.assert_allclose(treatment, [0.76, 0.77, 0.78])
    np.testing.assert_allclose(reference, [0.71, 0.72, 0.73])
    assert [(c.stage, c.param, c.levels) for c in curves(trials, raw)] == [("coarse", "xi", (3.0, 10.0)),
                                                                          ("fine", "xi", (3.0, 5.0))]


def test_pooled_sd_weights_by_degrees_of_freedom():
    trials = _table()
    raw = facts([oat_stage(xi=[3, 10]), oat_stage("fine", xi=[3, 5])], trials, seeds=(1, 2, 3))
    pairings = level_pairings(trials, raw)
    coarse = np.array([0.80 - 0.71, 0.84 - 0.73])  # seed 2 failed: two pairs, one degree of freedom
    fine = np.full(3, 0.05)  # three pairs, no spread, two degrees of freedom
    expected = math.sqrt((coarse.var(ddof=1) * 1 + fine.var(ddof=1) * 2) / 3)
    assert pooled_sd(pairings, "valid_mae", raw.seeds) == pytest.approx(expected)
