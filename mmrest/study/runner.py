"""The front object of a study run (the write side), in the manner of Ray Tune's `Tuner`:

    runner = StudyRunner(spec, folder, RunOptions(ray_address=...), out=sys.stdout)
    runner.check(resume=False, source="search_spaces/demo.yaml")   # refuses, writes nothing
    result = runner.fit()                                          # every stage of the spec
    result = runner.fit_stage("analysis", "analysis", planned)     # an extra stage (analyze)

`check` and `preflight` refuse what must not run before anything is written; `fit` creates or
reopens the study folder, runs what is left through Ray Tune (the searcher in `recorder` is the
storage's only writer) inside one `driver_session`, and returns a typed `RunResult`. Turning a
result into text and an exit code is the caller's job. Reading a study back is
`mmrest.study.results.StudyResults` (the read side).
"""
from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TextIO

from optuna.storages import BaseStorage
from optuna.trial import TrialState
from ray import tune
from ray.tune.logger import CSVLoggerCallback, JsonLoggerCallback

from mmrest.config import make_config
from mmrest.data.dataset import MSADataset
from mmrest.errors import InputError
from mmrest.study import cluster
from mmrest.study.data import describe, load_study_dataset
from mmrest.study.folder import StudyFolder
from mmrest.study.planner import PlannedTrial
from mmrest.study.progress import Progress
from mmrest.study.recorder import StageRecorder, StudySearcher, stage_distributions
from mmrest.study.session import driver_session
from mmrest.study.spec import StageSpec, StudySpec
from mmrest.study.state import StageState, point_values, stage_states
from mmrest.study.storage import check_reachable, is_url, open_storage, stage_study, stage_study_name, stage_trials, storage_url
from mmrest.study.trial import LOG_NAME, run_trial
from mmrest.training.floor import compute_floor

# Fields a resume may change: they decide how trials run, not what they measure or where they are kept.
EXECUTION_FIELDS = ("resources", "max_concurrent", "ray")


@dataclass(frozen=True)
class RunOptions:
    ray_address: str | None = None  # overrides the spec's ray.address
    device: str | None = None  # default: "cuda" when resources.gpu > 0, else "cpu"


@dataclass(frozen=True)
class StageOutcome:
    name: str
    planned: int | None  # None: a refine stage whose source stage has not finished
    done: int
    failed: int

    @property
    def finished(self) -> bool:
        return self.planned is not None and self.done + self.failed >= self.planned


@dataclass(frozen=True)
class RunResult:
    """Where a run left its study: per stage counts, and the failed trials with their logs."""

    study: str
    folder: Path
    stages: tuple[StageOutcome, ...]
    failures: tuple[tuple[str, str], ...]  # (trial key, log file) of every failed trial
    ran: bool  # False: everything had finished before, nothing ran

    @property
    def finished(self) -> bool:
        return all(s.finished for s in self.stages)

    @property
    def done(self) -> int:
        return sum(s.done for s in self.stages)

    @property
    def failed(self) -> int:
        return sum(s.failed for s in self.stages)


