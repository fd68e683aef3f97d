"""The trial table and the study facts: the contract between a study, which writes them, and
everything that reads a study (selection, the analyses, the report, the tests' fixtures).

The trial table has one row per Optuna trial of every stage, columns `COLUMNS` in that order:

| column | meaning |
| --- | --- |
| stage, number | the stage (its Optuna study is `<study>.<stage>`) and the trial's number in it |
| key | `<stage>/<point>/seed=<seed>`, unique in the study |
| state | Optuna's state name: COMPLETE, FAIL, RUNNING or WAITING |
| design | one_at_a_time, grid, tpe or analysis |
| varied | one_at_a_time: the hyperparameter the point moves, or `base`; analysis: the variant; else "" |
| seed | the trial's training seed |
| k ... eta | the seven hyperparameters of the point |
| value | the study objective (a validation metric) of a COMPLETE trial, else NaN |
| valid_*, test_* | every metric of `mmrest.metrics.METRIC_NAMES` at the epoch chosen on validation |
| diagnostics | `DIAGNOSTIC_COLUMNS`, at the same epoch (NaN when the trial recorded none) |
| best_epoch, params, seconds | the chosen epoch, parameters used, training seconds (-1 / NaN if not done) |
| device, cuda_visible_devices | the torch device the trial trained on, and the GPUs Ray assigned it as its worker saw them ("" if none) |
| started_at, ended_at | when its worker started and ended training (Unix time; NaN if not done) |
| error, log | the error of a FAIL trial (else ""), and the trial's log file |

The user attributes a trial carries in Optuna are the same names (`IDENTITY_ATTRS` when it is
created, `OUTCOME_ATTRS` when it completes, `ERROR_ATTR` when it fails).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

from mmrest.config import STUDY_HYPERPARAMETERS
from mmrest.errors import InputError
from mmrest.metrics import METRIC_NAMES

SPLITS = ("valid", "test")
FINISHED_STATES = ("COMPLETE", "FAIL")  # a trial that ran to an end; its seed is settled
UNFINISHED_STATES = ("RUNNING", "WAITING")  # created, not ended (a killed driver leaves these)
ONE_AT_A_TIME, GRID, TPE, ANALYSIS = "one_at_a_time", "grid", "tpe", "analysis"
BASE = "base"  # `varied` of a one_at_a_time stage's base point
OBJECTIVE = "value"  # the column of the study objective


def metric_column(split: str, metric: str) -> str:
    return f"{split}_{metric}"


def trial_key(stage: str, label: str, seed: int) -> str:
    """`<stage>/<point label>/seed=<seed>`: a trial's key, unique in its study."""
    return f"{stage}/{label}/seed={seed}"


def point_key(key: str) -> str:
    """'coarse/k=5/seed=3' -> 'coarse/k=5': a point of a stage, whatever its seed."""
    return key.rsplit("/seed=", 1)[0]


def point_label(key: str) -> str:
    """'coarse/k=5/seed=3' -> 'k=5': the point's label within its stage."""
    return point_key(key).split("/", 1)[1]


# "The same value" of a hyperparameter, everywhere: equal to 1e-9 relative, or 1e-12 absolute
# near 0. Values pass through YAML, JSON and Optuna's storage exactly and refine stages round
# theirs to six significant digits, so the tolerance only absorbs float arithmetic (a log-spaced
# grid computed twice) and keeps apart any two values a spec can hold.
SAME_RTOL, SAME_ATOL = 1e-9, 1e-12


def same_value(a, b):
    """Elementwise: whether hyperparameter values `a` and `b` are the same (numpy broadcasting)."""
    return np.isclose(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), rtol=SAME_RTOL, atol=SAME_ATOL)


def at_point(rows: pd.DataFrame, point: Mapping[str, float]) -> np.ndarray:
    """Which rows of a trial table hold `point` (every hyperparameter the same value)."""
    if not len(rows):
        return np.zeros(0, dtype=bool)
    return np.column_stack([same_value(rows[p].astype(float), point[p]) for p in STUDY_HYPERPARAMETERS]).all(axis=1)


