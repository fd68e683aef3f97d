"""How much each hyperparameter matters.

Grid and tpe stages sample the parameters jointly, which is what Optuna's PED-ANOVA and fANOVA
evaluators assume: each such stage becomes an in-memory Optuna study of its complete trials (one
trial per seed, so seed noise stays in the data) and both evaluators run on it. A one_at_a_time
stage moves one parameter with the others held, so there the answer is the spread of each curve:
max minus min of the seed-mean objective over the parameter's values, beside the seed noise.
"""
from __future__ import annotations

import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import optuna
import pandas as pd

from mmrest.report.table import log_scaled
from mmrest.selection.rows import decisive_rows, seed_stats, varied_parameters
from mmrest.trial_table import OBJECTIVE, ONE_AT_A_TIME, Objective, StageFacts

MIN_TRIALS = 4  # below this the evaluators' forests and quantiles have nothing to stand on
ONE_AT_A_TIME_STATEMENT = (
    "Optuna's evaluators (PED-ANOVA, fANOVA) need trials that vary the parameters together; a "
    "one-at-a-time design moves one parameter while the others stay at the base values, so it "
    "cannot tell how the parameters share the objective's variance. For it, the spread of each "
    "curve answers the question: the largest minus the smallest mean over seeds of the objective "
    "across the parameter's values. A spread not well above the seed noise (the std over seeds) "
    "means the parameter does not matter within the range tried."
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
class Spread:
    param: str
    stage: str
    spread: float  # max - min of the seed-mean objective over the parameter's values
    noise: float  # root mean square over those values of the objective's std over seeds
    values: int
    best: float  # the parameter's value with the best and the worst seed-mean objective
    worst: float


@dataclass(frozen=True)
class Importance:
    objective: Objective
    stages: tuple[StageImportance, ...]  # grid and tpe stages
    spreads: tuple[Spread, ...]  # parameters of one_at_a_time stages, largest spread first


def importance(done: pd.DataFrame, stages: tuple[StageFacts, ...], objective: Objective, *, seed: int = 0) -> Importance:
    joint = tuple(
        _stage_importance(done.loc[done["stage"] == s.name], s, objective, seed)
        for s in stages if s.design != ONE_AT_A_TIME
    )
    lines = [s for s in stages if s.design == ONE_AT_A_TIME]
    spreads = []
    for param in varied_parameters(lines):
        stage, rows = decisive_rows(done, lines, param)
        if stage is not None:
            spreads.append(_spread(param, stage.name, rows, objective))
    spreads.sort(key=lambda s: (-s.spread, s.param))
    return Importance(objective=objective, stages=joint, spreads=tuple(spreads))


def _spread(param: str, stage: str, rows: pd.DataFrame, objective: Objective) -> Spread:
    stats = seed_stats(rows, [param], (OBJECTIVE,))
    means, stds = stats[(OBJECTIVE, "mean")], stats[(OBJECTIVE, "std")]
    best = means.idxmax() if objective.higher_is_better else means.idxmin()
    worst = means.idxmin() if objective.higher_is_better else means.idxmax()
    return Spread(
        param=param, stage=stage, spread=float(means.max() - means.min()),
        noise=float(np.sqrt(np.nanmean(stds**2))) if stds.notna().any() else float("nan"),
        values=len(means), best=float(best), worst=float(worst),
    )


def _stage_importance(rows: pd.DataFrame, stage: StageFacts, objective: Objective, seed: int) -> StageImportance:
    params = tuple(p for p in varied_parameters([stage]) if rows[p].nunique() > 1)

    def without(note: str) -> StageImportance:
        return StageImportance(stage.name, stage.design, len(rows), params, None, None, note)

    if len(rows) < MIN_TRIALS:
        return without(f"only {len(rows)} complete trial(s); the evaluators need {MIN_TRIALS} or more")
    if len(params) < 2:
        return without("fewer than two parameters vary among its complete trials, so there is nothing to apportion")
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
        values = {p: int(row[p]) if p == "k" else float(row[p]) for p in params}
        study.add_trial(optuna.trial.create_trial(
            params=values, distributions=distributions, value=float(row[OBJECTIVE])))
    return study


def _distribution(param: str, values: list[float], log: bool) -> optuna.distributions.BaseDistribution:
    low, high = min(values), max(values)
    if param == "k":
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
