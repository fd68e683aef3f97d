"""Seed planner: the smallest true difference a study's comparisons detect, under its own schedule.

What a comparison can detect depends on every step of the procedure that judges it: the alpha
spent across the race's looks (a comparison that has run n seeds of a 3-to-20 race is tested at
the levels of looks 3..n, not at alpha), Holm over the family, and the noise estimate borrowed
across the stage. No formula holds all of that, so the planner simulates it through the same code
(`FamilyData.decide`, mmrest.stats.family): families of `family_size` comparisons against one base
point in one stage, the seed-to-seed noise Gaussian with the sd of paired differences 1, one
comparison carrying a true difference delta and the others none (the least favourable case for
Holm's first step), every point run to n seeds and judged with every look of the study's
schedule up to n (its max raised to n where n exceeds it). The smallest delta whose comparison is
judged *differs* in `power` of the families, found on a geometric grid of deltas (every fourth
first, then those around the crossing; the same noise for every delta) and interpolated
linearly, is the table's entry; it scales with the sd of paired differences, so
one simulation serves every metric. Racing's futility stops are not simulated: they stop points
whose verdict is out of reach, and can only lower the power of a point that would otherwise run
on. `planned_power` answers the converse question for one delta.

Simulation error: `REPLICATES` families per delta give power to about +-0.04 (one standard error
at 0.8), about +-6 % of the detectable difference (docs/statistics.md, "Seed planner").
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from mmrest.stats.family import FamilyData
from mmrest.stats.schedule import Schedule

PLANNER_SEEDS = (3, 5, 10, 20)
REPLICATES = 100  # families simulated per delta
COARSE_STEP = 4  # the search's first pass reads every fourth delta
DELTAS = tuple(float(x) for x in np.round(np.geomspace(0.25, 64.0, 17), 4))  # in sds of paired differences
_SEED = 20261203  # the simulation's fixed seed: the same study always gets the same table


def detectable_differences(
    sd_diff: float, *, family_size: int, start: int, max_seeds: int, seeds: Sequence[int] = PLANNER_SEEDS,
    alpha: float = 0.05, power: float = 0.8,
) -> dict[int, float]:
    """Per seed count n, the smallest true mean difference (in the metric's units) that a
    comparison which has run n seeds of a study with schedule (`start`, `max_seeds`) is judged to
    differ with probability `power`, its family having `family_size` comparisons; `sd_diff` is the
    sd of paired differences. NaN where even the largest simulated difference is not found."""
    _check(sd_diff, family_size, seeds, alpha, power, start, max_seeds)
    return {n: sd_diff * _detectable(n, family_size, start, max_seeds, alpha, power) for n in seeds}


def planned_power(effect: float, *, sd_diff: float, seeds: int, family_size: int, start: int, max_seeds: int,
                  alpha: float = 0.05) -> float:
    """The chance that a comparison with true mean difference `effect`, after `seeds` seeds of the
    schedule, is judged to differ, by the same simulation."""
    _check(sd_diff, family_size, (seeds,), alpha, 0.5, start, max_seeds)
    if sd_diff == 0.0:
        return 1.0 if effect != 0.0 else 0.0
    return float(_power(seeds, family_size, start, max_seeds, alpha, (abs(effect) / sd_diff,))[0])


def _detectable(n: int, family_size: int, start: int, max_seeds: int, alpha: float, target: float) -> float:
    """The delta at which the power crosses `target`: every fourth delta of the grid first, then
    the deltas between the two that straddle it, linear in between."""
    coarse = list(range(0, len(DELTAS), COARSE_STEP))
    power = dict(zip(coarse, _power(n, family_size, start, max_seeds, alpha, tuple(DELTAS[i] for i in coarse))))
    above = [i for i in coarse if power[i] >= target]
    if not above:
        return math.nan
    if above[0] == 0:
        return float(DELTAS[0])
    fine = list(range(above[0] - COARSE_STEP + 1, above[0]))
    power.update(zip(fine, _power(n, family_size, start, max_seeds, alpha, tuple(DELTAS[i] for i in fine))))
    i = next(i for i in range(above[0] - COARSE_STEP + 1, above[0] + 1) if power[i] >= target)
    low, high = power[i - 1], power[i]
    return float(DELTAS[i - 1] + (target - low) / (high - low) * (DELTAS[i] - DELTAS[i - 1]))


@lru_cache(maxsize=256)
def _power(n: int, family_size: int, start: int, max_seeds: int, alpha: float, deltas: tuple[float, ...]) -> np.ndarray:
    """Power at each of `deltas`: the share of simulated families whose first comparison is judged
    to differ (the same noise for every delta: common random numbers)."""
    schedule = Schedule(start=min(start, n), max=max(max_seeds, n), alpha=alpha)
    rng = np.random.default_rng([_SEED, n, family_size, start, max_seeds])
    points = family_size + 1  # the base, then one point per comparison
    noise = rng.standard_normal((REPLICATES, points, n)) / math.sqrt(2.0)  # sd of a difference: 1
    values = np.repeat(noise[np.newaxis], len(deltas), axis=0)  # (deltas, replicates, points, n)
    values[:, :, 1, :] += np.asarray(deltas)[:, np.newaxis, np.newaxis]
    pairs = np.column_stack([np.arange(1, points), np.zeros(family_size, dtype=np.int64)])
    data = FamilyData(values=values.reshape(-1, points, n), lengths=np.full((len(deltas) * REPLICATES, points), n),
                      pairs=pairs, groups=np.zeros(family_size, dtype=np.int64))
    return data.differs(schedule=schedule)[:, 0].reshape(len(deltas), REPLICATES).mean(axis=1)


def _check(sd_diff: float, family_size: int, seeds: Sequence[int], alpha: float, power: float, start: int,
           max_seeds: int) -> None:
    if not (math.isfinite(sd_diff) and sd_diff >= 0.0):
        raise ValueError(f"sd_diff must be a finite number >= 0; got {sd_diff}")
    if family_size < 1:
        raise ValueError(f"family_size must be at least 1; got {family_size}")
    if any(n < 2 for n in seeds):
        raise ValueError(f"a paired t-test needs at least 2 seeds; got seeds={tuple(seeds)}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in (0, 1); got {alpha}")
    if not 0.0 < power < 1.0:
        raise ValueError(f"power must lie in (0, 1); got {power}")
    if not 1 <= start <= max_seeds:
        raise ValueError(f"the schedule needs 1 <= start <= max_seeds; got start={start}, max_seeds={max_seeds}")
