"""Where a study stands, from the trials its Optuna storage holds: per stage, the plan and what
is done.

The storage is the one source of truth: what `run --resume` skips, what `status` counts and what
a refine stage is planned from all come from here, so they cannot disagree. `stage_states` is a
pure function of the spec and the recorded trials: the runner calls it after every stage or
racing round, and a reader of the study (`mmrest.study.results.StudyResults`) once.
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from optuna.trial import FrozenTrial, TrialState

from mmrest.study.planner import PlannedTrial, Point, PointResult, plan_stage, stage_anchor, stage_points
from mmrest.study.racing import RaceState, race_stage
from mmrest.study.spec import StageSpec, StudySpec
from mmrest.trial_table import FINISHED_STATES, UNFINISHED_STATES, point_key


@dataclass
class StageState:
    stage: StageSpec
    planned: list[PlannedTrial] | None  # None: a refine stage whose source has not finished
    trials: list[FrozenTrial] = field(default_factory=list)
    race: RaceState | None = None  # a racing stage: its planned trials so far are the race's

    def _keyed(self, states: tuple[str, ...]) -> dict[str, FrozenTrial]:
        # The lowest number wins, so a (never expected) duplicate cannot hide the original.
        out: dict[str, FrozenTrial] = {}
        for t in sorted(self.trials, key=lambda t: t.number):
            if t.state.name in states and "key" in t.user_attrs:
                out.setdefault(t.user_attrs["key"], t)
        return out

    @property
    def finished(self) -> dict[str, FrozenTrial]:
        return self._keyed(FINISHED_STATES)

    @property
    def stale(self) -> dict[str, FrozenTrial]:
        """Trials a previous driver created but never finished (it was killed)."""
        return {k: t for k, t in self._keyed(UNFINISHED_STATES).items() if k not in self.finished}

    @property
    def todo(self) -> list[PlannedTrial] | None:
        """Planned trials not finished yet, those a killed driver left first."""
        if self.planned is None:
            return None
        finished, stale = self.finished, self.stale
        pending = [p for p in self.planned if p.key not in finished]
        return [p for p in pending if p.key in stale] + [p for p in pending if p.key not in stale]

    @property
    def is_finished(self) -> bool:
        return self.planned is not None and not self.todo and (self.race is None or self.race.finished)

    def count(self, state: TrialState) -> int:
        return sum(t.state == state for t in self.trials)

    def points(self) -> dict[int, Point]:
        """TPE points already sampled, by point number."""
        return {t.user_attrs["point"]: dict(t.params) for t in self.trials if "point" in t.user_attrs and t.params}


def stage_states(spec: StudySpec, trials: Mapping[str, list[FrozenTrial]]) -> list[StageState]:
    """Every stage's state in spec order, from each stage's recorded trials (by stage name; a
    stage that never started has none); a refine stage is planned once its source finished."""
    states: dict[str, StageState] = {}
    for stage in spec.stages:
        own = list(trials.get(stage.name, ()))
        source = None
        if stage.refine is not None:
            if not states[stage.refine.source].is_finished:
                states[stage.name] = StageState(stage, None, own)
                continue
            source = point_results(states[stage.refine.source])
        if spec.racing is not None and stage.design == "one_at_a_time":
            earlier = [t for s in states.values() for t in s.trials]
            race = race_stage(spec, stage, stage_points(spec, stage, source), stage_anchor(spec, stage, source),
                              own, earlier)
            states[stage.name] = StageState(stage, race.planned, own, race)
        else:
            states[stage.name] = StageState(stage, plan_stage(spec, stage, source), own)
    return list(states.values())


def point_results(state: StageState) -> list[PointResult]:
    """Each point of a stage with its objective averaged over the seeds that completed."""
    values: dict[tuple, list[float]] = defaultdict(list)
    meta: dict[tuple, tuple[Point, str]] = {}
    for t in state.finished.values():
        point = {name: t.params[name] for name in sorted(t.params)}
        ident = tuple(point.items())
        meta[ident] = (point, t.user_attrs.get("varied", ""))
        if t.state == TrialState.COMPLETE and t.value is not None and math.isfinite(t.value):
            values[ident].append(t.value)
    return [
        PointResult(point, varied, sum(values[i]) / len(values[i]) if values[i] else math.nan)
        for i, (point, varied) in meta.items()
    ]


def point_values(states: list[StageState]) -> dict[str, list[float]]:
    """The objective of every complete trial, by point, in trial order."""
    values: dict[str, list[float]] = defaultdict(list)
    for s in states:
        for t in sorted(s.trials, key=lambda t: t.number):
            if t.state == TrialState.COMPLETE and t.value is not None and "key" in t.user_attrs:
                values[point_key(t.user_attrs["key"])].append(float(t.value))
    return dict(values)


@dataclass(frozen=True)
class BestPoint:
    key: str  # the point: a trial key without its seed
    mean: float  # the objective's mean over the seeds run so far
    seeds: int


def best_point(values: dict[str, list[float]] | list[StageState], mode: str) -> BestPoint | None:
    """The point with the best objective averaged over its seeds so far (not one lucky seed);
    ties go to the point with more seeds, then to the first."""
    if isinstance(values, list):
        values = point_values(values)
    means = [BestPoint(key, sum(v) / len(v), len(v)) for key, v in values.items() if v]
    if not means:
        return None
    sign = 1.0 if mode == "min" else -1.0
    return min(means, key=lambda b: (sign * b.mean, -b.seeds))
