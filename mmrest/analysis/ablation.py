"""Ablations: test metrics of each variant over seeds, and each variant's difference to the full
model measured against the spread over seeds by the rule in `RULE` (the report prints it).
"""
from __future__ import annotations

from dataclasses import dataclass

from mmrest.analysis.stats import Stat, larger_std, stat
from mmrest.metrics import HIGHER_IS_BETTER, METRIC_NAMES

REFERENCE, BEYOND, WITHIN, UNDETERMINED = "reference", "beyond", "within", "undetermined"
VERDICT_TEXT = {BEYOND: "beyond the seed noise", WITHIN: "within the seed noise",
                UNDETERMINED: "undetermined: one seed, no noise estimate"}
RULE = (
    "For a metric, let the full model and the variant have means m_f and m_v and sample standard "
    "deviations s_f and s_v over their seeds (n - 1 in the denominator). The difference m_v - m_f is "
    "beyond the seed noise when |m_v - m_f| > max(s_f, s_v), within it otherwise, and undetermined "
    "when either side has fewer than two seeds. This is a rule of thumb, not a significance test: "
    "with a handful of seeds a std is itself uncertain, so 'beyond' means 'larger than the "
    "seed-to-seed variation seen here', nothing more."
)


@dataclass(frozen=True)
class Cell:
    """One metric of one variant."""

    metric: str
    value: Stat
    diff: float | None  # variant mean - full mean; None for the full model itself
    noise: float | None  # max of the two stds; None when a side has one seed
    verdict: str  # reference | beyond | within | undetermined
    better: bool | None  # the variant beats the full model on this metric (None: reference or a tie)


@dataclass(frozen=True)
class AblationRow:
    variant: str
    seeds: int
    cells: tuple[Cell, ...]  # in METRIC_NAMES order

    def cell(self, metric: str) -> Cell:
        return next(c for c in self.cells if c.metric == metric)


def compare(full: Stat, other: Stat) -> tuple[float, float | None, str]:
    """(difference, noise, verdict) of `other` against `full` by the module's rule."""
    diff = other.mean - full.mean
    noise = larger_std(full, other)
    if noise is None:
        return diff, None, UNDETERMINED
    return diff, noise, BEYOND if abs(diff) > noise else WITHIN


def ablation(metrics: dict[str, list[dict[str, float]]], *, reference: str) -> tuple[AblationRow, ...]:
    """One row per variant (in the given order) from each variant's per-seed test metrics
    (dicts over METRIC_NAMES). `reference` names the full model; it must have a seed."""
    if not metrics.get(reference):
        raise ValueError(f"the reference variant {reference!r} has no trained model")
    stats = {name: {m: stat(run[m] for run in runs) for m in METRIC_NAMES} for name, runs in metrics.items() if runs}
    rows = []
    for name, runs in metrics.items():
        if not runs:
            continue
        cells = []
        for m in METRIC_NAMES:
            value = stats[name][m]
            if name == reference:
                cells.append(Cell(m, value, None, None, REFERENCE, None))
                continue
            diff, noise, verdict = compare(stats[reference][m], value)
            better = None if diff == 0 else (diff > 0) == HIGHER_IS_BETTER[m]
            cells.append(Cell(m, value, diff, noise, verdict, better))
        rows.append(AblationRow(name, len(runs), tuple(cells)))
    return tuple(rows)
