"""Ablations: test metrics of each variant over seeds, and each variant's paired difference to the
full model by seed, judged like every difference of the report: per metric, the variants'
comparisons form one family (Holm), and the verdict says whether the variant differs from the
full model, makes no practical difference (within +-min_effect), or is undecided.
"""
from __future__ import annotations

from dataclasses import dataclass

from mmrest.analysis.stats import Paired, Stat, paired_family, stat
from mmrest.metrics import HIGHER_IS_BETTER, METRIC_NAMES

REFERENCE = "reference"
RULE = (
    "Each variant is compared with the full model seed by seed on its test metrics (both ran the "
    "study's seed list): the mean of the per-seed differences (variant minus full), its 95 % "
    "interval and p-value (paired t-test), then Holm's correction over the variants compared on the "
    "metric. The verdict reads the corrected interval: differs when it excludes 0, no practical "
    "difference when it lies inside ±min_effect, undecided otherwise."
)


@dataclass(frozen=True)
class Cell:
    """One metric of one variant."""

    metric: str
    value: Stat
    paired: Paired | None  # against the full model; None for the full model itself
    verdict: str  # reference, or the paired verdict
    better: bool | None  # the variant beats the full model on this metric (None: reference or a tie)

    @property
    def diff(self) -> float | None:
        return None if self.paired is None else self.paired.diff


@dataclass(frozen=True)
class AblationRow:
    variant: str
    seeds: int
    cells: tuple[Cell, ...]  # in METRIC_NAMES order

    def cell(self, metric: str) -> Cell:
        return next(c for c in self.cells if c.metric == metric)


def ablation(metrics: dict[str, dict[int, dict[str, float]]], *, reference: str,
             min_effect: dict[str, float]) -> tuple[AblationRow, ...]:
    """One row per variant (in the given order) from each variant's test metrics by seed (seed ->
    dict over METRIC_NAMES). `reference` names the full model; it must have a seed."""
    if not metrics.get(reference):
        raise ValueError(f"the reference variant {reference!r} has no trained model")
    trained = {name: runs for name, runs in metrics.items() if runs}
    others = [name for name in trained if name != reference]
    judged = {
        m: dict(zip(others, paired_family(
            [({s: r[m] for s, r in trained[name].items()}, {s: r[m] for s, r in trained[reference].items()})
             for name in others], min_effect=min_effect[m])))
        for m in METRIC_NAMES
    }
    rows = []
    for name, runs in trained.items():
        cells = []
        for m in METRIC_NAMES:
            value = stat(run[m] for run in runs.values())
            if name == reference:
                cells.append(Cell(m, value, None, REFERENCE, None))
                continue
            paired = judged[m][name]
            better = None if paired.diff == 0 or paired.diff != paired.diff else (paired.diff > 0) == HIGHER_IS_BETTER[m]
            cells.append(Cell(m, value, paired, paired.verdict, better))
        rows.append(AblationRow(name, len(runs), tuple(cells)))
    return tuple(rows)
