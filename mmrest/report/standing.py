"""Where the study's model stands: against its floor (a ridge regression on the same frozen
features), and how much each part of the objective steered its training.

A curve that is flat while the part it controls carried almost none of the gradient (L_MMC) or of
the prediction (PDLF) cannot tell whether that part would help; `notes` says so for each such
curve, in the words the report prints.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from mmrest.analysis import FULL
from mmrest.formatting import format_number
from mmrest.report.labels import param_label
from mmrest.report.verdicts import Verdicts
from mmrest.selection import Choices
from mmrest.study.state import best_point
from mmrest.stats import DIFFERS
from mmrest.training.floor import RIDGE_ALL, Floor
from mmrest.trial_table import ANALYSIS, DIAGNOSTIC_COLUMNS, OBJECTIVE, StudyFacts, at_point, point_key, same_value

STEERING_THRESHOLD = 0.05  # below this share a part of the model "never gets a say"
# The hyperparameters that act through the clusters of z (spec 2): their curves tell something
# about the local metrics only where the clusters exist and group something (docs/model.md,
# "Dead clusters": the thresholds and why).
CLUSTER_PARAMS = ("k", "v1", "v2", "xi", "alpha")
BLOB_SHARE = 0.9  # the largest cluster holds more than this share of the rows: one blob
# The part of the objective each hyperparameter acts through, and the diagnostic that measures it.
PART_OF = {"gamma": ("PDLF", "pdlf_share", "of the prediction")}
DEFAULT_PART = ("L_MMC", "grad_share_mmc", "of the gradient")


@dataclass(frozen=True)
class Standing:
    floor_name: str | None  # the floor line drawn (ridge on every real modality), None without one
    floor: dict[str, dict[str, float]] | None  # split -> metric -> the floor's value
    best_key: str | None  # the point with the best seed-mean objective
    best_mean: float | None
    best_std: float | None  # over its seeds
    best_seeds: int
    beats_floor: bool | None  # None without a floor or a complete trial
    chosen_diagnostics: dict[str, float] | None  # mean over seeds where the chosen configuration ran as one point
    notes: tuple[str, ...]  # beside the curves
    ablation_notes: tuple[str, ...]  # beside the ablations: from the analysis stage's full model


def standing(done: pd.DataFrame, trials: pd.DataFrame, facts: StudyFacts, choices: Choices, verdicts: Verdicts,
             floor: Floor | None) -> Standing:
    entry = floor.entry(RIDGE_ALL) if floor is not None else None
    lines = None if entry is None else {"valid": dict(entry.valid), "test": dict(entry.test)}
    best = _best_point(done, facts)
    metric = facts.objective.metric.removeprefix("valid_")
    beats = None
    if lines is not None and best is not None:
        gap = best[1] - lines["valid"][metric]
        beats = gap > 0 if facts.objective.higher_is_better else gap < 0
    return Standing(
        floor_name=None if entry is None else entry.name, floor=lines,
        best_key=None if best is None else best[0], best_mean=None if best is None else best[1],
        best_std=None if best is None else best[2], best_seeds=0 if best is None else best[3],
        beats_floor=beats, chosen_diagnostics=_diagnostics_at(done, choices.config),
        notes=tuple(_notes(done, facts, verdicts) + _cluster_notes(done, facts, verdicts)),
        ablation_notes=tuple(_ablation_notes(trials)),
    )


def _best_point(done: pd.DataFrame, facts: StudyFacts) -> tuple[str, float, float, int] | None:
    """The point `status` calls the best so far (mmrest.study.state.best_point, same tie-break),
    with its std over seeds."""
    objective = done.groupby(done["key"].map(point_key), sort=False)[OBJECTIVE]
    best = best_point({key: list(v) for key, v in objective}, "max" if facts.objective.higher_is_better else "min")
    if best is None:
        return None
    return best.key, best.mean, float(objective.get_group(best.key).std()), best.seeds


def _diagnostics_at(done: pd.DataFrame, config: dict[str, float]) -> dict[str, float] | None:
    rows = done.loc[at_point(done, config)]
    if rows.empty or rows[list(DIAGNOSTIC_COLUMNS)].isna().all().all():
        return None
    return {c: float(rows[c].mean()) for c in DIAGNOSTIC_COLUMNS}


def _notes(done: pd.DataFrame, facts: StudyFacts, verdicts: Verdicts) -> list[str]:
    """For each curve that is not found to differ on the objective, whether the part it controls
    steered training at the base point (diagnostics at the base point, mean over its seeds)."""
    metric = facts.objective.metric.removeprefix("valid_")
    base = done.loc[at_point(done, facts.base_values)]
    notes = []
    for curve in verdicts.curves:
        if curve.metric != metric or curve.verdict == DIFFERS:
            continue
        part, column, of = PART_OF.get(curve.param, DEFAULT_PART)
        share = float(base[column].mean()) if not base.empty else math.nan
        if math.isfinite(share) and share < STEERING_THRESHOLD:
            notes.append(
                f"The {param_label(curve.param)} curve ({curve.stage}) on {facts.objective.metric} is judged "
                f"\u201c{curve.verdict}\u201d, "
                f"and {part} carries {format_number(100 * share, 2)} % {of} at the base point: the curve cannot "
                f"tell whether {part} would help."
            )
    return notes


def _cluster_notes(done: pd.DataFrame, facts: StudyFacts, verdicts: Verdicts) -> list[str]:
    """For each curve of a hyperparameter that acts through the clusters, at how many of the
    points it compares (its base and levels, diagnostics as the mean over their seeds) the
    epoch's clusters were one blob or grouped the rows by modality more than by label."""
    metric = facts.objective.metric.removeprefix("valid_")
    notes = []
    for curve in verdicts.curves:
        if curve.metric != metric or curve.param not in CLUSTER_PARAMS:
            continue
        points = [done.loc[at_point(done, facts.base_values)]]
        line = done.loc[(done["stage"] == curve.stage) & (done["varied"] == curve.param)]
        points += [line.loc[same_value(line[curve.param], v)] for v in curve.levels[1:]]
        found = [reason for rows in points if (reason := cluster_trouble(rows))]
        if found:
            notes.append(
                f"The {param_label(curve.param)} curve ({curve.stage}): at {len(found)} of its {len(points)} points "
                f"the clusters {found[0]}: the curve cannot tell what the local metrics would do."
            )
    return notes


