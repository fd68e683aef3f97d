"""Paired comparisons from a trial table: values aligned by the seed list, failed seeds missing,
a refine stage's base point borrowed from the stage that ran it, the pooled spread, and the
selection-aware family behind the final values."""
import math

import numpy as np
import pytest
from trial_tables import facts, oat_stage, table, trial

from mmrest.config import STUDY_HYPERPARAMETERS
from mmrest.stats import Schedule

from mmrest.selection.comparisons import LEVEL, curves, pooled_sd, study_comparisons, valid_values


def _table():
    rows = [trial(varied="base", seed=s, valid={"mae": 0.70 + 0.01 * s}) for s in (1, 2, 3)]
    rows += [trial(varied="xi", xi=10.0, seed=1, valid={"mae": 0.80}),
             trial(varied="xi", xi=10.0, seed=2, state="FAIL", error="NaN loss"),
             trial(varied="xi", xi=10.0, seed=3, valid={"mae": 0.84})]
    # A refine stage: a new xi level, no base point of its own (it is the coarse stage's).
    rows += [trial(stage="fine", varied="xi", xi=5.0, seed=s, valid={"mae": 0.75 + 0.01 * s}) for s in (3, 1, 2)]
    return table(rows)


def _levels(trials, raw):
    from mmrest.selection import choose_for_study

    study = study_comparisons(trials, raw, choose_for_study(trials, raw))
    return study, valid_values(study, raw)["mae"]


def test_values_follow_the_seed_list_with_failed_seeds_missing():
    trials = _table()
    raw = facts([oat_stage(xi=[3, 10]), oat_stage("fine", xi=[3, 5])], trials, seeds=(1, 2, 3))
    study, mae = _levels(trials, raw)
    coarse, fine = study.of(LEVEL)
    np.testing.assert_allclose(mae[coarse.treatment_id], [0.80, np.nan, 0.84])
    np.testing.assert_allclose(mae[coarse.reference_id], [0.71, 0.72, 0.73])
    assert (coarse.stage, coarse.param, coarse.value, coarse.reference) == ("coarse", "xi", 10.0, 3.0)
    # The fine stage's level is compared with the coarse stage's base point, seed by seed.
    np.testing.assert_allclose(mae[fine.treatment_id], [0.76, 0.77, 0.78])
    np.testing.assert_allclose(mae[fine.reference_id], [0.71, 0.72, 0.73])
    assert fine.reference_id[0] == "fine"  # the base point as the fine stage reads it (its pooling group)
    assert [(c.stage, c.param, c.levels) for c in curves(trials, raw)] == [("coarse", "xi", (3.0, 10.0)),
                                                                          ("fine", "xi", (3.0, 5.0))]


def test_pooled_sd_weights_by_degrees_of_freedom():
    trials = _table()
    raw = facts([oat_stage(xi=[3, 10]), oat_stage("fine", xi=[3, 5])], trials, seeds=(1, 2, 3))
    study, mae = _levels(trials, raw)
    coarse = np.array([0.80 - 0.71, 0.84 - 0.73])  # seed 2 failed: two pairs, one degree of freedom
    fine = np.full(3, 0.05)  # three pairs, no spread, two degrees of freedom
    expected = math.sqrt((coarse.var(ddof=1) * 1 + fine.var(ddof=1) * 2) / 3)
    pairs = [(mae[p.treatment_id], mae[p.reference_id]) for p in study.of(LEVEL)]
    assert pooled_sd(pairs) == pytest.approx(expected)


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
    from mmrest.selection import choose_for_study
    from mmrest.selection.comparisons import CANDIDATE
    from mmrest.trial_table import StageFacts

    trials = _tied_grid()
    raw = facts([StageFacts("grid", "grid", {"alpha": (0.5, 1.0, 2.0), "xi": (1.0, 10.0)})], trials, seeds=(1, 2, 3))
    choices = choose_for_study(trials, raw)
    assert choices.config["xi"] == 10.0
    study = study_comparisons(trials, raw, choices)
    candidates = study.of(CANDIDATE)
    chosen = ("grid", tuple(choices.config[p] for p in STUDY_HYPERPARAMETERS))
    assert all(p.reference_id == chosen for p in candidates)
    # Shown: the candidates on the chosen configuration's lines, which differ from it in one
    # parameter alone.
    assert {(p.param, p.value) for p in candidates} == {("alpha", 0.5), ("alpha", 2.0), ("xi", 1.0)}
    # Judged: every pair on every line of the grid, since the chosen line was picked on the data:
    # along alpha, two lines (xi = 1, xi = 10) of three points, 3 pairs each; along xi, three
    # lines (one per alpha) of two points, 1 pair each.
    assert study.family.size == 2 * 3 + 3 * 1


def test_the_family_holds_every_pair_of_a_curves_candidates_once():
    from mmrest.selection import choose_for_study
    from mmrest.selection.comparisons import CANDIDATE

    trials = table([trial(varied="base", seed=s, valid={"mae": 0.85 + 0.01 * s}) for s in (1, 2, 3)]
                   + [trial(varied="alpha", alpha=a, seed=s, valid={"mae": 0.70 + 0.1 * a + 0.02 * s ** 2})
                      for a in (0.5, 2.0, 4.0) for s in (1, 2, 3)])
    raw = facts([oat_stage(alpha=[0.5, 1.0, 2.0, 4.0])], trials, seeds=(1, 2, 3))
    study = study_comparisons(trials, raw, choose_for_study(trials, raw))
    # Three levels against the base, three candidates against the chosen value (alpha = 0.5): the
    # level and the candidate comparisons of the same two points are one hypothesis, and the
    # family holds all 6 pairs of the 4 candidates.
    assert len(study.of(LEVEL)) == 3 and len(study.of(CANDIDATE)) == 3
    assert study.family.size == 6
    # The base against the chosen 0.5, and 0.5 against the base, read one test the two ways round.
    values = valid_values(study, raw)["mae"]
    judged = study.family.judge(values, schedule=Schedule(start=3, max=3), min_effect=0.01)
    level = next(j for p, j in zip(study.pairings, judged) if p.kind == LEVEL and p.value == 0.5)
    candidate = next(j for p, j in zip(study.pairings, judged) if p.kind == CANDIDATE and p.value == 1.0)
    assert candidate.difference.mean == pytest.approx(-level.difference.mean)
    assert (candidate.corrected_low, candidate.corrected_high) == pytest.approx(
        (-level.corrected_high, -level.corrected_low))
    assert candidate.p_holm == level.p_holm


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
