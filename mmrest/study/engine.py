"""Run a study: its stages in order, each stage's trials through Ray Tune, recorded in Optuna.

`check_start` refuses what must not run (an existing study without --resume, a resume with a
different spec, a study another live process drives) before anything is written; `run_study`
then creates or reopens the study folder, starts or joins Ray, and runs what is left.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TextIO

import optuna
from optuna.storages import BaseStorage
from optuna.trial import TrialState
from ray import tune

from mmrest.config import make_config
from mmrest.data.dataset import MSADataset
from mmrest.errors import InputError
from mmrest.study import cluster
from mmrest.study.data import describe, load_study_dataset
from mmrest.study.folder import StudyFolder
from mmrest.study.planner import PlannedTrial
from mmrest.study.progress import Progress
from mmrest.study.recorder import StageRecorder, StudySearcher, stage_distributions
from mmrest.study.spec import StageSpec, StudySpec
from mmrest.study.state import StageState, best_trial, stage_states
from mmrest.study.storage import (
    is_url,
    open_storage,
    release_dead_writer_lock,
    stage_study,
    stage_study_name,
    stage_trials,
    storage_url,
)
from mmrest.study.trial import LOG_NAME, run_trial

# Fields a resume may change: they decide how trials run, not what they measure or where they are kept.
EXECUTION_FIELDS = ("resources", "max_concurrent", "ray")


@dataclass(frozen=True)
class RunOptions:
    ray_address: str | None = None  # overrides the spec's ray.address
    device: str | None = None  # default: "cuda" when resources.gpu > 0, else "cpu"


def check_start(spec: StudySpec, folder: StudyFolder, *, resume: bool, source: str) -> None:
    """Refuse a run that must not start; writes nothing."""
    if not folder.exists():
        _check_storage_is_free(spec, folder, source)
        return
    if not resume:
        raise InputError(
            f"{source}: study {spec.name!r} already exists in {folder.root}; pass --resume to continue "
            f"it, or change `name` (e.g. --set name={spec.name}-2) to start a new one"
        )
    saved = folder.read_spec()
    changed = _differences(_identity(saved), _identity(spec))
    if changed:
        raise InputError(
            f"{source}: differs from the spec {folder.spec_file} was started with, at: {', '.join(changed)}; "
            "resume with the same values, or change `name` to start a new study"
        )
    pid = folder.live_driver()
    if pid is not None:
        raise InputError(f"{folder.root}: process {pid} on this host is running this study; "
                         "let it finish or stop it first")


def _check_storage_is_free(spec: StudySpec, folder: StudyFolder, source: str) -> None:
    """A new study must not land in a shared database's studies of the same name (another
    user's, or one whose folder was deleted): their trials would count as this study's."""
    url = storage_url(spec, folder)
    if not is_url(url):
        return
    taken = {s.study_name for s in open_storage(url, where=f"{source}: storage").get_all_studies()}
    clash = sorted(taken & {stage_study_name(spec, stage) for stage in spec.stages})
    if clash:
        raise InputError(f"{source}: the storage already holds {', '.join(clash)} but {folder.root} does not exist; "
                         "change `name`, or restore the study folder and pass --resume")


def run_study(spec: StudySpec, folder: StudyFolder, options: RunOptions, out: TextIO) -> int:
    """Create or reopen the study and run every trial not finished yet; returns the exit code.
    Call `check_start` first."""
    if folder.exists():
        storage = open_storage(storage_url(spec, folder), where=f"{folder.spec_file}: storage")
        if all(s.is_finished for s in stage_states(spec, storage)):
            print(f"study {spec.name!r} is finished ({_summary(stage_states(spec, storage))}); nothing to do", file=out)
            return 0
    # A dataset file is read before the folder exists, so that a bad file leaves nothing behind;
    # synthetic data (its parameters already validated) is generated into the folder.
    data = load_study_dataset(spec.dataset, folder.data_dir) if spec.dataset.path else None
    if not folder.exists():
        folder.create(spec)
    data = data or load_study_dataset(spec.dataset, folder.data_dir)
    storage = open_storage(storage_url(spec, folder), where=f"{folder.spec_file}: storage")
    return _drive(spec, folder, storage, data, options, out)


def _drive(spec: StudySpec, folder: StudyFolder, storage: BaseStorage, data: MSADataset,
           options: RunOptions, out: TextIO) -> int:
    _clean_up_after_a_killed_driver(spec, folder)
    _quiet_libraries()
    folder.claim()
    folder.update_run(finished=None, **({} if folder.read_run().get("started") else _facts(spec, data)))
    _adopt_unfinished(spec, storage, stage_states(spec, storage))
    print(f"study {spec.name!r} in {folder.root}; storage {storage_url(spec, folder)}; "
          f"watch it with: mmrest-study dashboard {folder.root}", file=out, flush=True)
    progress = Progress(out, spec.objective.metric, spec.objective.mode, spec.max_concurrent)
    make_config = _config_maker(spec, folder, options)
    searcher = StudySearcher(_Stages(spec, storage, make_config, progress), make_config, progress)
    _fit_on_ray(spec, folder, data, searcher, options)
    states = stage_states(spec, storage)
    if not all(s.is_finished for s in states):
        print(f"study {spec.name!r} stopped before all its trials ran ({_summary(states)}); "
              "run the same command with --resume to continue", file=out)
        return 1
    folder.update_run(finished=_now())
    print(f"study {spec.name!r}: {_summary(states)}. Folder: {folder.root}", file=out)
    return 0


def run_stage(spec: StudySpec, folder: StudyFolder, name: str, design: str, planned: list[PlannedTrial],
              options: RunOptions, out: TextIO) -> int:
    """Run an explicit list of planned trials as an extra stage `name` of an existing study (the
    `analysis` stage of `mmrest-study analyze`): the same Ray Tune engine, recorder and storage as
    `run_study`; trials of the stage that already finished are kept. The stage is no entry of the
    spec, so `results` finds it by its Optuna study. Returns 0 once every planned trial finished."""
    # Not a tuning stage of the spec: no grid to validate, only a name and a design to record.
    stage = StageSpec.model_construct(name=name, design=design)
    storage = open_storage(storage_url(spec, folder), where=f"{folder.spec_file}: storage")
    data = load_study_dataset(spec.dataset, folder.data_dir)
    _clean_up_after_a_killed_driver(spec, folder)
    _quiet_libraries()
    folder.claim()
    _adopt_unfinished(spec, storage, [StageState(stage, planned, stage_trials(storage, spec, stage))])
    state = StageState(stage, planned, stage_trials(storage, spec, stage))
    study = stage_study(storage, spec, stage)
    study.set_user_attr("planned", len(planned))
    progress = Progress(out, spec.objective.metric, spec.objective.mode, spec.max_concurrent)
    make_config = _config_maker(spec, folder, options)
    progress.begin_stage(name, len(planned), state.count(TrialState.COMPLETE), state.count(TrialState.FAIL), None)
    recorder = StageRecorder(
        study, storage, state.todo, distributions=stage_distributions(spec, stage, planned), make_config=make_config,
        objective=spec.objective.metric, stale={k: t.number for k, t in state.stale.items()}, points={},
    )
    _fit_on_ray(spec, folder, data, StudySearcher(_Once(recorder), make_config, progress), options)
    state = StageState(stage, planned, stage_trials(storage, spec, stage))
    print(f"stage {name!r} of study {spec.name!r}: {_summary([state])}", file=out)
    return 0 if state.is_finished else 1


def _config_maker(spec: StudySpec, folder: StudyFolder, options: RunOptions):
    device = options.device or ("cuda" if spec.resources.gpu > 0 else "cpu")
    return partial(trial_config, spec, folder, device)


def _fit_on_ray(spec: StudySpec, folder: StudyFolder, data: MSADataset, searcher: StudySearcher,
                options: RunOptions) -> None:
    """Start or join Ray, run the searcher's trials, and always let go of Ray and the folder."""
    session = cluster.start_ray(options.ray_address or spec.ray.address)
    folder.claim(ray_session=session)
    try:
        _fit(spec, folder, data, searcher)
    finally:
        cluster.stop_ray()
        folder.release()


