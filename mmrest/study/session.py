"""The driver's session: everything a run changes outside its own objects, held in one place and
undone on the way out, whatever happens inside.

`driver_session` stops what a killed predecessor left running, claims the study folder for this
process, quiets Optuna's and Ray's loggers (our progress lines are the display), starts a local
Ray runtime or joins a cluster, and on exit stops Ray, releases the folder and restores every log
level and environment variable it changed.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

import optuna

from mmrest.study import cluster
from mmrest.study.folder import StudyFolder
from mmrest.study.storage import release_dead_writer_lock

QUIET_LOGGERS = ("ray", "ray.tune", "ray.train")
# Tune's newer console output prints its own tables even at verbose=0; the legacy one obeys it.
# Tune's automatic loggers include TensorBoardX's, whose import loads torch into the driver (two
# seconds of every run); the runner passes the CSV and JSON loggers itself.
TUNE_ENV = {"RAY_AIR_NEW_OUTPUT": "0", "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1"}


@contextmanager
def driver_session(folder: StudyFolder, storage_url: str, *, ray_address: str | None,
                   num_gpus: float | None = None) -> Iterator[None]:
    """Claim `folder`, start or join Ray (`ray_address` None: a local runtime declaring `num_gpus`
    GPUs when given), yield, then undo it all."""
    clean_up_after_a_killed_driver(folder, storage_url)
    with quiet_libraries():
        folder.claim()
        try:
            session = cluster.start_ray(ray_address, num_gpus=num_gpus)
            try:
                folder.claim(ray_session=session)
                yield
            finally:
                cluster.stop_ray()
        finally:
            folder.release()


def clean_up_after_a_killed_driver(folder: StudyFolder, storage_url: str) -> None:
    """A driver that was killed left its driver.json: stop what its local Ray runtime still runs
    (Ray's agents and the trial workers outlive a SIGKILLed driver) and free the journal lock it
    may have held."""
    previous = folder.read_driver()
    if not previous or folder.live_driver() is not None:
        return
    if previous.get("ray_session"):
        cluster.reap_orphans(previous["ray_session"])
    release_dead_writer_lock(storage_url)


@contextmanager
def quiet_libraries() -> Iterator[None]:
    """Optuna at WARNING, Ray's loggers at WARNING, Tune's legacy console output and no automatic
    loggers; restored on exit."""
    verbosity = optuna.logging.get_verbosity()
    levels = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    environment = {name: os.environ.get(name) for name in TUNE_ENV}
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    for name, value in TUNE_ENV.items():
        os.environ.setdefault(name, value)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(verbosity)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
        for name, value in environment.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
