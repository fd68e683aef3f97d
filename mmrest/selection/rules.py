"""The rules that choose a hyperparameter's final value when metrics disagree.

A rule scores each candidate (a configuration, its numbers averaged over seeds, validation split
only) so that lower is better. Every rule breaks ties the same way: the smaller std over seeds of
the study objective first (a value that is as good but steadier is the safer pick), then the
paper's configuration (what the data cannot tell apart keeps the published value), then the
smaller hyperparameter values, so the choice never depends on row order.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mmrest.errors import InputError
from mmrest.metrics import HIGHER_IS_BETTER, METRIC_NAMES
from mmrest.trial_table import same_value

TIE_BREAK = (
    "Ties go to the candidate with the smaller std over seeds of the study objective, then to the "
    "paper's value, then to the smaller hyperparameter values."
)


@dataclass(frozen=True)
class Rule:
    name: str
    summary: str  # one line, for --help
    definition: str  # what the report prints
    score: Callable[[np.ndarray, np.ndarray, bool], np.ndarray]


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n of `values` down axis 0 (each column of a matrix apart), smallest first; tied
    values share the mean of their positions; NaN stays NaN (a metric a candidate lacks does not
    rank it). scipy's rankdata, in one call for every column."""
    from scipy.stats import rankdata  # here: the command line's parser imports RULES, and scipy.stats costs a second

    return rankdata(values, method="average", axis=0, nan_policy="omit")


def _mean_rank(metric_means: np.ndarray, objective_means: np.ndarray, higher: bool) -> np.ndarray:
    signs = np.array([-1.0 if HIGHER_IS_BETTER[m] else 1.0 for m in METRIC_NAMES])
    ranks = average_ranks(metric_means * signs)
    counted = (~np.isnan(ranks)).sum(axis=1)
    return np.where(counted > 0, np.nansum(ranks, axis=1) / np.maximum(counted, 1), np.nan)


def _objective(metric_means: np.ndarray, objective_means: np.ndarray, higher: bool) -> np.ndarray:
    return -objective_means if higher else objective_means.copy()


MEAN_RANK = Rule(
    name="mean_rank",
    summary="mean rank over the nine validation metrics (default)",
    definition=(
        "Each of the nine validation metrics (MAE, Corr, Acc-7, Acc-5, Acc-3, Acc-2 and F1 in the "
        "has-0 and non-0 conventions) ranks the candidates by their mean over seeds, best first "
        "(MAE: lower is better; every other metric: higher is better); tied candidates share the "
        "mean of their places. A candidate's score is its rank averaged over the metrics, and the "
        "lowest score wins. " + TIE_BREAK
    ),
    score=_mean_rank,
)
OBJECTIVE = Rule(
    name="objective",
    summary="the study objective alone",
    definition=(
        "The candidate with the best mean over seeds of the study objective (the spec's "
        "objective metric, in its direction) wins; the other metrics are only reported. "
        + TIE_BREAK
    ),
    score=_objective,
)
RULES = {rule.name: rule for rule in (MEAN_RANK, OBJECTIVE)}
DEFAULT_RULE = MEAN_RANK.name


def get_rule(name: str) -> Rule:
    if name not in RULES:
        raise InputError(f"--rule: unknown rule '{name}'. Choose one of: {', '.join(RULES)}")
    return RULES[name]


def order(
    rule: Rule, metric_means: np.ndarray, objective_means: np.ndarray, objective_higher: bool,
    objective_stds: np.ndarray, configs: np.ndarray, paper: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(candidate indices best first, scores). `metric_means` is (candidates, METRIC_NAMES);
    `configs` is (candidates, hyperparameters); `paper` is the paper's configuration."""
    scores = rule.score(metric_means, objective_means, objective_higher)
    not_paper = ~same_value(configs, paper).all(axis=1)
    keys = [configs[:, j] for j in reversed(range(configs.shape[1]))]
    keys += [not_paper, np.nan_to_num(objective_stds, nan=np.inf), np.nan_to_num(scores, nan=np.inf)]
    return np.lexsort(keys), scores


def runner_up(ranked: np.ndarray, values: np.ndarray) -> int | None:
    """The best-ranked candidate whose value of the chosen hyperparameter (`values`, per
    candidate) differs from the winner's; None when every candidate has the winner's value."""
    return next((int(i) for i in ranked if values[i] != values[ranked[0]]), None)


def best_two(
    rule: Rule, metric_means: np.ndarray, objective_means: np.ndarray, objective_higher: bool,
    objective_stds: np.ndarray, configs: np.ndarray, paper: np.ndarray, values: np.ndarray,
) -> tuple[int, int | None]:
    """(the winner, the runner-up) among candidates, as `order` ranks them (its arguments) and
    `runner_up` picks the second; the racing engine's pairs come from here."""
    ranked, _ = order(rule, metric_means, objective_means, objective_higher, objective_stds, configs, paper)
    return int(ranked[0]), runner_up(ranked, values)