class StudyRunner:
    def __init__(self, spec: StudySpec, folder: StudyFolder, options: RunOptions = RunOptions(), *,
                 out: TextIO = sys.stdout):
        self.spec, self.folder, self.options, self.out = spec, folder, options, out

    # ------------------------------------------------------------ checks: refuse, write nothing

    def preflight(self, *, source: str) -> None:
        """The storage answers, the Ray address answers, and the trials' resources exist."""
        spec, options = self.spec, self.options
        check_reachable(self.storage_url, where=f"{source}: storage")
        address = options.ray_address or spec.ray.address
        cluster.check_address(address, where="--ray-address" if options.ray_address else f"{source}: ray.address")
        if options.ray_address and spec.ray.num_gpus is not None:
            raise InputError(f"--ray-address joins a cluster, but {source}: ray.num_gpus declares the GPUs of a "
                             "local runtime; drop one of them")
        if address is None and spec.resources.gpu > 0 and spec.ray.num_gpus is None and not _local_gpus():
            raise InputError(f"{source}: resources.gpu = {spec.resources.gpu:g}, but this machine has no GPU that "
                             "Ray can see; set resources.gpu=0, or ray.num_gpus where Ray cannot detect the GPUs")

    def check(self, *, resume: bool, source: str) -> None:
        """Everything `preflight` checks, and the study folder: a study that exists needs
        `resume` and the same spec, and no other live process may drive it."""
        self.preflight(source=source)
        spec, folder = self.spec, self.folder
        if not folder.exists():
            self._check_storage_is_free(source)
            return
        if not resume:
            raise InputError(
                f"{source}: study {spec.name!r} already exists in {folder.root}; pass --resume to continue "
                f"it, or change `name` (e.g. --set name={spec.name}-2) to start a new one"
            )
        changed = _differences(_identity(folder.read_spec()), _identity(spec))
        if changed:
            raise InputError(
                f"{source}: differs from the spec {folder.spec_file} was started with, at: {', '.join(changed)}; "
                "resume with the same values, or change `name` to start a new study"
            )
        self.check_not_driven()

    def check_not_driven(self) -> None:
        pid = self.folder.live_driver()
        if pid is not None:
            raise InputError(f"{self.folder.root}: process {pid} on this host is running this study; "
                             "let it finish or stop it first")

    def _check_storage_is_free(self, source: str) -> None:
        """A new study must not land in a shared database's studies of the same name (another
        user's, or one whose folder was deleted): their trials would count as this study's."""
        if not is_url(self.storage_url):
            return
        taken = {s.study_name for s in self._storage(source).get_all_studies()}
        clash = sorted(taken & {stage_study_name(self.spec, stage) for stage in self.spec.stages})
        if clash:
            raise InputError(f"{source}: the storage already holds {', '.join(clash)} but {self.folder.root} does "
                             "not exist; change `name`, or restore the study folder and pass --resume")

    # ------------------------------------------------------------ runs

    def fit(self) -> RunResult:
        """Create or reopen the study and run every trial not finished yet. Call `check` first."""
        spec, folder = self.spec, self.folder
        if folder.exists():
            states = self.states()
            if all(s.is_finished for s in states):
                # What a driver killed after its last trial did not write yet.
                self._write_floor()
                if not folder.read_run().get("finished"):
                    folder.update_run(finished=_last_completion(states) or _now())
                return self._result(ran=False)
        # A dataset file is read before the folder exists, so that a bad file leaves nothing
        # behind; synthetic data (its parameters already validated) is generated into the folder.
        data = load_study_dataset(spec.dataset, folder.data_dir) if spec.dataset.path else None
        if not folder.exists():
            folder.create(spec)
        data = data or load_study_dataset(spec.dataset, folder.data_dir)
        self._write_floor(data)
        storage = self._storage()
        with self._session():
            folder.update_run(finished=None, **({} if folder.read_run().get("started") else _facts(spec, data)))
            _adopt_unfinished(spec, storage, stage_states(spec, stage_trials(storage, spec)))
            print(f"study {spec.name!r} in {folder.root}; storage {self.storage_url}; "
                  f"watch it with: mmrest-study dashboard {folder.root}", file=self.out, flush=True)
            progress = self._progress()
            searcher = StudySearcher(_Stages(spec, storage, self._config_maker(), progress),
                                     self._config_maker(), progress)
            self._tune(data, searcher)
        result = self._result(ran=True)
        if result.finished:
            folder.update_run(finished=_now())
        return result

    def fit_stage(self, name: str, design: str, planned: list[PlannedTrial]) -> RunResult:
        """Run `planned` as an extra stage `name` of an existing study (the `analysis` stage of
        `mmrest-study analyze`): the same engine, recorder and storage as `fit`; trials of the
        stage that already finished are kept. The stage is no entry of the spec, so results find
        it by its Optuna study."""
        stage = StageSpec(name=name, design=design)
        storage = self._storage()
        data = load_study_dataset(self.spec.dataset, self.folder.data_dir)

        def state() -> StageState:
            return StageState(stage, planned, stage_trials(storage, self.spec).get(name, []))

        with self._session():
            _adopt_unfinished(self.spec, storage, [state()])
            now = state()
            stage_study(storage, self.spec, stage).set_user_attr("planned", len(planned))
            progress = self._progress()
            progress.begin_stage(name, len(planned), now.count(TrialState.COMPLETE), now.count(TrialState.FAIL))
            recorder = stage_recorder(self.spec, storage, now, self._config_maker())
            self._tune(data, StudySearcher(_Once(recorder), self._config_maker(), progress))
        now = state()
        return RunResult(self.spec.name, self.folder.root, (_outcome(now),), _failures([now]), ran=True)

    # ------------------------------------------------------------ helpers

    @property
    def storage_url(self) -> str:
        return storage_url(self.spec, self.folder)

    def _write_floor(self, data=None) -> None:
        """The study's floor (floor.json), once: computed when the file is missing."""
        if self.folder.floor_file.is_file():
            return
        data = data or load_study_dataset(self.spec.dataset, self.folder.data_dir)
        pooling = make_config(self.spec.base, self.spec.train, check_files=False).text_pooling
        self.folder.write_floor(compute_floor(data, text_pooling=pooling))

    def states(self) -> list[StageState]:
        """Each stage of the spec as the storage has it now."""
        return stage_states(self.spec, stage_trials(self._storage(), self.spec))

    def _storage(self, source: str | None = None) -> BaseStorage:
        return open_storage(self.storage_url, where=f"{source or self.folder.spec_file}: storage")

    def _session(self):
        address = self.options.ray_address or self.spec.ray.address
        return driver_session(self.folder, self.storage_url, ray_address=address,
                              num_gpus=self.spec.ray.num_gpus if address is None else None)

    def _progress(self) -> Progress:
        return Progress(self.out, self.spec.objective.metric, self.spec.objective.mode, self.spec.max_concurrent)

    def _config_maker(self) -> Callable[[PlannedTrial], dict]:
        device = self.options.device or ("cuda" if self.spec.resources.gpu > 0 else "cpu")
        return partial(trial_config, self.spec, self.folder, device)

    def _tune(self, data: MSADataset, searcher: StudySearcher) -> None:
        resources = {"cpu": self.spec.resources.cpu, "gpu": self.spec.resources.gpu}
        tuner = tune.Tuner(
            tune.with_resources(tune.with_parameters(run_trial, data=data), resources),
            tune_config=tune.TuneConfig(search_alg=searcher, num_samples=-1, reuse_actors=True,
                                        max_concurrent_trials=self.spec.max_concurrent,
                                        trial_dirname_creator=_trial_dirname),
            run_config=tune.RunConfig(name=f"run-{dt.datetime.now():%Y%m%d-%H%M%S}",
                                      storage_path=str(self.folder.ray_dir.resolve()), verbose=0,
                                      failure_config=tune.FailureConfig(max_failures=0),
                                      # Tune's per-trial result files, without TensorBoardX's (see session.TUNE_ENV).
                                      callbacks=[CSVLoggerCallback(), JsonLoggerCallback()]),
        )
        tuner.fit()

    def _result(self, *, ran: bool) -> RunResult:
        states = self.states()
        return RunResult(self.spec.name, self.folder.root, tuple(_outcome(s) for s in states), _failures(states), ran)


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
class _Once:
    """Gives one stage's recorder, then no more."""

    recorder: StageRecorder | None

    def __call__(self) -> StageRecorder | None:
        recorder, self.recorder = self.recorder, None
        return recorder