@dataclass
class _Once:
    """Gives one stage's recorder, then no more."""

    recorder: StageRecorder | None

    def __call__(self) -> StageRecorder | None:
        recorder, self.recorder = self.recorder, None
        return recorder


def trial_config(spec: StudySpec, folder: StudyFolder, device: str, planned: PlannedTrial) -> dict:
    """What the worker gets: the validated training config and where to write."""
    config = make_config(spec.base, {**spec.train, **planned.point, "seed": planned.seed}, where=planned.key)
    out_dir = folder.trial_dir(planned.key).resolve()
    return {
        "key": planned.key,
        "train": config.model_dump(),
        "out_dir": str(out_dir),
        "log": str(out_dir / LOG_NAME),
        "device": device,
        "threads": max(1, int(spec.resources.cpu)),
        "objective": spec.objective.metric,
    }


@dataclass
class _Stages:
    """Gives each stage with trials left, in order, planned when its turn comes: a refine stage
    is planned from the results its source stage just recorded. (A class rather than a
    generator because Tune pickles the searcher that holds it.)"""

    spec: StudySpec
    storage: BaseStorage
    make_config: Callable[[PlannedTrial], dict]
    progress: Progress
    position: int = 0

    def __call__(self) -> StageRecorder | None:
        while self.position < len(self.spec.stages):
            stage = self.spec.stages[self.position]
            self.position += 1
            state = next(s for s in stage_states(self.spec, self.storage) if s.stage.name == stage.name)
            if state.todo is None:
                return None  # its source lost a trial to an interrupt; the final check says so
            best = best_trial([state], self.spec.objective.mode)
            best_so_far = (best.value, best.user_attrs["key"]) if best else None
            self.progress.begin_stage(stage.name, len(state.planned), state.count(TrialState.COMPLETE),
                                      state.count(TrialState.FAIL), best_so_far)
            if state.todo:
                return StageRecorder(
                    stage_study(self.storage, self.spec, stage), self.storage, state.todo,
                    distributions=stage_distributions(self.spec, stage, state.planned), make_config=self.make_config,
                    objective=self.spec.objective.metric, stale={k: t.number for k, t in state.stale.items()},
                    points=state.points(),
                )
        return None


