"""The Optuna storage of a study: one Optuna study per stage, written only by the driver.

Default: an Optuna journal file in the study folder (cheap appends, safe for a reader such as
optuna-dashboard while the driver writes). Any Optuna RDB URL (postgresql://..., sqlite:///...)
works instead; a cluster uses PostgreSQL.
"""
from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass
from pathlib import Path

import optuna
from optuna.storages import BaseStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend, JournalStorage
from optuna.distributions import FloatDistribution, IntDistribution
from optuna.trial import FrozenTrial

from mmrest.config import INTEGER_HYPERPARAMETERS, STUDY_HYPERPARAMETERS

from mmrest.errors import InputError
from mmrest.study.folder import StudyFolder
from mmrest.study.planner import base_point
from mmrest.study.spec import StageSpec, StudySpec

CONNECT_TIMEOUT_S = 10
JOURNAL_LOCK_SUFFIX = ".lock"  # the lock file JournalFileSymlinkLock creates beside the journal


def storage_url(spec: StudySpec, folder: StudyFolder) -> str:
    """What optuna-dashboard opens as is: the spec's URL, or the journal file's absolute path."""
    return spec.storage or str(folder.journal.resolve())


def is_url(storage: str) -> bool:
    return "://" in storage


def check_reachable(url: str, *, where: str) -> None:
    """Connect to an RDB storage now, so that a wrong URL fails before anything is written."""
    if is_url(url):
        open_storage(url, where=where)


def open_storage(url: str, *, where: str) -> BaseStorage:
    if not is_url(url):
        Path(url).parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(url))
    from sqlalchemy.exc import SQLAlchemyError

    try:
        kwargs = {"connect_args": {"connect_timeout": CONNECT_TIMEOUT_S}} if url.startswith("postgresql") else {}
        return RDBStorage(url, engine_kwargs=kwargs)
    except ImportError as err:
        # Optuna wraps the driver's ModuleNotFoundError; the cause names the missing module.
        module = getattr(err.__cause__, "name", None) or "its database driver"
        raise InputError(f"{where}: the storage {_without_password(url)} needs the Python module "
                         f"{module!r}; install it (PostgreSQL: pip install 'psycopg[binary]')") from None
    except (SQLAlchemyError, ValueError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise InputError(f"{where}: cannot open the storage {_without_password(url)}: {first}. "
                         "Check that the server runs and the URL (user, password, host, port, database)") from None


def release_dead_writer_lock(url: str) -> None:
    """Remove the journal's lock file left by a writer that was killed while holding it (else
    the next writer waits out Optuna's 30 s grace period). Call only when that writer is known
    dead: the driver is the journal's only writer."""
    if not is_url(url):
        Path(url + JOURNAL_LOCK_SUFFIX).unlink(missing_ok=True)


def _without_password(url: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except SQLAlchemyError:
        return url


def stage_study_name(spec: StudySpec, stage: StageSpec | str) -> str:
    return f"{spec.name}.{stage if isinstance(stage, str) else stage.name}"


def stage_study(storage: BaseStorage, spec: StudySpec, stage: StageSpec) -> optuna.Study:
    """The stage's Optuna study, created on first use."""
    direction = "minimize" if spec.objective.mode == "min" else "maximize"
    # TPE samples this stage's points; fixed designs enqueue theirs, so their sampler never runs.
    if stage.design == "tpe":
        sampler = optuna.samplers.TPESampler(seed=stage.sampler_seed)
    else:
        sampler = optuna.samplers.RandomSampler(seed=0)
    study = optuna.create_study(storage=storage, study_name=stage_study_name(spec, stage),
                                direction=direction, sampler=sampler, load_if_exists=True)
    if "design" not in study.user_attrs:
        study.set_user_attr("design", stage.design)
        study.set_user_attr("objective", spec.objective.metric)
        study.set_user_attr("spec", stage.model_dump(mode="json", by_alias=True, exclude_none=True))
    if study.metric_names is None:
        # So that optuna-dashboard names the objective (valid_mae) rather than "Objective 0". Optuna
        # flags the call as experimental on every study; that is no news to a user of ours.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names([spec.objective.metric])
    return study


@dataclass(frozen=True)
class RecordedStage:
    """One Optuna study of a study (`<study>.<stage>`): its user attributes and its trials."""

    name: str  # the stage's name
    user_attrs: dict
    trials: list[FrozenTrial]


def recorded_stages(storage: BaseStorage, spec: StudySpec) -> dict[str, RecordedStage]:
    """Every stage the storage holds for this study, by stage name, in one pass over the storage
    (the spec's stages that started, and stages added later, such as the analysis)."""
    prefix = stage_study_name(spec, "")
    base = base_point(spec)
    recorded = {}
    for study in sorted(storage.get_all_studies(), key=lambda s: s.study_name):
        if study.study_name.startswith(prefix):
            trials = storage.get_all_trials(storage.get_study_id_from_name(study.study_name), deepcopy=False)
            name = study.study_name.removeprefix(prefix)
            trials = [_with_every_parameter(t, base) for t in sorted(trials, key=lambda t: t.number)]
            recorded[name] = RecordedStage(name, dict(study.user_attrs), trials)
    return recorded


def _with_every_parameter(trial: FrozenTrial, base: dict) -> FrozenTrial:
    """The trial with the study parameters it was not given (a study recorded before a parameter
    could be varied, such as the k-means mode) at the value every point then had: the base's."""
    missing = [name for name in STUDY_HYPERPARAMETERS if name not in trial.params]
    if not trial.params or not missing:
        return trial
    filled = copy.copy(trial)
    filled.distributions = {**trial.distributions, **{
        name: (IntDistribution if name in INTEGER_HYPERPARAMETERS else FloatDistribution)(base[name], base[name])
        for name in missing}}
    filled.params = {**trial.params, **{name: base[name] for name in missing}}
    return filled


def stage_trials(storage: BaseStorage, spec: StudySpec) -> dict[str, list[FrozenTrial]]:
    """Every recorded trial of the study, by stage name (a stage that never started is absent)."""
    return {name: stage.trials for name, stage in recorded_stages(storage, spec).items()}