@dataclass
class _Stages:
    """Gives the trials left of each stage in turn, planned when their turn comes: a refine
    stage from the results its source stage just recorded, a racing stage's next round from the
    round that just ended. (A class rather than a generator because Tune pickles the searcher
    that holds it.)"""

    spec: StudySpec
    storage: BaseStorage
    make_config: Callable[[PlannedTrial], dict]
    progress: Progress
    position: int = 0

    def __call__(self) -> StageRecorder | None:
        # One read of the storage: skipping finished stages writes nothing.
        states = stage_states(self.spec, stage_trials(self.storage, self.spec))
        while self.position < len(self.spec.stages):
            stage = self.spec.stages[self.position]
            state = next(s for s in states if s.stage.name == stage.name)
            if state.todo is None or (not state.todo and not state.is_finished):
                return None  # its source lost a trial to an interrupt, or a round did; the result says so
            if not state.todo:
                self.position += 1
                continue
            self.progress.begin_stage(stage.name, len(state.planned), state.count(TrialState.COMPLETE),
                                      state.count(TrialState.FAIL), values=point_values(states),
                                      round=None if state.race is None else state.race.rounds)
            return stage_recorder(self.spec, self.storage, state, self.make_config)
        return None


def stage_recorder(spec: StudySpec, storage: BaseStorage, state: StageState,
                   make_config: Callable[[PlannedTrial], dict]) -> StageRecorder:
    """The recorder of what a stage has left to run (`state.todo`), reusing the trials a killed
    driver left running and the TPE points already sampled."""
    return StageRecorder(
        stage_study(storage, spec, state.stage), storage, state.todo,
        distributions=stage_distributions(spec, state.stage, state.planned), make_config=make_config,
        objective=spec.objective.metric, stale={k: t.number for k, t in state.stale.items()},
        points=state.points(), sampler_seed=state.stage.sampler_seed,
    )


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


