"""Importance: curve spreads by hand for one-at-a-time, the real Optuna evaluators for grids."""
import math

import optuna
import pytest
from trial_tables import (
    disagree_case, disagree_rows, facts, grid_rows, grid_stage, oat_stage, table, tpe_case, trial,
)

from mmrest.report.importance import MIN_TRIALS, importance
from mmrest.trial_table import complete


def _importance(trials, raw):
    return importance(complete(trials), raw.tuning_stages(), raw.objective)


def test_one_at_a_time_spread_by_hand():
    result = _importance(*disagree_case())
    assert result.stages == ()
    (s,) = result.spreads
    assert (s.param, s.stage, s.values, s.best, s.worst) == ("alpha", "coarse", 3, 0.5, 2.0)
    assert s.spread == pytest.approx(0.80 - 0.70)
    assert s.noise == pytest.approx(0.01 * math.sqrt(2))  # every point's objective std


def test_spreads_are_ranked_largest_first_and_best_follows_the_direction():
    rows = [trial(varied="base", seed=s) for s in (1, 2)]  # valid_mae 0.75
    rows += [trial(varied="xi", xi=10.0, seed=s, valid={"mae": 0.95}) for s in (1, 2)]
    rows += [trial(varied="alpha", alpha=2.0, seed=s, valid={"mae": 0.70}) for s in (1, 2)]
    trials = table(rows)
    result = _importance(trials, facts([oat_stage(xi=[3, 10], alpha=[1, 2])], trials))
    xi, alpha = result.spreads
    assert (xi.param, xi.spread, xi.best, xi.worst) == ("xi", pytest.approx(0.20), 3.0, 10.0)
    assert (alpha.param, alpha.spread, alpha.best, alpha.worst) == ("alpha", pytest.approx(0.05), 2.0, 1.0)
    assert xi.noise == 0.0  # both seeds gave the same numbers


def test_grid_importance_from_optuna_puts_alpha_first():
    trials = table(grid_rows())
    result = _importance(trials, facts([grid_stage()], trials))
    assert result.spreads == ()
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


def test_mixed_study_has_both_answers():
    trials = table(disagree_rows() + grid_rows())
    raw = facts([oat_stage(alpha=[0.5, 1.0, 2.0]), grid_stage()], trials)
    result = _importance(trials, raw)
    assert [s.stage for s in result.stages] == ["grid"]
    assert [s.param for s in result.spreads] == ["alpha"] and result.spreads[0].stage == "coarse"


def test_tpe_importance_uses_the_spec_log_scale_and_finds_alpha():
    trials, raw = tpe_case(points=12)
    (stage,) = _importance(trials, raw).stages
    assert (stage.design, stage.trials, stage.params) == ("tpe", 24, ("xi", "alpha"))
    assert sum(stage.fanova.values()) == pytest.approx(1.0) and stage.fanova["alpha"] > 0.7
    assert sum(stage.ped_anova.values()) == pytest.approx(1.0) and stage.ped_anova["alpha"] > 0.5
