"""Racing seeds in a one_at_a_time stage (spec `seeds: {list, start, max}`, docs/statistics.md).

Every point starts with the first `start` seeds of the list. After each round, `mmrest.stats`
judges every point against the base point, and per curve the chosen value against its runner-up
(chosen by the report's default rule on the validation metrics so far), on the study objective;
the next seed goes to the points whose answer is still open, and to the base whenever a point
gets one. Which seeds a point runs is therefore a function of the stored results alone:
`race_stage` replays the race from the storage every time, so a driver killed in the middle of a
round resumes with the same plan, and nothing is lost or run twice.

A refine stage of a one_at_a_time stage has no base point of its own (the planner leaves out
points the source ran): its race reads the base's values from the earlier stages, and the base's
further seeds run in this stage under the key `<stage>/base/seed=<seed>`.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pandas as pd
from optuna.trial import FrozenTrial, TrialState

from mmrest.metrics import HIGHER_IS_BETTER
from mmrest.selection import DEFAULT_RULE, choose, get_rule
from mmrest.stats import replay
from mmrest.study.planner import PlannedPoint, PlannedTrial, Point, base_point
from mmrest.study.rows import trial_row
from mmrest.study.spec import StageSpec, StudySpec
from mmrest.trial_table import BASE, Objective, StageFacts, as_table

FINISHED = (TrialState.COMPLETE, TrialState.FAIL)


@dataclass(frozen=True)
class RaceState:
    """Where a stage's race stands: the trials it has planned so far and why."""

    planned: list[PlannedTrial]
    rounds: int  # looks taken so far (0 while the first `start` seeds run)
    seeds: dict[str, int]  # per point label, base included: the seeds the race gives it so far
    status: dict[str, str] = field(default_factory=dict)  # per point: running, decided, futile, at max
    verdicts: dict[str, str] = field(default_factory=dict)  # per point: its comparison with the base
    finished: bool = False


def race_stage(spec: StudySpec, stage: StageSpec, points: list[PlannedPoint], anchor: Point,
               trials: list[FrozenTrial], earlier: list[FrozenTrial]) -> RaceState:
    """The race of a one_at_a_time `stage` around `anchor` (planner.stage_anchor) replayed from
    its `trials`; the base point's values also come from the `earlier` stages' trials of the same
    point, which are not run again."""
    racers = [p for p in points if p.point != anchor]
    seeds = spec.seed_list
    values = {p.label: _held(_by_seed(trials, stage.name, p.label), seeds) for p in racers}
    ran_before = _by_seed(earlier, None, anchor)
    base = _held({**ran_before, **_by_seed(trials, stage.name, BASE)}, seeds)
    start = spec.racing.start
    plan = partial(_plan, stage, racers, PlannedPoint(BASE, BASE, anchor), set(ran_before), seeds)
    if not racers:
        return RaceState([], rounds=0, seeds={}, finished=True)
    if base.size < start or any(v.size < start for v in values.values()):
        return RaceState(plan(dict.fromkeys(values, start), start), rounds=0,
                         seeds={BASE: start, **dict.fromkeys(values, start)})
    # An earlier stage may have raced the base further than this race will: those seeds are given.
    given = _held(ran_before, seeds).size
    race = replay(values, base, schedule=spec.schedule(), min_effect=spec.min_effect[_metric(spec)],
                  pairs=_ChosenPairs(spec, stage, racers, anchor, trials, earlier), base_given=given)
    lengths = {name: v.size + (name in race.missing) for name, v in values.items()}
    base_length = base.size + race.base_missing
    return RaceState(plan(lengths, base_length), rounds=len(race.rounds), seeds={BASE: base_length, **lengths},
                     status=dict(race.final.status), verdicts=race.final.verdicts, finished=race.finished)


