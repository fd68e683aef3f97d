"""The summaries every analysis table uses: mean and spread over seeds, and a variant's paired
difference to the full model by seed, judged with mmrest.stats (the report's verdicts)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from mmrest.stats import Schedule, judge_family


@dataclass(frozen=True)
class Stat:
    mean: float
    std: float | None  # sample standard deviation (n - 1); None with fewer than two values
    n: int


def stat(values: Iterable[float]) -> Stat:
    """Mean and sample std of at least one value."""
    v = np.asarray(list(values), dtype=np.float64)
    if v.size == 0:
        raise ValueError("need at least one value")
    std = float(np.std(v, ddof=1)) if v.size >= 2 else None
    return Stat(mean=float(np.mean(v)), std=std, n=int(v.size))


@dataclass(frozen=True)
class Paired:
    """A variant minus the full model, seed by seed, judged within its table's family."""

    seeds: int  # the seeds both ran
    diff: float  # mean of the per-seed differences
    ci_low: float  # 95 % t interval of that mean (scipy.stats.ttest_rel); NaN below two seeds
    ci_high: float
    p: float  # the paired t-test's p-value
    p_holm: float  # after Holm across the table's comparisons of this quantity
    corrected_low: float  # the interval that decides the verdict
    corrected_high: float
    verdict: str  # differs | no practical difference | undecided (mmrest.stats)


def paired_family(pairs: list[tuple[Mapping[int, float], Mapping[int, float]]], *, min_effect: float) -> list[Paired]:
    """Each (variant, full) pair of per-seed values (seed -> value), aligned on the seeds both ran
    and judged as one family; every seed ran at once, so there is one look."""
    if not pairs:
        return []
    aligned = []
    for variant, full in pairs:
        seeds = sorted(set(variant) & set(full))
        aligned.append((np.array([variant[s] for s in seeds], dtype=float), np.array([full[s] for s in seeds], dtype=float)))
    n = max(1, max(a.size for a, _ in aligned))
    judged = judge_family(aligned, schedule=Schedule(start=n, max=n), min_effect=min_effect)
    return [
        Paired(seeds=j.difference.n, diff=j.difference.mean, ci_low=j.difference.ci_low, ci_high=j.difference.ci_high,
               p=j.difference.p, p_holm=j.p_holm, corrected_low=j.corrected_low, corrected_high=j.corrected_high,
               verdict=j.verdict)
        for j in judged
    ]
