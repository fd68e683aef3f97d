"""How much each hyperparameter matters, for grid and tpe stages.

Grid and tpe stages sample the parameters jointly, which is what Optuna's PED-ANOVA and fANOVA
evaluators assume: each such stage becomes an in-memory Optuna study of its complete trials (one
trial per seed, so seed noise stays in the data) and both evaluators run on it. A one_at_a_time
stage moves one parameter with the others held; there the answer is each curve's overall test
and its largest paired difference (mmrest.report.verdicts), which `ONE_AT_A_TIME_STATEMENT` says.
"""
from __future__ import annotations

import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import optuna
import pandas as pd

from mmrest.config import INTEGER_HYPERPARAMETERS, study_number
from mmrest.report.table import log_scaled
from mmrest.selection.rows import varied_parameters
from mmrest.trial_table import OBJECTIVE, ONE_AT_A_TIME, Objective, StageFacts

MIN_TRIALS = 4  # below this the evaluators' forests and quantiles have nothing to stand on
ONE_AT_A_TIME_STATEMENT = (
    "Optuna's evaluators (PED-ANOVA, fANOVA, and the importance panel of optuna-dashboard) need "
    "trials that vary the parameters together; a one-at-a-time design moves one parameter while the "
    "others stay at the base values, so it cannot tell how the parameters share the objective's "
    "variance. For it, each curve answers two questions: does the parameter change the objective at "
    "all (the overall test over the curve's levels, Holm-corrected across the curves), and by how much "
    "at most (the level farthest from the base point, with its corrected interval)."
)


@dataclass(frozen=True)
class StageImportance:
    stage: str
    design: str
    trials: int
    params: tuple[str, ...]
    ped_anova: dict[str, float] | None  # normalised to sum 1; None with `note` saying why
    fanova: dict[str, float] | None
    note: str


@dataclass(frozen=True)
class Importance:
    objective: Objective
    stages: tuple[StageImportance, ...]  # grid and tpe stages


def importance(done: pd.DataFrame, stages: tuple[StageFacts, ...], objective: Objective, *, seed: int = 0) -> Importance:
    joint = tuple(
        _stage_importance(done.loc[done["stage"] == s.name], s, objective, seed)
        for s in stages if s.design != ONE_AT_A_TIME
    )
    return Importance(objective=objective, stages=joint)


def _stage_importance(rows: pd.DataFrame, stage: StageFacts, objective: Objective, seed: int) -> StageImportance:
    params = tuple(p for p in varied_parameters([stage]) if rows[p].nunique() > 1)

    def without(note: str) -> StageImportance:
        return StageImportance(stage.name, stage.design, len(rows), params, None, None, note)

    if len(rows) < MIN_TRIALS:
        return without(f"only {len(rows)} complete trial(s); the evaluators need {MIN_TRIALS} or more")
    if len(params) < 2:
        return without("fewer than two parameters vary among its complete trials, so there is nothing to apportion")
    if rows[OBJECTIVE].nunique() < 2:
        # fANOVA's forest raises on a constant target ("zero total variance in all trees").
        return without("the objective is the same in every complete trial, so there is no variance to apportion")
    study = _optuna_study(rows, stage, params, objective)
    with _quiet_optuna():
        ped = optuna.importance.get_param_importances(
            study, evaluator=optuna.importance.PedAnovaImportanceEvaluator(), params=list(params))
        fan = optuna.importance.get_param_importances(
            study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=seed), params=list(params))
    return StageImportance(
        stage.name, stage.design, len(rows), params,
        {p: float(ped[p]) for p in params}, {p: float(fan[p]) for p in params}, "",
    )


def _optuna_study(rows: pd.DataFrame, stage: StageFacts, params: tuple[str, ...], objective: Objective) -> optuna.Study:
    distributions = {p: _distribution(p, [*stage.params[p], *rows[p]], log_scaled(stage, p)) for p in params}
    direction = "maximize" if objective.higher_is_better else "minimize"
    with _quiet_optuna():
        study = optuna.create_study(direction=direction)
    for _, row in rows.iterrows():
        values = {p: study_number(p, row[p]) for p in params}
        study.add_trial(optuna.trial.create_trial(
            params=values, distributions=distributions, value=float(row[OBJECTIVE])))
    return study


def _distribution(param: str, values: list[float], log: bool) -> optuna.distributions.BaseDistribution:
    low, high = min(values), max(values)
    if param in INTEGER_HYPERPARAMETERS:
        return optuna.distributions.IntDistribution(int(low), int(high), log=log)
    return optuna.distributions.FloatDistribution(float(low), float(high), log=log)


@contextmanager
def _quiet_optuna():
    """Optuna logs each in-memory study it creates and flags PED-ANOVA as experimental; neither
    is news to a report reader. The verbosity is restored afterwards (it is process-wide)."""
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            yield
    finally:
        optuna.logging.set_verbosity(verbosity)