METRIC_COLUMNS = tuple(metric_column(split, m) for split in SPLITS for m in METRIC_NAMES)
VALID_COLUMNS = tuple(metric_column("valid", m) for m in METRIC_NAMES)
# What the trainer records about how each part of the objective steered training (docs/model.md).
# The order is the one the train command prints; their meanings live in training/diagnostics.py.
DIAGNOSTIC_COLUMNS = (
    "grad_share_mmc", "grad_norm_l1", "grad_norm_mmc", "grad_steps", "clip_fraction", "clip_factor",
    "pdlf_share", "pdlf_mean_abs", "score_mean_abs", "clusters_active", "cluster_size_min",
    "cluster_size_max", "cluster_empty_fraction", "state_clusters_active", "state_cluster_size_max",
    "state_nmi_bins", "state_nmi_modality", "hinge_active_within", "hinge_active_between",
)
IDENTITY_ATTRS = ("key", "stage", "design", "varied", "seed", "log")
PLACEMENT_ATTRS = ("device", "cuda_visible_devices")  # where the trial trained
TIMING_ATTRS = ("started_at", "ended_at")  # when its worker trained it (Unix time)
OUTCOME_ATTRS = (*METRIC_COLUMNS, *DIAGNOSTIC_COLUMNS, "best_epoch", "params", "seconds", *PLACEMENT_ATTRS,
                 *TIMING_ATTRS)
ERROR_ATTR = "error"
COLUMNS = (
    "stage", "number", "key", "state", "design", "varied", "seed", *STUDY_HYPERPARAMETERS, OBJECTIVE,
    *METRIC_COLUMNS, *DIAGNOSTIC_COLUMNS, "best_epoch", "params", "seconds", *PLACEMENT_ATTRS, *TIMING_ATTRS,
    ERROR_ATTR, "log",
)
INTEGER_COLUMNS = ("number", "seed", "best_epoch", "params")
FLOAT_COLUMNS = (*STUDY_HYPERPARAMETERS[1:], OBJECTIVE, *METRIC_COLUMNS, *DIAGNOSTIC_COLUMNS, "seconds", *TIMING_ATTRS)


def as_table(rows: list[dict]) -> pd.DataFrame:
    """Rows (dicts with every column) as the trial table, columns in order and typed. `k` is an
    integer that a trial not yet sampled lacks, hence pandas' nullable Int64."""
    import pandas as pd  # here: the command line imports this module's names, and pandas costs half a second

    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    types = {**{c: "int64" for c in INTEGER_COLUMNS}, **{c: "float64" for c in FLOAT_COLUMNS}, "k": "Int64"}
    return frame.astype(types)


def check_table(frame: pd.DataFrame) -> None:
    """InputError naming the columns a table lacks."""
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(
            f"trials table: missing column(s) {', '.join(missing)}; load it with "
            "mmrest.study.results.StudyResults (its .trials), which has every column of mmrest.trial_table.COLUMNS"
        )


@dataclass(frozen=True)
class Objective:
    metric: str  # as the spec names it, e.g. valid_mae
    higher_is_better: bool


@dataclass(frozen=True)
class StageFacts:
    name: str
    design: str
    params: dict[str, tuple[float, ...]]  # the sorted values each varied hyperparameter took
    log_ranges: frozenset[str] = frozenset()  # tpe: parameters whose spec range is log-scaled
    # A racing stage: per point label, where its race left it (running, decided, futile, at max).
    race: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StudyFacts:
    """What a report states about a study beside its trials."""

    name: str
    dataset: str
    absent_modalities: tuple[str, ...]
    text_path: str  # which text encoder the trials used, in words
    seeds: tuple[int, ...]  # the ordered seed list
    seed_start: int  # seeds every point runs; racing stages look from here on (= len(seeds) without racing)
    seed_max: int  # the most seeds a point runs (= len(seeds) without racing)
    base: str  # the preset whose values are the paper's
    base_values: dict[str, float]  # the seven hyperparameters every point keeps unless it varies them
    objective: Objective
    min_effect: dict[str, float]  # per metric name: the smallest difference that matters, in its units
    stages: tuple[StageFacts, ...]  # in spec order; stages added later (analysis) at the end
    planned: int
    done: int
    failed: int
    finished_all: bool  # every planned trial of the spec's stages has ended
    started: str | None = None
    finished: str | None = None
    machine: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)

    @property
    def racing(self) -> bool:
        return self.seed_start < self.seed_max

    def tuning_stages(self) -> tuple[StageFacts, ...]:
        """The stages that tune hyperparameters (every stage but the analysis)."""
        return tuple(s for s in self.stages if s.design != ANALYSIS)


def finished(trials: pd.DataFrame) -> pd.DataFrame:
    """Trials of the tuning stages that ran to an end: COMPLETE ones carry their metrics, FAIL
    ones mark a seed whose value is missing."""
    return trials.loc[trials["state"].isin(FINISHED_STATES) & (trials["design"] != ANALYSIS)]


def complete(trials: pd.DataFrame) -> pd.DataFrame:
    """COMPLETE trials of the tuning stages with a finite objective: the rows every number uses."""
    keep = (trials["state"] == "COMPLETE") & (trials["design"] != ANALYSIS)
    keep &= trials[OBJECTIVE].astype(float).map(math.isfinite)
    return trials.loc[keep]
