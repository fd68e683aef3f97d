"""Stages into trials: every point of a stage's design, once per seed, each under a stable key.

Pure functions: a refine stage is planned from the seed-averaged results of its source stage,
which the caller reads from the storage, so the same results always give the same plan.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from mmrest.config import INTEGER_HYPERPARAMETERS, PRESETS, STUDY_HYPERPARAMETERS, TrainConfig, study_number, study_values
from mmrest.formatting import format_value
from mmrest.grid import is_log_spaced
from mmrest.study.spec import StageSpec, StudySpec
from mmrest.trial_table import trial_key

Point = dict[str, float]


@dataclass(frozen=True)
class PlannedTrial:
    key: str  # e.g. "coarse/k=5/seed=1111"; unique in a study
    stage: str
    design: str
    varied: str  # one_at_a_time: the hyperparameter this point moves, or "base"; else ""
    seed: int
    point: Point | None  # all seven hyperparameters; None for a TPE point not sampled yet
    index: int | None = None  # TPE point number


@dataclass(frozen=True)
class PlannedPoint:
    """A point of a fixed design (one_at_a_time or grid), before its seeds."""

    label: str  # "base", "k=5" or, in a grid, "k=5,xi=3": the middle of its trials' keys
    varied: str  # one_at_a_time: the hyperparameter it moves, or "base"; grid: ""
    point: Point

    def trial(self, stage: StageSpec, seed: int) -> PlannedTrial:
        return PlannedTrial(trial_key(stage.name, self.label, seed), stage.name, stage.design, self.varied, seed,
                            self.point)


@dataclass(frozen=True)
class PointResult:
    """A point of a finished stage and its objective averaged over the seeds that completed."""

    point: Point
    varied: str
    value: float  # NaN when no seed completed


def base_point(spec: StudySpec) -> Point:
    """The seven hyperparameters of the base preset with `train` applied (the paper's values
    unless `train` sets one)."""
    return study_values(TrainConfig(**{**PRESETS[spec.base], **spec.train}))


def plan_stage(spec: StudySpec, stage: StageSpec, source: list[PointResult] | None = None) -> list[PlannedTrial]:
    """The stage's trials with the seeds every point runs (`spec.start_seeds`: all of them, or
    the first `start` of a race), seed-major for fixed designs (so a whole curve exists after the
    first seed), point-major for TPE (its samples are sequential). A refine stage needs `source`."""
    if stage.design == "tpe":
        return [
            PlannedTrial(trial_key(stage.name, f"n={i}", seed), stage.name, "tpe", "", seed, None, i)
            for i in range(stage.n_trials)
            for seed in spec.start_seeds
        ]
    points = stage_points(spec, stage, source)
    return [p.trial(stage, seed) for seed in spec.start_seeds for p in points]


def stage_points(spec: StudySpec, stage: StageSpec, source: list[PointResult] | None = None) -> list[PlannedPoint]:
    """The points of a one_at_a_time or grid stage, without those its source stage already ran
    (a refine stage of a one_at_a_time stage has no base point of its own: it is the source's)."""
    anchor, values = _anchor_and_values(spec, stage, source)
    already_run = [] if source is None else [r.point for r in source]
    points = _one_at_a_time(anchor, values) if stage.design == "one_at_a_time" else _grid(anchor, values)
    return [PlannedPoint(_label(varied, p, values), varied if stage.design == "one_at_a_time" else "", p)
            for varied, p in points if p not in already_run]


def stage_anchor(spec: StudySpec, stage: StageSpec, source: list[PointResult] | None = None) -> Point:
    """The point a one_at_a_time stage varies around: the study's base, or for a refine stage
    what `refine_values` anchors it on (the winning point of a grid source)."""
    return _anchor_and_values(spec, stage, source)[0]


def _anchor_and_values(spec: StudySpec, stage: StageSpec, source: list[PointResult] | None):
    if stage.refine is None:
        return base_point(spec), _normal_values(stage.params)
    if source is None:
        raise ValueError(f"stage {stage.name!r} refines {stage.refine.source!r}: pass its results")
    source_design = spec.stage(stage.refine.source).design
    return refine_values(source, source_design, stage.refine.points, spec.objective.mode, base_point(spec))


def refine_values(source: list[PointResult], source_design: str, points: int, mode: str,
                  base: Point) -> tuple[Point, dict[str, list[float]]]:
    """The anchor point and, per refined hyperparameter, its finer values: `points` new values
    strictly between the coarse winner's neighbouring values (log-spaced where the coarse values
    are), plus the winner itself. The anchor is the base point after a one_at_a_time source and
    the winning point after a grid. A hyperparameter none of whose points completed is skipped."""
    sign = 1.0 if mode == "min" else -1.0
    values: dict[str, list[float]] = {}
    if source_design == "one_at_a_time":
        anchor = base
        for name in dict.fromkeys(r.varied for r in source if r.varied not in ("", "base")):
            axis = [r for r in source if r.varied in (name, "base")]
            ranked = [r for r in axis if math.isfinite(r.value)]
            if ranked:
                winner = min(ranked, key=lambda r: (sign * r.value, r.point[name]))
                values[name] = _finer([r.point[name] for r in axis], winner.point[name], points, name)
        return anchor, values
    ranked = [r for r in source if math.isfinite(r.value)]
    if not ranked:
        return base, {}
    anchor = min(ranked, key=lambda r: sign * r.value).point
    for name in STUDY_HYPERPARAMETERS:
        axis = [r.point[name] for r in source]
        if len(set(axis)) > 1:
            values[name] = _finer(axis, anchor[name], points, name)
    return anchor, values


def between(low: float, high: float, n: int, *, log: bool, integer: bool) -> list[float]:
    """`n` values spaced evenly (geometrically when `log`) strictly between low and high; for an
    integer hyperparameter, the distinct integers among them."""
    if not low < high:
        return []
    spaced = np.geomspace(low, high, n + 2) if log else np.linspace(low, high, n + 2)
    inner = spaced[1:-1]
    if integer:
        return sorted({int(round(x)) for x in inner} - {int(low), int(high)})
    return sorted({float(f"{x:.6g}") for x in inner} - {low, high})


# ---------------------------------------------------------------- helpers


def _finer(axis: list[float], winner: float, points: int, name: str) -> list[float]:
    ordered = sorted(set(axis))
    i = ordered.index(winner)
    low, high = ordered[max(i - 1, 0)], ordered[min(i + 1, len(ordered) - 1)]
    log = is_log_spaced(ordered)
    new = between(low, high, points, log=log, integer=name in INTEGER_HYPERPARAMETERS)
    return _normal_list(name, sorted(set(new) | {winner}))


def _normal_list(name: str, values: list[float]) -> list[float]:
    return [study_number(name, v) for v in values]


def _normal_values(params: dict[str, list[float]]) -> dict[str, list[float]]:
    return {name: _normal_list(name, values) for name, values in params.items()}


def _one_at_a_time(anchor: Point, values: dict[str, list[float]]) -> list[tuple[str, Point]]:
    """The anchor once, then each listed value that differs from the anchor's."""
    points = [("base", dict(anchor))]
    for name, listed in values.items():
        points += [(name, {**anchor, name: v}) for v in listed if v != anchor[name]]
    return points


def _grid(anchor: Point, values: dict[str, list[float]]) -> list[tuple[str, Point]]:
    names = list(values)
    return [("", {**anchor, **dict(zip(names, combo))}) for combo in itertools.product(*values.values())]


def _label(varied: str, point: Point, values: dict[str, list[float]]) -> str:
    if varied == "base" or not values:
        return "base"
    names = [varied] if varied else list(values)
    return ",".join(f"{name}={format_value(point[name])}" for name in names)
