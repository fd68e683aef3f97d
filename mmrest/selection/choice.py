"""Final values: per hyperparameter the value a rule picks on validation metrics, the runner-up,
the metrics that would have picked otherwise and by how much, next to the noise over seeds.

Which trials a choice rests on: those of the latest stage that varies the parameter and has
complete trials (a finer stage refines a coarser one). In a one_at_a_time stage these are the
parameter's points plus the base point, joined by the same line of earlier one_at_a_time stages
when the other six parameters agree; in a grid or tpe stage every configuration of the stage
competes and each parameter takes the winner's value, so the chosen values belong together.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import yaml

from mmrest.config import KMEANS_MODES, STUDY_HYPERPARAMETERS, study_number
from mmrest.metrics import HIGHER_IS_BETTER, METRIC_NAMES
from mmrest.selection.rows import decisive_rows, seed_stats, varied_parameters
from mmrest.selection.rules import DEFAULT_RULE, Rule, get_rule, order, runner_up
from mmrest.trial_table import OBJECTIVE, VALID_COLUMNS, Objective, StageFacts, StudyFacts, complete


@dataclass(frozen=True)
class Disagreement:
    metric: str
    preferred: float  # the parameter's value at this metric's best candidate
    best: float  # the metric's mean over seeds there
    at_chosen: float  # ... and at the chosen candidate
    gap: float  # |best - at_chosen|, in the metric's units
    noise: float  # root mean square of the two candidates' std over seeds of the metric


@dataclass(frozen=True)
class Choice:
    """One hyperparameter's final value. With no complete trial that varies it yet, only `param`
    and `paper` are set."""

    param: str
    paper: float
    stage: str | None = None  # stage the choice rests on
    design: str | None = None
    candidates: int = 0
    chosen: float | None = None
    runner_up: float | None = None
    score: float | None = None  # the rule's score of the chosen and the runner-up candidate
    runner_up_score: float | None = None
    objective: float | None = None  # study objective, mean and std over seeds, chosen and runner-up
    objective_std: float | None = None
    runner_up_objective: float | None = None
    runner_up_objective_std: float | None = None
    agree: tuple[str, ...] = ()  # metrics whose best candidate has the chosen value
    disagreements: tuple[Disagreement, ...] = ()
    config: tuple[float, ...] | None = None  # the chosen candidate's values of STUDY_HYPERPARAMETERS


@dataclass(frozen=True)
class Choices:
    rule: Rule
    objective: Objective
    items: tuple[Choice, ...]
    config: dict[str, float]  # all seven hyperparameters: chosen where a choice exists, else paper
    yaml: str


def choose(
    done: pd.DataFrame, stages: tuple[StageFacts, ...], base_values: dict, objective: Objective, rule: Rule,
    *, study_name: str, base: str | None,
) -> Choices:
    """Per varied hyperparameter, the value `rule` picks on the validation metrics of `done` (the
    complete tuning trials), and the configuration they make together."""
    paper = np.array([float(base_values[p]) for p in STUDY_HYPERPARAMETERS])
    items = []
    for param in varied_parameters(stages):
        stage, rows = decisive_rows(done, stages, param)
        items.append(_choose_one(param, paper, stage, rows, objective, rule))
    config = {p: float(base_values[p]) for p in STUDY_HYPERPARAMETERS}
    config.update({c.param: c.chosen for c in items if c.chosen is not None})
    return Choices(
        rule=rule, objective=objective, items=tuple(items), config=config,
        yaml=config_yaml(config, rule=rule.name, study_name=study_name, base=base),
    )


def choose_for_study(trials: pd.DataFrame, facts: StudyFacts, rule: str = DEFAULT_RULE) -> Choices:
    """The final values of a study (its trial table and facts) under the rule named `rule`: what
    the report shows, `status` plans seeds with and `analyze` analyses."""
    return choose(complete(trials), facts.tuning_stages(), facts.base_values, facts.objective, get_rule(rule),
                  study_name=facts.name, base=facts.base)


def _choose_one(
    param: str, paper: np.ndarray, stage: StageFacts | None, rows: pd.DataFrame, objective: Objective, rule: Rule,
) -> Choice:
    paper_value = float(paper[STUDY_HYPERPARAMETERS.index(param)])
    if stage is None:
        return Choice(param=param, paper=paper_value)
    stats = seed_stats(rows, list(STUDY_HYPERPARAMETERS), (OBJECTIVE, *VALID_COLUMNS))
    means = stats.xs("mean", axis=1, level=1)
    stds = stats.xs("std", axis=1, level=1)
    configs = np.array(stats.index.tolist(), dtype=float)
    values = configs[:, STUDY_HYPERPARAMETERS.index(param)]
    ranked, scores = order(
        rule, means[list(VALID_COLUMNS)].to_numpy(dtype=float),
        means[OBJECTIVE].to_numpy(dtype=float), objective.higher_is_better,
        stds[OBJECTIVE].to_numpy(dtype=float), configs, paper,
    )
    best, other = int(ranked[0]), runner_up(ranked, values)
    agree, disagree = _disagreements(means, stds, values, ranked, best)

    def pick(table: pd.DataFrame, column: str, i: int | None) -> float | None:
        return None if i is None else float(table[column].iloc[i])

    return Choice(
        param=param, paper=paper_value, stage=stage.name, design=stage.design, candidates=len(values),
        chosen=float(values[best]), runner_up=None if other is None else float(values[other]),
        score=float(scores[best]), runner_up_score=None if other is None else float(scores[other]),
        objective=pick(means, OBJECTIVE, best), objective_std=pick(stds, OBJECTIVE, best),
        runner_up_objective=pick(means, OBJECTIVE, other),
        runner_up_objective_std=pick(stds, OBJECTIVE, other),
        agree=agree, disagreements=disagree, config=tuple(float(v) for v in configs[best]),
    )


def _disagreements(
    means: pd.DataFrame, stds: pd.DataFrame, values: np.ndarray, ranked: np.ndarray, best: int,
) -> tuple[tuple[str, ...], tuple[Disagreement, ...]]:
    agree, disagree = [], []
    for metric, column in zip(METRIC_NAMES, VALID_COLUMNS):
        col = means[column].to_numpy(dtype=float)
        if np.isnan(col).all():
            continue
        top = np.nanmax(col) if HIGHER_IS_BETTER[metric] else np.nanmin(col)
        # Among tied best candidates the metric sides with the rule's order: a tie is no dissent.
        favourite = next(int(i) for i in ranked if col[i] == top)
        if values[favourite] == values[best]:
            agree.append(metric)
            continue
        sd = stds[column].to_numpy(dtype=float)
        disagree.append(Disagreement(
            metric=metric, preferred=float(values[favourite]), best=float(top),
            at_chosen=float(col[best]), gap=float(abs(top - col[best])),
            noise=float(np.sqrt((sd[favourite] ** 2 + sd[best] ** 2) / 2)),
        ))
    return tuple(agree), tuple(disagree)


def _readable(name: str, value: float) -> int | float | str:
    """A chosen value as a spec reads it: the k-means mode by name, other values to six digits."""
    number = study_number(name, value)
    if name == "kmeans_mode":
        return KMEANS_MODES[number]
    return number if isinstance(number, int) else float(f"{number:.6g}")


def config_yaml(config: dict[str, float], *, rule: str, study_name: str, base: str | None) -> str:
    """The chosen configuration as a spec fragment (six significant digits: a refined grid's
    log-spaced values carry float noise no one should paste)."""
    train = {p: _readable(p, v) for p, v in config.items()}
    body = ({"base": base} if base else {}) | {"train": train}
    header = f"# chosen by rule '{rule}' on validation metrics of study '{study_name}'\n"
    return header + yaml.safe_dump(body, sort_keys=False)
