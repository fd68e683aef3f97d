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
    treatment, reference = coarse.values(["valid_mae", "valid_acc7"], raw.seeds)
    np.testing.assert_allclose(treatment[:, 0], [0.80, np.nan, 0.84])
    np.testing.assert_allclose(reference[:, 0], [0.71, 0.72, 0.73])
    assert treatment.shape == reference.shape == (3, 2)
    assert (coarse.stage, coarse.param, coarse.value, coarse.reference) == ("coarse", "xi", 10.0, 3.0)
    # The fine stage's level is compared with the coarse stage's base point, seed by seed.
    treatment, reference = fine.values(["valid_mae"], raw.seeds)
    np.testing.assert_allclose(treatment[:, 0], [0.76, 0.77, 0.78])
    np.testing.assert_allclose(reference[:, 0], [0.71, 0.72, 0.73])
    assert [(c.stage, c.param, c.levels) for c in curves(trials, raw)] == [("coarse", "xi", (3.0, 10.0)),
                                                                          ("fine", "xi", (3.0, 5.0))]


def test_pooled_sd_weights_by_degrees_of_freedom():
    trials = _table()
    raw = facts([oat_stage(xi=[3, 10]), oat_stage("fine", xi=[3, 5])], trials, seeds=(1, 2, 3))
    pairings = level_pairings(trials, raw)
    coarse = np.array([0.80 - 0.71, 0.84 - 0.73])  # seed 2 failed: two pairs, one degree of freedom
    fine = np.full(3, 0.05)  # three pairs, no spread, two degrees of freedom
    expected = math.sqrt((coarse.var(ddof=1) * 1 + fine.var(ddof=1) * 2) / 3)
    assert pooled_sd([tuple(side[:, 0] for side in p.values(["valid_mae"], raw.seeds)) for p in pairings]) == \
        pytest.approx(expected)


def _tied_grid():
    """alpha x xi, where (1, 1) and (1, 10) tie on the mean objective and the rule's tie-break
    (the smaller std over seeds) picks xi = 10."""
    from trial_tables import METRICS

    rows = []
    for alpha in (0.5, 1.0, 2.0):
        for xi in (1.0, 10.0):
            for seed in (1, 2, 3):
                spread = 0.02 if xi == 1.0 else 0.005
                mae = (0.70 if alpha == 1.0 else 0.80) + (seed - 2) * spread
                rows.append(trial(stage="grid", design="grid", varied="", seed=seed, alpha=alpha, xi=xi,
                                  valid={**METRICS, "mae": mae}))
    return table(rows)


def test_candidates_are_compared_with_the_configuration_the_choice_picked():
    from mmrest.selection import DEFAULT_RULE, choose, get_rule
    from mmrest.selection.comparisons import candidate_pairings
    from mmrest.trial_table import StageFacts, complete

    trials = _tied_grid()
    raw = facts([StageFacts("grid", "grid", {"alpha": (0.5, 1.0, 2.0), "xi": (1.0, 10.0)})], trials, seeds=(1, 2, 3))
    choices = choose(complete(trials), raw.tuning_stages(), raw.base_values, raw.objective,
                     get_rule(DEFAULT_RULE), study_name="x", base="mosi")
    assert choices.config["xi"] == 10.0
    pairings = candidate_pairings(trials, raw, choices)
    for p in pairings:
        assert set(p.reference_rows["xi"]) == {10.0} and set(p.reference_rows["alpha"]) == {1.0}
    # Only the candidates that differ from the chosen configuration in the parameter alone are alike.
    alike = {(p.param, p.value) for p in pairings if p.alike}
    assert alike == {("alpha", 0.5), ("alpha", 2.0), ("xi", 1.0)}


def test_a_later_stage_with_only_failed_trials_does_not_break_the_candidates():
    from mmrest.report.build import compute_report
    from trial_tables import disagree_rows, grid_rows, grid_stage

    rows = disagree_rows()
    for row in grid_rows()[:4]:  # a grid stage whose first trials failed; the study still runs
        row.update(state="FAIL", error="boom")
        rows.append(row)
    trials = table(rows)
    raw = facts([oat_stage(alpha=[0.5, 1.0, 2.0]), grid_stage()], trials, finished_all=False)
    candidates = [c for c in compute_report(trials, raw).verdicts.comparisons if c.kind == "candidate"]
    assert candidates and {c.stage for c in candidates} == {"coarse"}
