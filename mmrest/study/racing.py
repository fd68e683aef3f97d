"""Racing seeds in a one_at_a_time stage (spec `seeds: {list, start, max}`, docs/statistics.md).

Every point starts with the first `start` seeds of the list. After each round, `mmrest.stats`
judges every point against the base point, and per curve the chosen value against its runner-up
(chosen by the report's default rule on the validation metrics so far), on the study objective;
the next seed goes to the points whose answer is still open, and to the base whenever a point
gets one. Which seeds a point runs is therefore a function of the stored results alone:
`race_stage` replays the race from them every time, so a driver killed in the middle of a round
resumes with the same plan, and nothing is lost or run twice.

A refine stage of a one_at_a_time stage has no base point of its own (the planner leaves out
points the source ran): its race reads the base's values from the earlier stages, and the base's
further seeds run in this stage under the key `<stage>/base/seed=<seed>`.

The race itself works on arrays (`RaceValues`, `ChosenPairs`), so that a simulation replays it
through this same code (benchmarks/stats_calibration.py); `race_stage` reads them off the trials.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from itertools import combinations

import numpy as np
from optuna.trial import FrozenTrial

from mmrest.config import STUDY_HYPERPARAMETERS
from mmrest.metrics import HIGHER_IS_BETTER, METRIC_NAMES
from mmrest.selection import DEFAULT_RULE, Rule, get_rule
from mmrest.selection.rules import best_two
from mmrest.stats import Race, Schedule, replay
from mmrest.study.planner import PlannedPoint, PlannedTrial, Point, base_point
from mmrest.study.spec import StageSpec, StudySpec
from mmrest.trial_table import BASE, FINISHED_STATES, VALID_COLUMNS, point_key


@dataclass(frozen=True)
class RaceState:
    """Where a stage's race stands: the trials it has planned so far and why."""

    planned: list[PlannedTrial]
    rounds: int  # looks taken so far (0 while the first `start` seeds run)
    seeds: dict[str, int]  # per point label, base included: the seeds the race gives it so far
    status: dict[str, str] = field(default_factory=dict)  # per point: running, decided, futile, at max
    verdicts: dict[str, str] = field(default_factory=dict)  # per point: its comparison with the base
    finished: bool = False
    other_rules: bool = False  # its stored seeds follow other racing rules (an earlier version's)


@dataclass(frozen=True)
class RaceValues:
    """A racing stage's stored results, by point label (`BASE` for the base point), each as an
    array over the seed list's positions (NaN for a failed trial), up to the point's last
    consecutive ended seed: `objective` (the study objective) and `metrics` (seeds x the nine
    validation metrics of `mmrest.metrics.METRIC_NAMES`)."""

    objective: dict[str, np.ndarray]
    metrics: dict[str, np.ndarray]
    base_given: int = 0  # the base's leading values an earlier stage ran