def _fit(spec: StudySpec, folder: StudyFolder, data: MSADataset, searcher: StudySearcher) -> None:
    trainable = tune.with_resources(tune.with_parameters(run_trial, data=data),
                                    {"cpu": spec.resources.cpu, "gpu": spec.resources.gpu})
    tuner = tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(search_alg=searcher, num_samples=-1, max_concurrent_trials=spec.max_concurrent,
                                    reuse_actors=True, trial_dirname_creator=_trial_dirname),
        run_config=tune.RunConfig(name=f"run-{dt.datetime.now():%Y%m%d-%H%M%S}",
                                  storage_path=str(folder.ray_dir.resolve()), verbose=0,
                                  failure_config=tune.FailureConfig(max_failures=0)),
    )
    tuner.fit()


def _clean_up_after_a_killed_driver(spec: StudySpec, folder: StudyFolder) -> None:
    """A driver that was killed left its driver.json: stop what its local Ray runtime still runs
    (Ray's agents and the trial workers outlive a SIGKILLed driver) and free the journal lock it
    may have held."""
    previous = folder.read_driver()
    if not previous or folder.live_driver() is not None:
        return
    if previous.get("ray_session"):
        cluster.reap_orphans(previous["ray_session"])
    release_dead_writer_lock(storage_url(spec, folder))


def _adopt_unfinished(spec: StudySpec, storage: BaseStorage, states: list[StageState]) -> None:
    """Trials a killed driver left half-made: one enqueued but never asked for is WAITING, and
    asking for it makes it RUNNING, to be reused like any trial left running; one a TPE sampler
    created but that was never labelled with its key cannot be matched to a plan, so it fails."""
    for state in states:
        waiting = [t for t in state.trials if t.state == TrialState.WAITING]
        unlabelled = [t for t in state.trials if t.state == TrialState.RUNNING and "key" not in t.user_attrs]
        if (not waiting and not unlabelled) or state.planned is None:
            continue
        study = stage_study(storage, spec, state.stage)
        distributions = stage_distributions(spec, state.stage, state.planned)
        for _ in waiting:
            study.ask(distributions)
        study_id = storage.get_study_id_from_name(study.study_name)
        for trial in unlabelled:
            trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, trial.number)
            storage.set_trial_user_attr(trial_id, "error", "interrupted: the driver was killed as it created this trial")
            study.tell(trial.number, state=TrialState.FAIL)


def _trial_dirname(trial) -> str:
    return trial.trial_id


def _quiet_libraries() -> None:
    # Our progress lines are the display; Optuna's and Tune's per-trial logs would interleave.
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # Tune's newer console output prints its own tables even at verbose=0; the legacy one obeys it.
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    for name in ("ray", "ray.tune", "ray.train"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _summary(states: list[StageState]) -> str:
    done = sum(s.count(TrialState.COMPLETE) for s in states)
    failed = sum(s.count(TrialState.FAIL) for s in states)
    return f"{done} trials done, {failed} failed"


def _facts(spec: StudySpec, data: MSADataset) -> dict:
    import ray
    import torch

    import mmrest

    return {
        "started": _now(),
        "dataset": describe(spec.dataset),
        "absent_modalities": list(data.absent_modalities),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                    "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None},
        "versions": {"python": sys.version.split()[0], "torch": torch.__version__, "ray": ray.__version__,
                     "optuna": optuna.__version__, "mmrest": mmrest.__version__},
    }


def _now() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


def _identity(spec: StudySpec) -> dict:
    return spec.model_dump(mode="json", by_alias=True, exclude=set(EXECUTION_FIELDS))


def _differences(old: object, new: object, path: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        return [d for key in dict.fromkeys([*old, *new])
                for d in _differences(old.get(key), new.get(key), f"{path}.{key}" if path else str(key))]
    return [] if old == new else [path or "(top level)"]

