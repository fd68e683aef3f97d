"""Numbers of the curve sections (Fig. 4 and every metric) and of the study's facts, as small
records; `render` draws them. Every statistic is over seeds: mean, std (n - 1), min and max.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from mmrest.report.table import first_line, log_scaled
from mmrest.selection.rows import line_rows, seed_stats, varied_parameters
from mmrest.study.status import StageCounts
from mmrest.trial_table import (
    DIAGNOSTIC_COLUMNS, FINISHED_STATES, METRIC_COLUMNS, OBJECTIVE, Objective, StageFacts, StudyFacts,
)

CURVE_COLUMNS = (OBJECTIVE, *METRIC_COLUMNS, *DIAGNOSTIC_COLUMNS)


@dataclass(frozen=True)
class Series:
    """One stage's points on one hyperparameter's axis. In a one_at_a_time stage the other
    parameters are fixed; in a grid or tpe stage each point averages over them too."""

    stage: str
    stage_index: int  # the stage's place in the study, so a stage keeps its marker in every panel
    design: str
    x: tuple[float, ...]
    n: tuple[int, ...]
    mean: dict[str, tuple[float, ...]]  # column (valid_acc7, test_mae, value, ...) -> one per x
    std: dict[str, tuple[float, ...]]
    low: dict[str, tuple[float, ...]]
    high: dict[str, tuple[float, ...]]


@dataclass(frozen=True)
class Panel:
    """One hyperparameter's panel of the curve figures: a series per stage that varies it."""

    param: str
    log_x: bool
    grid: tuple[float, ...]  # the first stage's values: they decide the axis and its log ticks
    paper: float
    chosen: float | None
    series: tuple[Series, ...]  # in stage order; stages without complete trials left out


def panels(
    done: pd.DataFrame, stages: tuple[StageFacts, ...], base_values: dict, chosen: dict[str, float | None],
) -> tuple[Panel, ...]:
    """A curve per varied hyperparameter, each with one series per stage that varies it."""
    result = []
    for param in varied_parameters(stages):
        varying = [(i, s) for i, s in enumerate(stages) if param in s.params]
        series = tuple(
            _series(rows, i, stage, param)
            for i, stage in varying
            if not (rows := line_rows(done, stage, param)).empty
        )
        paper, pick = float(base_values[param]), chosen.get(param)
        xs = [x for s in series for x in s.x] + [paper] + ([pick] if pick is not None else [])
        first = varying[0][1]
        grid = first.params[param]
        log_x = log_scaled(first, param) and min(xs) > 0
        result.append(Panel(param=param, log_x=log_x, grid=grid, paper=paper, chosen=pick, series=series))
    return tuple(result)


def _series(rows: pd.DataFrame, stage_index: int, stage: StageFacts, param: str) -> Series:
    stats = seed_stats(rows, [param], CURVE_COLUMNS)

    def per_x(stat: str) -> dict[str, tuple[float, ...]]:
        return {c: tuple(float(v) for v in stats[(c, stat)]) for c in CURVE_COLUMNS}

    return Series(
        stage=stage.name, stage_index=stage_index, design=stage.design, x=tuple(float(x) for x in stats.index),
        n=tuple(int(n) for n in stats[("n", "")]),
        mean=per_x("mean"), std=per_x("std"), low=per_x("min"), high=per_x("max"),
    )


@dataclass(frozen=True)
class Facts:
    name: str
    dataset: str
    absent_modalities: tuple[str, ...]
    text_path: str
    seeds: tuple[int, ...]
    base: str | None  # preset whose values are the paper's
    base_values: dict[str, float]
    objective: Objective
    planned: int
    done: int
    failed: int
    running: int
    waiting: int
    partial: bool
    started: str | None
    finished: str | None
    wall_seconds: float | None  # finished - started; None while unfinished
    trial_seconds: float  # summed over every trial that ran (complete and failed)
    machine: dict | str
    versions: dict
    stages: dict[str, StageCounts]  # by stage name, in the study's order
    failures: tuple[tuple[str, str], ...]  # (trial key, first line of its error)


def study_facts_summary(trials: pd.DataFrame, facts: StudyFacts) -> Facts:
    """The facts section: the study's own counts, plus what the table says is still under way."""
    states = trials["state"]
    running, waiting = int((states == "RUNNING").sum()), int((states == "WAITING").sum())
    ran = trials.loc[states.isin(FINISHED_STATES), "seconds"].astype(float)
    failed_rows = trials.loc[states == "FAIL"]
    return Facts(
        name=facts.name, dataset=facts.dataset, absent_modalities=facts.absent_modalities,
        text_path=facts.text_path, seeds=facts.seeds, base=facts.base, base_values=dict(facts.base_values),
        objective=facts.objective, planned=facts.planned, done=facts.done, failed=facts.failed,
        running=running, waiting=waiting, partial=not facts.finished_all or running + waiting > 0,
        started=facts.started, finished=facts.finished,
        wall_seconds=_seconds_between(facts.started, facts.finished),
        trial_seconds=float(ran.sum()), machine=facts.machine, versions=dict(facts.versions),
        stages=_stage_counts(trials, facts),
        failures=tuple(zip(failed_rows["key"].astype(str), failed_rows["error"].map(first_line))),
    )


def _stage_counts(trials: pd.DataFrame, facts: StudyFacts) -> dict[str, StageCounts]:
    return {stage.name: StageCounts.of(stage.design, None, trials.loc[trials["stage"] == stage.name, "state"])
            for stage in facts.stages}


def _seconds_between(started: str | None, finished: str | None) -> float | None:
    if not started or not finished:
        return None
    return (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds()
