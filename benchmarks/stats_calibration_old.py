"""The procedure the selection-aware pass started from, on the draws of
benchmarks/stats_calibration.py: run by that script with PYTHONPATH set to a git worktree of the
old commit, so that every test, race and family below is the old package's own code.

It reads the draws (an .npz) and writes JSON: per racing mix its decided fraction (the share of
level comparisons with a verdict other than undecided) after the old engine's race (its
`race_round` after every round, with the chosen value and its runner-up per curve as extra
pairs) and the old report's family (levels against the base and candidates against the chosen
value, Holm together); per mix F the rate of families with a false *differs*.

    PYTHONPATH=<old worktree> python benchmarks/stats_calibration_old.py DRAWS.npz OUT.json
"""
from __future__ import annotations

import json
import sys

import numpy as np

from mmrest.metrics import METRIC_NAMES
from mmrest.selection.rules import DEFAULT_RULE, get_rule, order
from mmrest.stats import DIFFERS, UNDECIDED, Schedule, judge_family, race_round

CURVES, LEVELS, MIN_EFFECT, MAX = 6, 5, 1.0, 20
MIXES = {"A": (3, 20), "B": (3, 20), "C": (3, 20), "D": (3, 20), "E": (3, 5)}
CANDIDATES, F_SEEDS = (3, 5, 8), 5


def chosen_order(runs: list[np.ndarray]) -> np.ndarray:
    """The old rule's ranking of a curve's candidates (only the objective recorded)."""
    table = np.full((len(runs), len(METRIC_NAMES)), np.nan)
    column = METRIC_NAMES.index("mae")
    table[:, column] = [np.nanmean(r) for r in runs]
    spread = np.array([np.nanstd(r, ddof=1) for r in runs])
    configs = np.arange(len(runs), dtype=float)[:, np.newaxis]  # distinct configurations; the base first
    ranked, _ = order(get_rule(DEFAULT_RULE), table, table[:, column], False, spread, configs, configs[0])
    return ranked


def pairs_rule(current: dict[str, np.ndarray], base_length: int, base: np.ndarray) -> list[tuple[str, str]]:
    """The old engine's extra pairs: per curve, the chosen value and its runner-up, unless one is the base."""
    pairs = []
    for c in range(CURVES):
        names = [f"p{c * LEVELS + j}" for j in range(LEVELS)]
        runs = [base[:base_length], *(current[n] for n in names)]
        ranked = chosen_order(runs)
        best, runner = int(ranked[0]), int(ranked[1])
        if best != 0 and runner != 0:
            pairs.append((names[best - 1], names[runner - 1]))
    return pairs


def race(values: np.ndarray, schedule: Schedule) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    base_all, points = values[0], {f"p{i}": v for i, v in enumerate(values[1:])}
    have = dict.fromkeys(points, schedule.start)
    base_have = schedule.start
    while True:
        current = {n: v[: have[n]] for n, v in points.items()}
        plan = race_round(current, base_all[:base_have], schedule=schedule, min_effect=MIN_EFFECT,
                          pairs=pairs_rule(current, base_have, base_all))
        if plan.over:
            return base_all[:base_have], current
        for n in plan.next_seed:
            have[n] += 1
        base_have += plan.base_next


def judge_as_the_old_report(base: np.ndarray, points: dict[str, np.ndarray], schedule: Schedule,
                            curves: int, levels: int) -> list[str]:
    """Levels against the base, then each curve's candidates against its chosen value, as one
    family; the reference padded with NaN where it ran fewer seeds (the old Pairing.values)."""
    pairs = [(points[f"p{i}"], base) for i in range(curves * levels)]
    for c in range(curves):
        names = [f"p{c * levels + j}" for j in range(levels)]
        runs = [base, *(points[n] for n in names)]
        best = int(chosen_order(runs)[0])
        for i, run in enumerate(runs):
            if i != best:
                reference = np.full(run.size, np.nan)
                reference[: min(run.size, runs[best].size)] = runs[best][: run.size]
                pairs.append((run, reference))
    return [j.verdict for j in judge_family(pairs, schedule=schedule, min_effect=MIN_EFFECT)]


def main() -> None:
    draws = np.load(sys.argv[1])
    out = {}
    for mix, (start, max_) in MIXES.items():
        schedule = Schedule(start=start, max=max_)
        decided = []
        for values in draws[mix]:
            base, points = race(values[:, :max_], schedule)
            verdicts = judge_as_the_old_report(base, points, schedule, CURVES, LEVELS)
            decided += [v != UNDECIDED for v in verdicts[: CURVES * LEVELS]]
        out[mix] = {"decided_fraction": float(np.mean(decided))}
    for k in CANDIDATES:
        schedule = Schedule(start=F_SEEDS, max=F_SEEDS)
        false = [DIFFERS in judge_as_the_old_report(v[0], {f"p{i}": r for i, r in enumerate(v[1:])}, schedule, 1, k - 1)
                 for v in draws[f"F{k}"]]
        out[f"F{k}"] = float(np.mean(false))
    with open(sys.argv[2], "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
