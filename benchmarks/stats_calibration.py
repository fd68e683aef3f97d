"""Calibrate the seed-aware statistics (mmrest.stats) by simulation, through the functions the
study engine and the report call.

The case mix is fixed by issue 9, so that nobody tunes it: families of 30 comparisons against one
base point (think 7 curves of 4 to 5 levels), true effects of 0, 0.5, 1, 2 and 4 seed standard
deviations in equal shares (6 each), Gaussian seed noise (sd 1, independent per point and seed),
min_effect = 1 seed sd. Every family is judged twice on the same simulated values:

  racing     Schedule(start=3, max=20): `race_round` after every round, as the engine runs it;
  fixed-max  every point and the base at 20 seeds, one look: `judge_family` with
             Schedule(start=20, max=20).

The overall test (`overall_test`) is checked on null curves of 5 levels with 3 and with 10 seeds.
Prints one `name: value` line per figure, and the mean seeds racing gave a point of each effect
size. Tolerances are 2 standard errors of the simulation (binomial for rates over families or
curves; from the per-family shares for coverage, since the comparisons of a family share their
base point). The last line is `racing_trial_fraction`.

    python benchmarks/stats_calibration.py [--families 2000] [--curves 1000] [--seed 0]
                                           [--interim-share S] [--futility F]

The last two change racing's constants from the package's defaults, to see the trade-off they
were chosen on (docs/statistics.md, "Calibration").
"""
from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from mmrest.stats import (
    DIFFERS, NO_PRACTICAL_DIFFERENCE, Judgement, Schedule, judge_family, overall_test, planned_power, race_round,
)

EFFECTS = np.repeat([0.0, 0.5, 1.0, 2.0, 4.0], 6)  # in seed standard deviations
MIN_EFFECT = 1.0
ALPHA = 0.05
RACING = Schedule(start=3, max=20, alpha=ALPHA)
FIXED = Schedule(start=20, max=20, alpha=ALPHA)
NAMES = tuple(f"point{i}" for i in range(EFFECTS.size))
CURVE_LEVELS = 5


@dataclass(frozen=True)
class Family:
    racing: list[Judgement]
    fixed: list[Judgement]
    seeds: list[int]  # each point's seeds under racing
    trials: int  # racing's trials, points and base


def race(points: np.ndarray, base: np.ndarray, schedule: Schedule) -> tuple[list[Judgement], list[int], int]:
    """The engine's loop on values drawn in advance: judge, run the seeds the plan names, repeat."""
    have = dict.fromkeys(NAMES, schedule.start)
    base_have = schedule.start
    while True:
        current = {name: points[i, : have[name]] for i, name in enumerate(NAMES)}
        plan = race_round(current, base[:base_have], schedule=schedule, min_effect=MIN_EFFECT)
        if plan.over:
            seeds = [have[name] for name in NAMES]
            return [plan.judgements[name] for name in NAMES], seeds, sum(seeds) + base_have
        for name in plan.next_seed:
            have[name] += 1
        base_have += plan.base_next


def family(rng: np.random.Generator, racing: Schedule) -> Family:
    base = rng.standard_normal(FIXED.max)
    points = EFFECTS[:, np.newaxis] + rng.standard_normal((EFFECTS.size, FIXED.max))
    raced, seeds, trials = race(points, base, racing)
    fixed = judge_family([(p, base) for p in points], schedule=FIXED, min_effect=MIN_EFFECT)
    return Family(racing=raced, fixed=fixed, seeds=seeds, trials=trials)


