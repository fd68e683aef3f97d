"""The study's trials table and facts dict as the report reads them: checks, and the row selections
every section shares.

The contract (docs in notes/trial_table.md) is written by `mmrest.study.results`; the report trusts
nothing else about a study. Only COMPLETE trials of the tuning stages enter any number; failed,
running and waiting trials are counted in the facts and nowhere else.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mmrest.config import STUDY_HYPERPARAMETERS
from mmrest.errors import InputError
from mmrest.metrics import METRIC_NAMES

SPLITS = ("valid", "test")
BASE = "base"  # `varied` of a one_at_a_time stage's base point
ONE_AT_A_TIME = "one_at_a_time"
TPE = "tpe"
ANALYSIS = "analysis"  # issue 6's stage: the report's tuning sections leave it out
OBJECTIVE = "value"  # column of the study objective

REQUIRED_COLUMNS = (
    "stage", "number", "key", "state", "design", "varied", "seed", *STUDY_HYPERPARAMETERS, OBJECTIVE,
    *(f"{split}_{m}" for split in SPLITS for m in METRIC_NAMES), "seconds", "error",
)
REQUIRED_FACTS = (
    "name", "spec", "dataset", "absent_modalities", "seeds", "base_values", "stages", "started",
    "finished", "finished_all", "planned", "done", "failed", "machine", "versions",
)
_MODES = {"min": False, "minimize": False, "max": True, "maximize": True}


@dataclass(frozen=True)
class Objective:
    metric: str  # as the spec names it, e.g. valid_mae
    higher_is_better: bool


@dataclass(frozen=True)
class Stage:
    name: str
    design: str
    params: dict[str, tuple[float, ...]]  # the values of each hyperparameter it varies
    log_ranges: frozenset[str] = frozenset()  # tpe: parameters the spec samples on a log scale


def metric_column(split: str, metric: str) -> str:
    return f"{split}_{metric}"


def check_split(split: str) -> str:
    if split not in SPLITS:
        raise InputError(f"report: split '{split}' is not one of {', '.join(SPLITS)}")
    return split


def check_trials(trials: pd.DataFrame) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in trials.columns]
    if missing:
        raise InputError(
            f"trials table: missing column(s) {', '.join(missing)}; load it with "
            "mmrest.study.results.load_trials, which writes every column of the contract"
        )


def check_facts(facts: dict) -> None:
    missing = [k for k in REQUIRED_FACTS if k not in facts]
    if missing:
        raise InputError(
            f"study facts: missing key(s) {', '.join(missing)}; read them with "
            "mmrest.study.results.study_facts"
        )
    missing_base = [p for p in STUDY_HYPERPARAMETERS if p not in facts["base_values"]]
    if missing_base:
        raise InputError(f"study facts: key 'base_values' lacks {', '.join(missing_base)}")
    objective(facts)


def objective(facts: dict) -> Objective:
    spec_objective = facts["spec"].get("objective") or {}
    metric, mode = spec_objective.get("metric"), spec_objective.get("mode")
    if not metric or mode not in _MODES:
        raise InputError(
            f"study facts: key 'spec.objective' = {spec_objective!r}: need a metric and a mode "
            f"({', '.join(_MODES)})"
        )
    return Objective(metric=str(metric), higher_is_better=_MODES[mode])


def tuning_stages(facts: dict) -> list[Stage]:
    """The study's stages in order, without the analysis stage; values as sorted float tuples."""
    specs = {s.get("name"): s for s in facts["spec"].get("stages") or []}
    stages = []
    for raw in facts["stages"]:
        if raw["design"] == ANALYSIS:
            continue
        params = {
            name: tuple(sorted(float(v) for v in values))
            for name, values in (raw.get("params") or {}).items()
            if name in STUDY_HYPERPARAMETERS
        }
        ranges = specs.get(raw["name"], {}).get("ranges") or {}
        log_ranges = frozenset(p for p, r in ranges.items() if r.get("log"))
        stages.append(Stage(name=raw["name"], design=raw["design"], params=params, log_ranges=log_ranges))
    return stages


def varied_parameters(stages: list[Stage]) -> tuple[str, ...]:
    """Hyperparameters that some stage gives at least two values, in the paper's order."""
    return tuple(
        p for p in STUDY_HYPERPARAMETERS if any(len(set(s.params.get(p, ()))) > 1 for s in stages)
    )


def complete(trials: pd.DataFrame) -> pd.DataFrame:
    """COMPLETE trials of the tuning stages with a finite objective: the rows every number uses."""
    keep = (trials["state"] == "COMPLETE") & (trials["design"] != ANALYSIS)
    keep &= np.isfinite(trials[OBJECTIVE].astype(float))
    return trials.loc[keep]


def line_rows(done: pd.DataFrame, stage: Stage, param: str) -> pd.DataFrame:
    """Rows of `stage` that inform `param`: in a one_at_a_time stage the points that vary it plus
    the base point (the other points move another parameter); in a grid or tpe stage all of them.
    """
    rows = done.loc[done["stage"] == stage.name]
    if stage.design == ONE_AT_A_TIME:
        rows = rows.loc[rows["varied"].isin([param, BASE])]
    return rows


def log_scaled(stage: Stage, param: str) -> bool:
    """Whether `stage` explores `param` on a log scale: a tpe stage when its spec range says so
    (random samples have no spacing to read), a grid when its values are log-spaced."""
    if stage.design == TPE:
        return param in stage.log_ranges
    return is_log_spaced(stage.params[param])


def is_log_spaced(values) -> bool:
    """True when the values are positive and their logarithms are more evenly spaced than the
    values themselves (1, 3, 10, 30, 100 or 0.2, 0.4, 0.8: yes; 3, 5, 7, 9: no). Needs 3 values.
    """
    v = np.unique(np.asarray(values, dtype=float))
    if v.size < 3 or v[0] <= 0:
        return False
    return _unevenness(np.diff(np.log(v))) < _unevenness(np.diff(v))


def _unevenness(steps: np.ndarray) -> float:
    return float(np.std(steps) / np.mean(steps))


def first_line(text: str) -> str:
    text = "" if text is None or (isinstance(text, float) and math.isnan(text)) else str(text)
    return text.strip().splitlines()[0] if text.strip() else ""