def _plan(stage: StageSpec, racers: list[PlannedPoint], base: PlannedPoint, ran_before: set[int], seeds: list[int],
          lengths: dict[str, int], base_length: int) -> list[PlannedTrial]:
    """Every trial of the stage the race has given a seed, seed-major; the base's seeds that an
    earlier stage ran are not run again."""
    planned = []
    for i, seed in enumerate(seeds[: max([base_length, *lengths.values()])]):
        if i < base_length and seed not in ran_before:
            planned.append(base.trial(stage, seed))
        planned += [p.trial(stage, seed) for p in racers if i < lengths[p.label]]
    return planned


def _by_seed(trials: list[FrozenTrial], stage: str | None, label_or_point) -> dict[int, float]:
    """The objective of each finished trial of one point, by seed (NaN for a failed one). A point
    is named by its label in `stage`, or by its hyperparameters (`stage` None: any stage)."""
    found = {}
    for t in sorted(trials, key=lambda t: t.number):
        if t.state not in FINISHED or "key" not in t.user_attrs:
            continue
        if stage is not None:
            if t.user_attrs["key"].rsplit("/seed=", 1)[0] != f"{stage}/{label_or_point}":
                continue
        elif dict(t.params) != label_or_point:
            continue
        value = t.value if t.state == TrialState.COMPLETE and t.value is not None else math.nan
        found.setdefault(int(t.user_attrs["seed"]), float(value))
    return found


def _held(by_seed: Mapping[int, float], seeds: list[int]) -> np.ndarray:
    """The values of the longest run of the seed list, from its first seed, that has ended."""
    held = []
    for seed in seeds:
        if seed not in by_seed:
            break
        held.append(by_seed[seed])
    return np.asarray(held, dtype=np.float64)


def _metric(spec: StudySpec) -> str:
    return spec.objective.metric.removeprefix("valid_")


@dataclass
class _ChosenPairs:
    """Per curve of the stage, the chosen value and its runner-up by the report's default rule on
    the validation metrics of the seeds run so far, as a pair of point labels (a pair with the
    base point is that point's own comparison, so it is left out)."""

    spec: StudySpec
    stage: StageSpec
    racers: list[PlannedPoint]
    anchor: Point
    trials: list[FrozenTrial]
    earlier: list[FrozenTrial]

    def __post_init__(self) -> None:
        self.rows = self._rows()
        self.label_of = {(p.varied, p.point[p.varied]): p.label for p in self.racers if p.varied != BASE}
        self.facts = StageFacts(self.stage.name, self.stage.design, {
            name: tuple(sorted({p.point[name] for p in self.racers if p.varied == name} | {self.anchor[name]}))
            for name in dict.fromkeys(p.varied for p in self.racers)
        })

    def _rows(self) -> pd.DataFrame:
        """The complete trials of the stage, with the base's trials of earlier stages relabelled."""
        own = [trial_row(self.stage.name, self.stage.design, t) for t in self.trials if t.state == TrialState.COMPLETE]
        base = [{**trial_row(self.stage.name, self.stage.design, t), "varied": BASE}
                for t in self.earlier if t.state == TrialState.COMPLETE and dict(t.params) == self.anchor]
        return as_table(own + base)

    def __call__(self, prefix: Mapping[str, np.ndarray]) -> list[tuple[str, str]]:
        base_length = max(v.size for v in prefix.values())  # the base runs every seed any point runs
        lengths = {**{label: v.size for label, v in prefix.items()}, BASE: base_length}
        position = {seed: i for i, seed in enumerate(self.spec.seed_list)}
        rows = self.rows
        label = rows["key"].str.rsplit("/seed=", n=1).str[0].str.split("/", n=1).str[1]
        label = label.where(rows["varied"] != BASE, BASE)
        keep = rows["seed"].map(position) < label.map(lengths).fillna(0)
        metric = self.spec.objective.metric
        choices = choose(rows.loc[keep], (self.facts,), base_point(self.spec),
                         Objective(metric, HIGHER_IS_BETTER[_metric(self.spec)]),
                         get_rule(DEFAULT_RULE), study_name=self.spec.name, base=self.spec.base)
        pairs = []
        for c in choices.items:
            ends = [self.label_of.get((c.param, v)) for v in (c.chosen, c.runner_up)]
            if None not in ends:
                pairs.append(tuple(ends))
        return pairs