def calibrate(*, families: int, curves: int, seed: int, racing: Schedule = RACING) -> dict[str, float]:
    """Every figure of the module docstring, in print order."""
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    runs = [family(rng, racing) for _ in range(families)]
    raced = np.array([[j.verdict for j in f.racing] for f in runs])
    fixed = np.array([[j.verdict for j in f.fixed] for f in runs])
    null, two_sd = EFFECTS == 0.0, EFFECTS == 2.0
    plain = _covered(runs, lambda j: (j.difference.ci_low, j.difference.ci_high))
    adjusted = _covered(runs, lambda j: (j.adjusted_low, j.adjusted_high))
    figures = {
        "families": families,
        "family_wise_false_positive_rate": float(np.mean((raced[:, null] == DIFFERS).any(axis=1))),
        "family_wise_false_positive_rate_fixed": float(np.mean((fixed[:, null] == DIFFERS).any(axis=1))),
        "family_wise_tolerance": _binomial_tolerance(ALPHA, families),
        "coverage": float(plain.mean()),  # the report's 95 % CI: the plain interval (docs/statistics.md)
        "coverage_look_adjusted": float(adjusted.mean()),
        "coverage_tolerance": 2 * float(plain.std(ddof=1)) / math.sqrt(families),
        "power_2sd": float(np.mean(raced[:, two_sd] == DIFFERS)),
        "power_2sd_fixed": float(np.mean(fixed[:, two_sd] == DIFFERS)),
        "planned_power_2sd": planned_power(2.0, sd_diff=math.sqrt(2.0), seeds=FIXED.max,
                                           family_size=EFFECTS.size, alpha=ALPHA),
        "racing_agreement": float(np.mean(raced == fixed)),
        "false_no_practical_difference_rate": float(
            np.mean(raced[:, EFFECTS >= MIN_EFFECT] == NO_PRACTICAL_DIFFERENCE)),
        "overall_false_positive_rate_3_seeds": _overall_false_positive_rate(rng, curves=curves, seeds=3),
        "overall_false_positive_rate_10_seeds": _overall_false_positive_rate(rng, curves=curves, seeds=10),
        "overall_tolerance": _binomial_tolerance(ALPHA, curves),
    }
    seeds = np.array([f.seeds for f in runs])
    for effect in np.unique(EFFECTS):
        figures[f"mean_seeds_effect_{effect:g}sd"] = float(seeds[:, EFFECTS == effect].mean())
    figures["seconds"] = round(time.perf_counter() - start, 1)
    figures["racing_trial_fraction"] = sum(f.trials for f in runs) / (families * (EFFECTS.size + 1) * FIXED.max)
    return figures


def _covered(runs: list[Family], interval: Callable[[Judgement], tuple[float, float]]) -> np.ndarray:
    """Per family, the share of racing's comparisons whose interval holds the true difference."""
    return np.array([np.mean([interval(j)[0] <= e <= interval(j)[1] for j, e in zip(f.racing, EFFECTS)]) for f in runs])


def _overall_false_positive_rate(rng: np.random.Generator, *, curves: int, seeds: int) -> float:
    """Share of null curves (no level changes anything) whose overall test rejects at ALPHA."""
    rejected = sum(overall_test(list(rng.standard_normal((CURVE_LEVELS, seeds)))).p <= ALPHA for _ in range(curves))
    return rejected / curves


def _binomial_tolerance(rate: float, trials: int) -> float:
    return 2 * math.sqrt(rate * (1 - rate) / trials)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--families", type=int, default=2000, help="simulated study families (default 2000)")
    parser.add_argument("--curves", type=int, default=1000, help="null curves per seed count for the overall test")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--interim-share", type=float, default=RACING.interim_share,
                        help=f"racing's interim alpha share (default: the package's, {RACING.interim_share})")
    parser.add_argument("--futility", type=float, default=RACING.futility,
                        help=f"racing's futility threshold (default: the package's, {RACING.futility})")
    args = parser.parse_args()
    racing = replace(RACING, interim_share=args.interim_share, futility=args.futility)
    figures = calibrate(families=args.families, curves=args.curves, seed=args.seed, racing=racing)
    for name, value in figures.items():
        print(f"{name}: {value:.4f}" if isinstance(value, float) else f"{name}: {value}")


if __name__ == "__main__":
    main()
