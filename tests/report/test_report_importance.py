"""Importance of grid and tpe stages: the real Optuna evaluators."""

import optuna
import pytest
from trial_tables import (
    disagree_case, disagree_rows, facts, grid_rows, grid_stage, oat_stage, table, tpe_case,
)

from mmrest.report.importance import MIN_TRIALS, importance
from mmrest.trial_table import complete


def _importance(trials, raw):
    return importance(complete(trials), raw.tuning_stages(), raw.objective)


def test_one_at_a_time_stages_are_not_given_to_the_evaluators():
    # Their answer is each curve's overall test and effect (tests/report/test_report_verdicts.py).
    assert _importance(*disagree_case()).stages == ()


def test_grid_importance_from_optuna_puts_alpha_first():
    trials = table(grid_rows())
    result = _importance(trials, facts([grid_stage()], trials))
    (stage,) = result.stages
    assert (stage.stage, stage.design, stage.trials, stage.params, stage.note) == ("grid", "grid", 18, ("xi", "alpha"), "")
    for shares in (stage.ped_anova, stage.fanova):
        assert sum(shares.values()) == pytest.approx(1.0)
        assert shares["alpha"] > 0.9  # the objective barely depends on xi
    again = _importance(trials, facts([grid_stage()], trials)).stages[0]
    assert again == stage  # seeded fANOVA: the same numbers every time


def test_importance_leaves_optuna_logging_as_it_was():
    # A level no code of ours sets, so that the check fails if the restore is removed, whatever
    # level earlier tests in the same process left behind.
    outer = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.DEBUG)
    try:
        trials = table(grid_rows())
        _importance(trials, facts([grid_stage()], trials))
        assert optuna.logging.get_verbosity() == optuna.logging.DEBUG
    finally:
        optuna.logging.set_verbosity(outer)


def test_too_few_trials_or_one_varying_parameter_give_a_reason_instead():
    few = table(grid_rows()[: MIN_TRIALS - 1])
    (stage,) = _importance(few, facts([grid_stage()], few)).stages
    assert stage.fanova is None and stage.ped_anova is None
    assert stage.note == f"only {MIN_TRIALS - 1} complete trial(s); the evaluators need {MIN_TRIALS} or more"

    one_xi = table([r for r in grid_rows() if r["xi"] == 3.0])  # alpha varies, xi does not
    (stage,) = _importance(one_xi, facts([grid_stage()], one_xi)).stages
    assert stage.fanova is None and stage.params == ("alpha",)
    assert "fewer than two parameters vary" in stage.note


def test_a_mixed_study_gives_only_its_grid_to_the_evaluators():
    trials = table(disagree_rows() + grid_rows())
    raw = facts([oat_stage(alpha=[0.5, 1.0, 2.0]), grid_stage()], trials)
    assert [s.stage for s in _importance(trials, raw).stages] == ["grid"]


def test_tpe_importance_uses_the_spec_log_scale_and_finds_alpha():
    trials, raw = tpe_case(points=12)
    (stage,) = _importance(trials, raw).stages
    assert (stage.design, stage.trials, stage.params) == ("tpe", 24, ("xi", "alpha"))
    assert sum(stage.fanova.values()) == pytest.approx(1.0) and stage.fanova["alpha"] > 0.7
    assert sum(stage.ped_anova.values()) == pytest.approx(1.0) and stage.ped_anova["alpha"] > 0.5


def test_a_grid_whose_objective_never_moves_gets_a_reason_instead_of_a_crash():
    # Hyperparameters a setting never reads give identical results; fANOVA's forest raised on them.
    flat = table([{**r, "value": 0.8, "valid_mae": 0.8} for r in grid_rows()])
    (stage,) = _importance(flat, facts([grid_stage()], flat)).stages
    assert stage.fanova is None and stage.ped_anova is None and stage.params == ("xi", "alpha")
    assert stage.note == "the objective is the same in every complete trial, so there is no variance to apportion"