def _outcome(state: StageState) -> StageOutcome:
    return StageOutcome(state.stage.name, None if state.planned is None else len(state.planned),
                        len([t for t in state.finished.values() if t.state == TrialState.COMPLETE]),
                        len([t for t in state.finished.values() if t.state == TrialState.FAIL]))


def _failures(states: list[StageState]) -> tuple[tuple[str, str], ...]:
    return tuple((key, t.user_attrs.get("log", "")) for s in states for key, t in s.finished.items()
                 if t.state == TrialState.FAIL)


def _local_gpus() -> int:
    import torch

    return torch.cuda.device_count()


def _trial_dirname(trial) -> str:
    return trial.trial_id


def _facts(spec: StudySpec, data: MSADataset) -> dict:
    import optuna
    import ray

    import mmrest

    return {
        "started": _now(),
        "dataset": describe(spec.dataset),
        "absent_modalities": list(data.absent_modalities),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "gpu": gpu_name()},
        "versions": {"python": sys.version.split()[0], "torch": importlib.metadata.version("torch"),
                     "ray": ray.__version__, "optuna": optuna.__version__, "mmrest": mmrest.__version__},
    }


def gpu_name() -> str | None:
    """The driver machine's first GPU as nvidia-smi names it; None without one. nvidia-smi, not
    torch.cuda: the driver never trains, and torch's imports would cost every run two seconds
    (each trial records the device it trained on itself)."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    try:
        answer = subprocess.run([smi, "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True,
                                timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    names = answer.stdout.strip().splitlines() if answer.returncode == 0 else []
    return names[0].strip() if names else None


def _now() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


def _last_completion(states: list[StageState]) -> str | None:
    ends = [t.datetime_complete for s in states for t in s.trials if t.datetime_complete is not None]
    return max(ends).astimezone().isoformat(timespec="seconds") if ends else None


def _identity(spec: StudySpec) -> dict:
    return spec.model_dump(mode="json", by_alias=True, exclude=set(EXECUTION_FIELDS))


def _differences(old: object, new: object, path: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        return [d for key in dict.fromkeys([*old, *new])
                for d in _differences(old.get(key), new.get(key), f"{path}.{key}" if path else str(key))]
    return [] if old == new else [path or "(top level)"]