@dataclass(frozen=True)
class ChosenPairs:
    """The racing pairs of a stage: per curve, the value the report's default rule would choose
    on the validation metrics of the seeds run so far, and its runner-up, as point labels (a
    pair with the base point is that point's own comparison, so it is left out).

    `curves` maps each varied hyperparameter to its points' labels (the base's included, as
    `BASE`), `configs` each label to its seven hyperparameters (in STUDY_HYPERPARAMETERS order),
    `paper` is the paper's configuration (the rule's tie-break) and `metrics` RaceValues.metrics.
    """

    curves: dict[str, tuple[str, ...]]
    configs: dict[str, tuple[float, ...]]
    paper: tuple[float, ...]
    metrics: dict[str, np.ndarray]
    objective: str  # the study objective's metric name (mae, acc7, ...)
    rule: Rule

    def __call__(self, prefix: Mapping[str, np.ndarray]) -> list[tuple[str, str]]:
        # The base runs every seed any point runs, so it has as many as the longest point.
        lengths = {**{label: v.size for label, v in prefix.items()}, BASE: max(v.size for v in prefix.values())}
        pairs = []
        for param, labels in self.curves.items():
            ends = self._chosen_and_runner_up(param, [label for label in labels if label in lengths], lengths)
            if ends is not None and BASE not in ends:
                pairs.append(ends)
        return pairs

    def _chosen_and_runner_up(self, param: str, labels: list[str], lengths: dict[str, int]) -> tuple[str, str] | None:
        rows = {label: self.metrics[label][: lengths[label]] for label in labels}
        # A candidate needs a complete trial among its seeds so far, as `choose` sees it.
        ran = [label for label in labels if np.isfinite(rows[label]).any()]
        if len(ran) < 2:
            return None
        column = METRIC_NAMES.index(self.objective)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a metric no seed recorded: NaN, as in `choose`
            means = np.array([np.nanmean(rows[label], axis=0) for label in ran])
        spread = np.array([_std(rows[label][:, column]) for label in ran])
        configs = np.array([self.configs[label] for label in ran])
        best, other = best_two(self.rule, means, means[:, column], HIGHER_IS_BETTER[self.objective], spread,
                               configs, np.asarray(self.paper), configs[:, STUDY_HYPERPARAMETERS.index(param)])
        return None if other is None else (ran[best], ran[other])


def race_stage(spec: StudySpec, stage: StageSpec, points: list[PlannedPoint], anchor: Point,
               trials: list[FrozenTrial], earlier: list[FrozenTrial]) -> RaceState:
    """The race of a one_at_a_time `stage` around `anchor` (planner.stage_anchor) replayed from
    its `trials`; the base point's values also come from the `earlier` stages' trials of the same
    point, which are not run again."""
    racers = [p for p in points if p.point != anchor]
    seeds = spec.seed_list
    ran_before = _by_seed(earlier, None, anchor)
    plan = partial(_plan, stage, racers, PlannedPoint(BASE, BASE, anchor), set(ran_before), seeds)
    if not racers:
        return RaceState([], rounds=0, seeds={}, finished=True)
    held = race_values(stage.name, racers, anchor, trials, earlier, seeds)
    start = spec.racing.start
    values, base = held.objective, held.objective[BASE]
    if base.size < start or any(values[p.label].size < start for p in racers):
        return RaceState(plan(dict.fromkeys((p.label for p in racers), start), start), rounds=0,
                         seeds={BASE: start, **{p.label: start for p in racers}})
    # Read leniently: seeds this version's race would not have given mean the stage was raced
    # under other rules (an earlier version's). Nothing stored is dropped: the race reads what
    # its rules ask for and goes on from there, and the state says so.
    race = replay_stage(held, racers, anchor, schedule=spec.schedule(), objective=_metric(spec),
                        min_effect=spec.min_effect[_metric(spec)], paper=base_point(spec), spare=True)
    other_rules = race.unread
    lengths = {p.label: max(values[p.label].size, race.lengths[p.label] + (p.label in race.missing))
               for p in racers}
    base_length = max(base.size, race.base_length + race.base_missing)
    return RaceState(plan(lengths, base_length), rounds=len(race.rounds), seeds={BASE: base_length, **lengths},
                     status=dict(race.final.status), verdicts=race.final.verdicts, finished=race.finished,
                     other_rules=other_rules)


