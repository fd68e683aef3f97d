"""Overall test per curve: does the hyperparameter change the metric at all?

A one-way repeated-measures ANOVA (statsmodels `AnovaRM`) over the curve's levels, the base point
included, with the seed as the block (subject): every level ran the same seed list, so a seed that
is good for one level tends to be good for all, and blocking removes that shared part. Only
complete blocks enter: the seeds every level ran with a value. Why not Friedman: with 3 seeds
Friedman's smallest attainable p-value for 3 levels is 0.0498 (about 0.017 for 5 levels), so
after a correction across curves it can never reject (docs/statistics.md).

No residual variation (every level's values are its block's value plus a constant), where F is
d/0 or 0/0, is defined like the paired test's zero variance: p = 0 and F = inf when the levels'
means differ, p = 1 and F = 0 when they do not.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

METHOD = "repeated-measures ANOVA (statsmodels AnovaRM), seeds as blocks"
# Residuals this small relative to the data's spread are rounding error of an exact additive fit.
_EXACT = 1e-12


@dataclass(frozen=True)
class OverallTest:
    statistic: float  # F; NaN with fewer than two complete blocks
    p: float  # NaN with fewer than two complete blocks
    blocks: int  # complete blocks (seeds) used
    levels: int
    method: str


def overall_test(levels: Sequence[np.ndarray]) -> OverallTest:
    """The repeated-measures test over `levels` (each one level's per-seed values, in seed-list
    order, NaN for a failed trial)."""
    values = _blocks(levels)
    blocks, k = values.shape
    if blocks < 2:
        return OverallTest(statistic=float("nan"), p=float("nan"), blocks=blocks, levels=k, method=METHOD)
    statistic, p = _exact_fit(values) or _anova(values)
    return OverallTest(statistic=statistic, p=p, blocks=blocks, levels=k, method=METHOD)


def _blocks(levels: Sequence[np.ndarray]) -> np.ndarray:
    arrays = [np.asarray(level, dtype=np.float64) for level in levels]
    if len(arrays) < 2:
        raise ValueError(f"an overall test needs at least 2 levels; got {len(arrays)}")
    if any(a.ndim != 1 for a in arrays):
        raise ValueError("each level needs a 1-D array of per-seed values")
    n = min(a.size for a in arrays)
    values = np.column_stack([a[:n] for a in arrays]).reshape(n, len(arrays))
    return values[~np.isnan(values).any(axis=1)]


def _exact_fit(values: np.ndarray) -> tuple[float, float] | None:
    centered = values - values.mean()
    residual = centered - centered.mean(axis=1, keepdims=True) - centered.mean(axis=0)
    scale = np.abs(centered).max()
    if np.abs(residual).max() > _EXACT * scale:
        return None
    level_means = centered.mean(axis=0)
    if np.abs(level_means).max() > _EXACT * scale:
        return float("inf"), 0.0
    return 0.0, 1.0


def _anova(values: np.ndarray) -> tuple[float, float]:
    blocks, k = values.shape
    # Imported here: statsmodels' formula machinery costs `status`, which runs no overall test,
    # a tenth of a second on every refresh.
    from statsmodels.stats.anova import AnovaRM

    table = pd.DataFrame({
        "block": np.repeat(np.arange(blocks), k),
        "level": np.tile(np.arange(k), blocks),
        "value": values.reshape(-1),
    })
    row = AnovaRM(table, depvar="value", subject="block", within=["level"]).fit().anova_table.iloc[0]
    return float(row["F Value"]), float(row["Pr > F"])
