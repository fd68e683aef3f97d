"""The study's `analysis` stage: which trials it plans, which configuration it analyses, and the
trained models it left behind.

Trials are keyed `analysis/<variant>/seed=<seed>`; each carries the variant's name in the trials
table's `varied` column and design `analysis` (the schema: mmrest/trial_table.py).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import yaml

from mmrest.analysis.outputs import OUTPUTS_FILE, load_outputs
from mmrest.analysis.summary import Run
from mmrest.analysis.variants import FULL, VARIANT_NAMES, VARIANTS, variant_point
from mmrest.config import KMEANS_MODES, STUDY_HYPERPARAMETERS, study_number
from mmrest.errors import InputError
from mmrest.formatting import format_value
from mmrest.study.planner import PlannedTrial
from mmrest.trial_table import same_value, trial_key

STAGE = "analysis"
DESIGN = "analysis"


def analysis_key(variant: str, seed: int) -> str:
    return trial_key(STAGE, variant, seed)


def normal_config(config: dict) -> dict[str, float]:
    """The study parameters as a study holds them (mmrest.config.study_number)."""
    return {p: study_number(p, config[p]) for p in STUDY_HYPERPARAMETERS}


def plan_analysis(config: dict[str, float], seeds: list[int]) -> list[PlannedTrial]:
    """Every variant once per seed, seed-major (a whole comparison exists after the first seed)."""
    return [
        PlannedTrial(analysis_key(v.name, seed), STAGE, DESIGN, v.name, seed, variant_point(v.name, config))
        for seed in seeds
        for v in VARIANTS
    ]


def read_config_file(path: Path, base_values: dict[str, float]) -> tuple[dict[str, float], list[str]]:
    """Hyperparameters from a YAML file: the report's "chosen configuration" block (`train:` under
    an optional `base:`) or a plain mapping. Parameters it leaves out keep the study's base values;
    returns the configuration and the names so filled."""
    if not path.is_file():
        raise InputError(f"--config {path}: no such file")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise InputError(f"--config {path}: not valid YAML: {getattr(err, 'problem', None) or err}") from None
    if isinstance(raw, dict) and isinstance(raw.get("train"), dict):
        raw = raw["train"]
        where = f"{path}: train"
    else:
        where = str(path)
    if not isinstance(raw, dict):
        raise InputError(f"--config {path}: expected a mapping of hyperparameters such as `train: {{k: 7, xi: 3.0}}`")
    unknown = [key for key in raw if key not in STUDY_HYPERPARAMETERS]
    if unknown:
        raise InputError(f"--config {where}: unknown key(s) {', '.join(map(str, unknown))}; the analysis "
                         f"sets only {', '.join(STUDY_HYPERPARAMETERS)} (other options come from the study's spec)")
    for key, value in raw.items():
        if key == "kmeans_mode" and value in (*KMEANS_MODES, *range(len(KMEANS_MODES))):
            continue
        if key == "kmeans_mode":
            raise InputError(f"--config {where}.{key} = {value!r}: must be one of {', '.join(KMEANS_MODES)}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InputError(f"--config {where}.{key} = {value!r}: must be a finite number")
    filled = [p for p in STUDY_HYPERPARAMETERS if p not in raw]
    return normal_config({**base_values, **raw}), filled


def analysis_rows(trials: pd.DataFrame) -> pd.DataFrame:
    return trials.loc[trials["stage"] == STAGE]


def recorded_config(trials: pd.DataFrame) -> dict[str, float] | None:
    """The configuration the stage's full-model trials were run with, or None before any ran."""
    full = analysis_rows(trials)
    full = full.loc[full["varied"] == FULL]
    if full.empty:
        return None
    return normal_config(full.iloc[0][list(STUDY_HYPERPARAMETERS)].to_dict())


def check_same_config(trials: pd.DataFrame, config: dict[str, float], *, where: str) -> None:
    """Refuse to mix trials of two configurations in one analysis stage."""
    recorded = recorded_config(trials)
    if recorded is None or all(same_value(recorded[p], config[p]) for p in STUDY_HYPERPARAMETERS):
        return

    def text(c: dict) -> str:
        return ", ".join(f"{p}={format_value(c[p])}" for p in STUDY_HYPERPARAMETERS)

    raise InputError(
        f"{where}: its analysis stage was trained for {text(recorded)}, not for {text(config)}. Analyse "
        "that configuration again (pass it with --config), or pass --redo to discard the analysis stage "
        "and train the new one"
    )


def completed_runs(trials: pd.DataFrame, trial_dir: Callable[[str], Path]) -> list[Run]:
    """A `Run` per COMPLETE trial of the analysis stage, its outputs read from its trial folder."""
    rows = analysis_rows(trials)
    rows = rows.loc[(rows["state"] == "COMPLETE") & rows["varied"].isin(VARIANT_NAMES)]
    return [
        Run(str(row.varied), int(row.seed), load_outputs(trial_dir(str(row.key)) / OUTPUTS_FILE))
        for row in rows.itertuples()
    ]