def replay_stage(held: RaceValues, racers: list[PlannedPoint], anchor: Point, *, schedule: Schedule, objective: str,
                 min_effect: float, paper: Point, rule: str = DEFAULT_RULE, spare: bool = False) -> Race:
    """The race of a stage's points (`racers`, each moving one hyperparameter of `anchor`)
    rebuilt from their values, with the engine's racing pairs. `spare`: the values may go on
    beyond the race's (a simulation that drew every seed in advance; mmrest.stats.replay)."""
    curves: dict[str, tuple[str, ...]] = {}
    for p in racers:
        curves[p.varied] = (*curves.get(p.varied, (BASE,)), p.label)
    pairs = ChosenPairs(curves=curves, configs={BASE: _config(anchor), **{p.label: _config(p.point) for p in racers}},
                        paper=_config(paper), metrics=held.metrics, objective=objective, rule=get_rule(rule))
    # Every pair of a curve's levels is in the family too, as the report judges the stage: the
    # chosen value is picked on the data (mmrest.selection.family), and a point the race stops as
    # decided should stay decided in the report.
    others = [(a, b) for labels in curves.values() for a, b in combinations(labels[1:], 2)]
    return replay({p.label: held.objective[p.label] for p in racers}, held.objective[BASE], schedule=schedule,
                  min_effect=min_effect, pairs=pairs, others=others, base_given=held.base_given, spare=spare)


def race_values(stage: str, racers: list[PlannedPoint], anchor: Point, trials: list[FrozenTrial],
                earlier: list[FrozenTrial], seeds: list[int]) -> RaceValues:
    """The stage's stored results as arrays; the base's seeds an earlier stage ran come first."""
    ran_before = _by_seed(earlier, None, anchor)
    objective = {p.label: _held(_by_seed(trials, stage, p.label), seeds) for p in racers}
    metrics = {p.label: _held(_by_seed(trials, stage, p.label, VALID_COLUMNS), seeds, len(VALID_COLUMNS))
               for p in racers}
    own_base = {**_by_seed(earlier, None, anchor, VALID_COLUMNS), **_by_seed(trials, stage, BASE, VALID_COLUMNS)}
    objective[BASE] = _held({**ran_before, **_by_seed(trials, stage, BASE)}, seeds)
    metrics[BASE] = _held(own_base, seeds, len(VALID_COLUMNS))
    return RaceValues(objective=objective, metrics=metrics, base_given=_held(ran_before, seeds).size)


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


def _by_seed(trials: list[FrozenTrial], stage: str | None, label_or_point, columns: tuple[str, ...] | None = None
             ) -> dict[int, float | tuple[float, ...]]:
    """Per seed, the objective (or the `columns` user attributes) of each ended trial of one point
    (NaN for a failed one). A point is named by its label in `stage`, or by its hyperparameters
    (`stage` None: any stage). The lowest trial number wins."""
    found = {}
    for t in sorted(trials, key=lambda t: t.number):
        if t.state.name not in FINISHED_STATES or "key" not in t.user_attrs:
            continue
        if stage is not None:
            if point_key(t.user_attrs["key"]) != f"{stage}/{label_or_point}":
                continue
        elif dict(t.params) != label_or_point:
            continue
        ok = t.state.name == "COMPLETE" and t.value is not None
        if columns is None:
            value = float(t.value) if ok else math.nan
        else:
            value = tuple(float(t.user_attrs.get(c, math.nan)) if ok else math.nan for c in columns)
        found.setdefault(int(t.user_attrs["seed"]), value)
    return found


def _held(by_seed: Mapping[int, object], seeds: list[int], width: int | None = None) -> np.ndarray:
    """The values of the longest run of the seed list, from its first seed, that has ended."""
    held = []
    for seed in seeds:
        if seed not in by_seed:
            break
        held.append(by_seed[seed])
    return np.asarray(held, dtype=np.float64).reshape(-1) if width is None else \
        np.asarray(held, dtype=np.float64).reshape(len(held), width)


def _config(point: Point) -> tuple[float, ...]:
    return tuple(float(point[name]) for name in STUDY_HYPERPARAMETERS)


def _std(values: np.ndarray) -> float:
    """Sample std over the finite values (n - 1), NaN with fewer than two, as pandas' std."""
    finite = values[np.isfinite(values)]
    return float(np.std(finite, ddof=1)) if finite.size >= 2 else math.nan


def _metric(spec: StudySpec) -> str:
    return spec.objective.metric.removeprefix("valid_")
