"""Seed planner: the smallest true difference a study can detect, and the power for a given one.

A paired t-test is a one-sample t-test on the per-seed differences, so power comes from
`statsmodels.stats.power.TTestPower` with effect size = difference / sd of the differences. The
family's correction enters as Bonferroni's alpha / family_size, the strictest step of Holm: the
planned numbers are a conservative bound (Holm's later steps test at larger levels).

Two-sided power is computed as its upper tail, the one-sided power at alpha / 2 in the effect's
direction. The lower tail it leaves out is at most alpha / (2 family_size), and scipy's
non-central t returns NaN for it at some arguments (scipy issue 25470), which would make the
two-sided call return NaN.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

from statsmodels.stats.power import TTestPower

PLANNER_SEEDS = (3, 5, 10, 20)


def detectable_differences(
    sd_diff: float, *, family_size: int, seeds: Sequence[int] = PLANNER_SEEDS, alpha: float = 0.05,
    power: float = 0.8,
) -> dict[int, float]:
    """Per seed count, the smallest true mean difference (in the metric's units) detected with
    probability `power` under the family's correction; `sd_diff` is the sd of paired differences."""
    level = _level(sd_diff, family_size, seeds, alpha)
    if not 0.0 < power < 1.0:
        raise ValueError(f"power must lie in (0, 1); got {power}")
    return {
        n: sd_diff * float(TTestPower().solve_power(effect_size=None, nobs=n, alpha=level, power=power,
                                                    alternative="larger"))
        for n in seeds
    }


def planned_power(effect: float, *, sd_diff: float, seeds: int, family_size: int, alpha: float = 0.05) -> float:
    """The chance that a true mean difference `effect` is detected with `seeds` seeds."""
    level = _level(sd_diff, family_size, (seeds,), alpha)
    if sd_diff == 0.0:
        return 1.0 if effect != 0.0 else level
    return float(TTestPower().power(effect_size=abs(effect) / sd_diff, nobs=seeds, alpha=level, alternative="larger"))


def _level(sd_diff: float, family_size: int, seeds: Sequence[int], alpha: float) -> float:
    if not (math.isfinite(sd_diff) and sd_diff >= 0.0):
        raise ValueError(f"sd_diff must be a finite number >= 0; got {sd_diff}")
    if family_size < 1:
        raise ValueError(f"family_size must be at least 1; got {family_size}")
    if any(n < 2 for n in seeds):
        raise ValueError(f"a paired t-test needs at least 2 seeds; got seeds={tuple(seeds)}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in (0, 1); got {alpha}")
    return alpha / family_size / 2.0
