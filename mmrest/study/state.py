"""Where a study stands, read from its Optuna storage: per stage, the plan and what is done.

The storage is the one source of truth: what `run --resume` skips, what `status` counts and what
a refine stage is planned from all come from here, so they cannot disagree.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, TrialState

from mmrest.study.planner import PlannedTrial, Point, PointResult, plan_stage
from mmrest.study.spec import StageSpec, StudySpec
from mmrest.study.storage import stage_trials

FINISHED = (TrialState.COMPLETE, TrialState.FAIL)
UNFINISHED = (TrialState.RUNNING, TrialState.WAITING)


@dataclass
class StageState:
    stage: StageSpec
    planned: list[PlannedTrial] | None  # None: a refine stage whose source has not finished
    trials: list[FrozenTrial] = field(default_factory=list)

    def _keyed(self, states: tuple[TrialState, ...]) -> dict[str, FrozenTrial]:
        # The lowest number wins, so a (never expected) duplicate cannot hide the original.
        out: dict[str, FrozenTrial] = {}
        for t in sorted(self.trials, key=lambda t: t.number):
            if t.state in states and "key" in t.user_attrs:
                out.setdefault(t.user_attrs["key"], t)
        return out

    @property
    def finished(self) -> dict[str, FrozenTrial]:
        return self._keyed(FINISHED)

    @property
    def stale(self) -> dict[str, FrozenTrial]:
        """Trials a previous driver created but never finished (it was killed)."""
        return {k: t for k, t in self._keyed(UNFINISHED).items() if k not in self.finished}

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
        return self.planned is not None and not self.todo

    def count(self, state: TrialState) -> int:
        return sum(t.state == state for t in self.trials)

    def points(self) -> dict[int, Point]:
        """TPE points already sampled, by point number."""
        return {t.user_attrs["point"]: dict(t.params) for t in self.trials if "point" in t.user_attrs and t.params}


def stage_states(spec: StudySpec, storage: BaseStorage) -> list[StageState]:
    """Every stage's state in spec order; a refine stage is planned once its source finished."""
    states: dict[str, StageState] = {}
    for stage in spec.stages:
        trials = stage_trials(storage, spec, stage)
        planned: list[PlannedTrial] | None
        if stage.refine is None:
            planned = plan_stage(spec, stage)
        else:
            source = states[stage.refine.source]
            planned = plan_stage(spec, stage, point_results(source)) if source.is_finished else None
        states[stage.name] = StageState(stage, planned, list(trials))
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


def best_trial(states: list[StageState], mode: str) -> FrozenTrial | None:
    complete = [t for s in states for t in s.trials if t.state == TrialState.COMPLETE and t.value is not None]
    if not complete:
        return None
    return (min if mode == "min" else max)(complete, key=lambda t: t.value)