def cluster_trouble(rows: pd.DataFrame) -> str | None:
    """Why the epoch's clusters of these trials (mean over them) hold little, in words; None when
    they are neither one blob nor grouped by modality more than by label (or were not measured)."""
    share = float(rows["state_cluster_size_max"].mean()) if len(rows) else math.nan
    bins = float(rows["state_nmi_bins"].mean()) if len(rows) else math.nan
    modality = float(rows["state_nmi_modality"].mean()) if len(rows) else math.nan
    if math.isfinite(share) and share > BLOB_SHARE:
        return f"were one blob (the largest held {format_number(100 * share, 3)} % of the rows)"
    if math.isfinite(modality) and math.isfinite(bins) and modality > bins:
        return (f"grouped the rows by modality more than by label (normalised mutual information "
                f"{format_number(modality, 2)} with the modality, {format_number(bins, 2)} with the label bins)")
    return None


def _ablation_notes(trials: pd.DataFrame) -> list[str]:
    """The same sentence for the ablations, from the analysis stage's full model: a variant that
    switches off a part that had no say cannot tell whether that part would help; one that
    switches off L_MMC cannot tell what the local metrics would do where the clusters held little."""
    full = trials.loc[(trials["design"] == ANALYSIS) & (trials["varied"] == FULL) & (trials["state"] == "COMPLETE")]
    notes = []
    trouble = cluster_trouble(full)
    if trouble:
        notes.append(f"In the full model the clusters {trouble} (mean over its seeds): the variant without L_MMC "
                     "cannot tell what the local metrics would do.")
    for part, column, of in (DEFAULT_PART, PART_OF["gamma"]):
        share = float(full[column].mean()) if not full.empty else math.nan
        if math.isfinite(share) and share < STEERING_THRESHOLD:
            notes.append(f"{part} carries {format_number(100 * share, 2)} % {of} in the full model (mean over its "
                         f"seeds): the variant without {part} cannot tell whether {part} would help.")
    return notes
