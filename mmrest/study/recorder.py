"""Ray Tune's searcher for a whole study, and the only writer of the study's Optuna storage.

Tune asks the searcher for a trial whenever a slot is free; the searcher creates the Optuna
trial then (so optuna-dashboard shows it RUNNING while it trains), writes one intermediate value
per epoch as results arrive, and tells Optuna COMPLETE or FAIL when the trial ends. All of it
happens in the driver process; workers only train and report. Stages run one after another in
the same Tune experiment, so the workers started for the first stage serve all of them.

Why not OptunaSearch: it cannot take a fixed list of points (grid_search does not pass through
it, and its GridSampler repeats points), and it attaches none of our metrics.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, FloatDistribution, IntDistribution
from optuna.storages import BaseStorage
from optuna.trial import TrialState
from ray.tune.search import Searcher

from mmrest.config import INTEGER_HYPERPARAMETERS, STUDY_HYPERPARAMETERS, study_number
from mmrest.grid import is_log_spaced
from mmrest.study.planner import PlannedTrial, Point, base_point
from mmrest.study.spec import StageSpec, StudySpec
from mmrest.trial_table import ERROR_ATTR, IDENTITY_ATTRS, OUTCOME_ATTRS


@dataclass
class Finished:
    """An ended trial, as the progress display sees it."""

    planned: PlannedTrial
    ok: bool
    value: float
    seconds: float
    error: str = ""


def stage_distributions(spec: StudySpec, stage: StageSpec, trials: list[PlannedTrial]) -> dict[str, BaseDistribution]:
    """One distribution per hyperparameter for the whole stage, spanning every value the stage
    uses (Optuna refuses a parameter whose log setting changes inside a study)."""
    base = base_point(spec)
    dists: dict[str, BaseDistribution] = {}
    for name in STUDY_HYPERPARAMETERS:
        kind = IntDistribution if name in INTEGER_HYPERPARAMETERS else FloatDistribution
        if stage.ranges and name in stage.ranges:
            rng = stage.ranges[name]
            low, high = study_number(name, rng.low), study_number(name, rng.high)
            dists[name] = kind(low, high, log=rng.log)
            continue
        values = sorted({t.point[name] for t in trials if t.point is not None} | {base[name]})
        dists[name] = kind(values[0], values[-1], log=len(values) > 1 and is_log_spaced(values))
    return dists


class StageRecorder:
    """Opens, feeds and closes the Optuna trials of one stage.

    `todo` is in run order; `stale` maps keys of trials a killed driver left RUNNING to their
    Optuna numbers, which are reused rather than duplicated; `points` holds the TPE points
    already sampled, by point number; `make_config` gives a planned trial's worker config.
    `sampler_seed` seeds the sampler of each new TPE point from the seed and the point's number.
    """

    def __init__(self, study: optuna.Study, storage: BaseStorage, todo: list[PlannedTrial], *,
                 distributions: dict[str, BaseDistribution], make_config: Callable[[PlannedTrial], dict],
                 objective: str, stale: dict[str, int], points: dict[int, Point], sampler_seed: int = 0):
        self._study, self._storage = study, storage
        self._study_id = storage.get_study_id_from_name(study.study_name)
        self._todo = list(todo)
        self._dists = distributions
        self._make_config = make_config
        self._objective = objective
        self._stale = dict(stale)
        self._points = dict(points)
        self._sampler_seed = sampler_seed

    def has_next(self) -> bool:
        return bool(self._todo)

    def open_next(self) -> tuple[PlannedTrial, int]:
        """The next planned trial (its point filled in) and its Optuna trial id, now RUNNING:
        a stale trial reused, or a new one."""
        planned = self._todo.pop(0)
        if planned.key in self._stale:
            optuna_id = self._trial_id(self._stale.pop(planned.key))
            return replace(planned, point=self._storage.get_trial(optuna_id).params), optuna_id
        if planned.point is None and planned.index in self._points:
            planned = replace(planned, point=self._points[planned.index])
        if planned.point is None:
            # A new TPE point: the sampler chooses it; the point's other seeds reuse it. A sampler
            # seeded per point samples it from the trials before it alone, so a driver killed and
            # resumed in between gets the points an uninterrupted run gets.
            seed = int(np.random.SeedSequence([self._sampler_seed, planned.index]).generate_state(1)[0])
            self._study.sampler = optuna.samplers.TPESampler(seed=seed)
            trial = self._study.ask(self._dists)
            planned = replace(planned, point=dict(trial.params))
            self._points[planned.index] = planned.point
            for key, value in self._identity(planned).items():
                trial.set_user_attr(key, value)
        else:
            # enqueue + ask: a fixed point under the stage-wide distributions, so that the
            # dashboard's plots share one axis per hyperparameter.
            self._study.enqueue_trial(planned.point, user_attrs=self._identity(planned))
            trial = self._study.ask(self._dists)
        return planned, self._trial_id(trial.number)

    def report(self, optuna_id: int, epoch: int, value: float) -> None:
        # A storage-level write overwrites an epoch that a killed run already reported.
        self._storage.set_trial_intermediate_value(optuna_id, epoch, value)

    def close(self, planned: PlannedTrial, optuna_id: int, outcome: dict, seconds: float) -> Finished:
        """Tell Optuna how the trial ended: COMPLETE with its metrics, or FAIL with the error."""
        number = self._storage.get_trial_number_from_id(optuna_id)
        if outcome.get("outcome") != "done":
            text = outcome.get("error") or "the Ray worker running this trial failed; see the Ray logs"
            return self._fail(planned, number, optuna_id, text, seconds)
        for key in OUTCOME_ATTRS:
            if key in outcome:
                self._storage.set_trial_user_attr(optuna_id, key, outcome[key])
        value = float(outcome[self._objective])
        if not math.isfinite(value):
            return self._fail(planned, number, optuna_id, f"{self._objective} is {value}", seconds)
        self._study.tell(number, value)
        return Finished(planned, True, value, seconds)

    def _fail(self, planned: PlannedTrial, number: int, optuna_id: int, text: str, seconds: float) -> Finished:
        self._storage.set_trial_user_attr(optuna_id, ERROR_ATTR, text)
        self._study.tell(number, state=TrialState.FAIL)
        return Finished(planned, False, math.nan, seconds, text)

    def _trial_id(self, number: int) -> int:
        return self._storage.get_trial_id_from_study_id_trial_number(self._study_id, number)

    def _identity(self, planned: PlannedTrial) -> dict:
        # The trial table's identity columns: the planned trial's fields, and where its log goes.
        attrs = {name: getattr(planned, name) for name in IDENTITY_ATTRS if name != "log"}
        attrs["log"] = self._make_config(planned)["log"]
        if planned.index is not None:
            attrs["point"] = planned.index
        return attrs


class StudySearcher(Searcher):
    """Serves the study's stages to Ray Tune in order. `next_stage` gives the next stage's
    recorder (None when no stage is left); it is called only once every trial of the previous
    stage has ended, because a refine stage is planned from those results."""

    def __init__(self, next_stage: Callable[[], StageRecorder | None], make_config: Callable[[PlannedTrial], dict],
                 on_event: Callable[[str, object], None]):
        super().__init__()
        self._next_stage = next_stage
        self._make_config = make_config
        self._on_event = on_event
        self._stage: StageRecorder | None = None
        self._live: dict[str, tuple[StageRecorder, PlannedTrial, int, float]] = {}

    def suggest(self, trial_id: str) -> dict | None:
        while self._stage is None or not self._stage.has_next():
            if self._live:
                return None  # the stage barrier: wait for the running trials
            self._stage = self._next_stage()
            if self._stage is None:
                return Searcher.FINISHED
        planned, optuna_id = self._stage.open_next()
        self._live[trial_id] = (self._stage, planned, optuna_id, time.monotonic())
        self._on_event("started", planned)
        return self._make_config(planned)

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        if "epoch" in result and trial_id in self._live:
            stage, _, optuna_id, _ = self._live[trial_id]
            stage.report(optuna_id, int(result["epoch"]), float(result["objective"]))

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        stage, planned, optuna_id, started = self._live.pop(trial_id)
        outcome = {} if error or not result else result
        self._on_event("finished", stage.close(planned, optuna_id, outcome, time.monotonic() - started))

    def save(self, checkpoint_path: str) -> None:
        """Nothing to save: a resume reads what is done from the Optuna storage."""

    def restore(self, checkpoint_path: str) -> None:
        """See `save`."""

    def __getstate__(self) -> dict:
        # Tune pickles its searcher for Tuner.restore, which this engine never uses (see `save`);
        # the live state (storage handles, the output stream) cannot and need not be pickled.
        return {}
