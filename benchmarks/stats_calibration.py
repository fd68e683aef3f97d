"""Calibrate the statistics by simulation, through the code the engine and the report run.

Every family is one simulated study stage: 6 one-at-a-time curves of 5 levels around a base
point (30 level comparisons), the levels of each curve carrying true effects of 0, 0.5, 1, 2 and
4 seed sds on the objective (a validation MAE: larger is worse), min_effect 1 sd. Each family is
raced by the engine's own replay with its racing pairs (`mmrest.study.racing.replay_stage` on
values drawn in advance) and then judged as the report judges it (`mmrest.selection.family.
StudyFamily`: every level against the base, every candidate of each curve against the value the
default rule chooses, every pair of a curve's candidates in the family). The fixed design judges
the same values with every point at max seeds and one look.

The mixes were fixed before any constant was chosen (issue 17):

  A  Gaussian noise, sd 1, independent per point and seed; seeds race from 3 to 20
  B  A with a third of the null levels (2 of 6) 3 times noisier
  C  A with t(3) noise, scaled to sd 1
  D  A with 5 % of the trials failed at random
  E  A with seeds racing from 3 to 5
  F  final values alone: a curve of 3, 5 or 8 equal candidates (the base and its levels), 5 seeds,
     one look, the chosen one picked on the same draws

The procedure this work started from (`--old`, a git worktree of that commit; the default is the
commit before the selection-aware pass) races and judges the same draws, through its own code, in
a second process (benchmarks/stats_calibration_old.py), for `decided_fraction_old` and the
final-value rates of mix F.

Prints one `name: value` line per figure, the mix in the name. Tolerances: 2 standard errors of
the simulation (binomial for rates over families; from the per-family shares for coverage). Last
line: `decided_fraction_ratio_E`, the new procedure's decided fraction over the old one's on mix E.

    python benchmarks/stats_calibration.py [--families 400] [--seed 0] [--old REV]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mmrest.config import STUDY_HYPERPARAMETERS
from mmrest.metrics import METRIC_NAMES
from mmrest.selection import DEFAULT_RULE, get_rule
from mmrest.selection.family import Line, Shown, StudyFamily
from mmrest.selection.rules import best_two
from mmrest.stats import DIFFERS, NO_PRACTICAL_DIFFERENCE, UNDECIDED, Schedule
from mmrest.study.planner import PlannedPoint
from mmrest.study.racing import RaceValues, replay_stage
from mmrest.trial_table import BASE

ROOT = Path(__file__).resolve().parents[1]
OLD = "edde76b"  # the commit the selection-aware pass (issue 17) started from
EFFECTS = (0.0, 0.5, 1.0, 2.0, 4.0)  # per curve, one level of each, in seed sds
CURVES = ("k", "v1", "v2", "xi", "alpha", "gamma")
MIN_EFFECT = 1.0
MAX = 20
ANCHOR = {"k": 7, "v1": 0.8, "v2": 1.0, "xi": 3.0, "alpha": 1.0, "gamma": 0.05, "eta": 0.01, "kmeans_mode": 0}
MIXES = {"A": (3, 20), "B": (3, 20), "C": (3, 20), "D": (3, 20), "E": (3, 5)}
CANDIDATES = (3, 5, 8)
F_SEEDS = 5


def racers() -> list[PlannedPoint]:
    """The stage's levels: curve c moves hyperparameter CURVES[c] to five values away from the
    anchor's (k stays an integer); level j of each curve carries EFFECTS[j]."""
    out = []
    for name in CURVES:
        for j in range(len(EFFECTS)):
            value = ANCHOR[name] + j + 1 if name == "k" else round(ANCHOR[name] * (1.5 + j), 6)
            out.append(PlannedPoint(f"{name}={value}", name, {**ANCHOR, name: value}))
    return out


RACERS = racers()
LEVEL_EFFECTS = np.tile(EFFECTS, len(CURVES))  # per racer, its true effect


def draw(rng: np.random.Generator, mix: str) -> np.ndarray:
    """(31, MAX): the base's values (row 0), then each level's, per seed; NaN for a failed trial."""
    points = 1 + len(RACERS)
    if mix == "C":
        noise = rng.standard_t(3, size=(points, MAX)) / math.sqrt(3.0)
    else:
        noise = rng.standard_normal((points, MAX))
    if mix == "B":  # a third of the null levels: two of the six curves' null level, 3x noisier
        nulls = 1 + np.flatnonzero(LEVEL_EFFECTS == 0.0)
        noise[rng.choice(nulls, size=len(nulls) // 3, replace=False)] *= 3.0
    values = noise + np.concatenate([[0.0], LEVEL_EFFECTS])[:, np.newaxis]
    if mix == "D":
        values[rng.random(values.shape) < 0.05] = np.nan
    return values


def held(values: np.ndarray) -> RaceValues:
    """The drawn values as the engine holds a stage's results: the objective, and the nine
    validation metrics with only the objective's (MAE) recorded."""
    labels = [BASE, *(p.label for p in RACERS)]
    metrics = {}
    for label, row in zip(labels, values):
        table = np.full((row.size, len(METRIC_NAMES)), np.nan)
        table[:, METRIC_NAMES.index("mae")] = row
        metrics[label] = table
    return RaceValues(objective=dict(zip(labels, values)), metrics=metrics)


@dataclass(frozen=True)
class Judged:
    levels: list[str]  # each level's verdict against the base
    level_intervals: list[tuple[float, float]]  # the corrected (drawn) interval of each
    false_differs: bool  # a shown comparison of two equal points was judged to differ
    false_equivalence: list[bool]  # per shown comparison with |true difference| >= min_effect


def judge_as_the_report(values: dict[str, np.ndarray], effects: dict[str, float], curves: dict[str, list[str]],
                        schedule: Schedule) -> Judged:
    """The report's family on these runs: levels against the base, each curve's candidates
    against the value the default rule chooses, all pairs of a curve's candidates."""
    shown = [Shown("s", label, BASE) for labels in curves.values() for label in labels]
    lines = []
    for labels in curves.values():
        candidates = [BASE, *labels]
        chosen = choose(values, candidates)
        shown += [Shown("s", other, chosen) for other in candidates if other != chosen]
        lines.append(Line("s", tuple(candidates)))
    family = StudyFamily.of(shown, lines)
    judged = family.judge(values, schedule=schedule, min_effect=MIN_EFFECT)
    truth = [effects[s.treatment] - effects[s.reference] for s in shown]
    n_levels = sum(len(v) for v in curves.values())
    return Judged(
        levels=[j.verdict for j in judged[:n_levels]],
        level_intervals=[(j.corrected_low, j.corrected_high) for j in judged[:n_levels]],
        false_differs=any(j.verdict == DIFFERS and t == 0.0 for j, t in zip(judged, truth)),
        false_equivalence=[j.verdict == NO_PRACTICAL_DIFFERENCE for j, t in zip(judged, truth) if abs(t) >= MIN_EFFECT],
    )


def choose(values: dict[str, np.ndarray], candidates: list[str]) -> str:
    """The default rule's pick among a curve's candidates on their runs so far (only the
    objective is recorded, so the mean rank is the objective's rank)."""
    table = np.full((len(candidates), len(METRIC_NAMES)), np.nan)
    column = METRIC_NAMES.index("mae")
    table[:, column] = [np.nanmean(values[c]) for c in candidates]
    spread = np.array([np.nanstd(values[c], ddof=1) for c in candidates])
    configs = np.array([_config(c) for c in candidates])
    best, _ = best_two(get_rule(DEFAULT_RULE), table, table[:, column], False, spread, configs,
                       np.array(_config(BASE)), configs[:, 0])
    return candidates[best]


def _config(label: str) -> tuple[float, ...]:
    point = ANCHOR if label == BASE else next(p.point for p in RACERS if p.label == label)
    return tuple(float(point[name]) for name in STUDY_HYPERPARAMETERS)


@dataclass(frozen=True)
class Family:
    raced: Judged
    fixed: Judged | None  # every point at MAX seeds, one look (mix A only)
    seeds: list[int]  # each level's seeds under racing
    trials: int  # racing's trials, levels and base


LABELS = [BASE, *(p.label for p in RACERS)]
TRUE_EFFECT = {BASE: 0.0, **{p.label: float(e) for p, e in zip(RACERS, LEVEL_EFFECTS)}}
CURVE_LABELS = {name: [p.label for p in RACERS if p.varied == name] for name in CURVES}


def family(values: np.ndarray, start: int, max_: int, *, fixed: bool, **constants: float) -> Family:
    """Race one family through the engine's replay, then judge it as the report does.
    `constants` (interim_share, futility) replace the Schedule's defaults: only
    benchmarks/racing_frontier.py passes them."""
    schedule = Schedule(start=start, max=max_, **constants)
    race = replay_stage(held(values[:, :max_]), RACERS, ANCHOR, schedule=schedule, objective="mae",
                        min_effect=MIN_EFFECT, paper=ANCHOR, spare=True)
    lengths = {**race.lengths, BASE: race.base_length}
    runs = {label: values[i, : lengths[label]] for i, label in enumerate(LABELS)}
    raced = judge_as_the_report(runs, TRUE_EFFECT, CURVE_LABELS, schedule)
    whole = None
    if fixed:
        everything = {label: values[i, :MAX] for i, label in enumerate(LABELS)}
        whole = judge_as_the_report(everything, TRUE_EFFECT, CURVE_LABELS, Schedule(start=MAX, max=MAX))
    seeds = [lengths[p.label] for p in RACERS]
    return Family(raced=raced, fixed=whole, seeds=seeds, trials=sum(seeds) + lengths[BASE])


def final_values(rng: np.random.Generator, k: int) -> np.ndarray:
    """Mix F: (k, F_SEEDS) equal candidates (the base and k - 1 levels of one curve)."""
    return rng.standard_normal((k, F_SEEDS))


def judge_final_values(values: np.ndarray) -> bool:
    """Mix F through the report's family: whether any shown comparison (all of them between equal
    points) was judged to differ."""
    k = values.shape[0]
    labels = [BASE, *(p.label for p in RACERS if p.varied == "alpha")][:k]
    runs = dict(zip(labels, values))
    effects = dict.fromkeys(labels, 0.0)
    return judge_as_the_report(runs, effects, {"alpha": labels[1:]}, Schedule(start=F_SEEDS, max=F_SEEDS)).false_differs


def figures(mix: str, runs: list[Family], old: dict | None) -> dict[str, float]:
    """The mix's figures, each name prefixed with the mix."""
    n = len(runs)
    raced = np.array([f.raced.levels for f in runs])
    out = {
        "family_wise_false_positive_rate": float(np.mean([f.raced.false_differs for f in runs])),
        "family_wise_tolerance": _binomial_tolerance(0.05, n),
        "false_equivalence_rate": float(np.mean([x for f in runs for x in f.raced.false_equivalence])),
    }
    for effect in EFFECTS:
        covered = np.array([np.mean([lo <= effect <= hi for (lo, hi), e in zip(f.raced.level_intervals, LEVEL_EFFECTS)
                                     if e == effect]) for f in runs])
        out[f"coverage_{effect:g}sd"] = float(covered.mean())
        out[f"coverage_tolerance_{effect:g}sd"] = 2 * float(covered.std(ddof=1)) / math.sqrt(n)
    out["decided_fraction"] = float(np.mean(raced != UNDECIDED))
    if old is not None:
        out["decided_fraction_old"] = old["decided_fraction"]
    out["power_2sd"] = float(np.mean(raced[:, LEVEL_EFFECTS == 2.0] == DIFFERS))
    seeds = np.array([f.seeds for f in runs])
    for effect in EFFECTS:
        out[f"mean_seeds_{effect:g}sd"] = float(seeds[:, LEVEL_EFFECTS == effect].mean())
    start, max_ = MIXES[mix]
    out["racing_trial_fraction"] = sum(f.trials for f in runs) / (n * (1 + len(RACERS)) * max_)
    if runs[0].fixed is not None:
        fixed = np.array([f.fixed.levels for f in runs])
        out["racing_agreement"] = float(np.mean(raced == fixed))
        out["family_wise_false_positive_rate_fixed"] = float(np.mean([f.fixed.false_differs for f in runs]))
    return {f"{mix}.{name}": value for name, value in out.items()}


def _binomial_tolerance(rate: float, trials: int) -> float:
    return 2 * math.sqrt(rate * (1 - rate) / trials)


def draws(families: int, seed: int) -> dict[str, np.ndarray]:
    """Every value the simulation uses, drawn up front so that the old procedure reads the same."""
    rng = np.random.default_rng(seed)
    out = {mix: np.stack([draw(rng, mix) for _ in range(families)]) for mix in MIXES}
    out |= {f"F{k}": np.stack([final_values(rng, k) for _ in range(families)]) for k in CANDIDATES}
    return out


def old_procedure(rev: str, data: Path, out: Path) -> subprocess.Popen:
    """The procedure this work started from, on the same draws, in a git worktree of `rev`."""
    where = Path(tempfile.mkdtemp(prefix="calibration-old"))
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(where / "code"), rev], check=True,
                   capture_output=True)
    script = ROOT / "benchmarks" / "stats_calibration_old.py"
    env = {**os.environ, "PYTHONPATH": str(where / "code")}
    process = subprocess.Popen([sys.executable, str(script), str(data), str(out)], env=env)
    process.worktree = where / "code"
    return process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--families", type=int, default=400, help="simulated studies per mix (default 400)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--old", default=OLD, help=f"git revision of the procedure to compare with (default {OLD}); "
                        "'none' skips it")
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="calibration") as tmp:
        data, result = Path(tmp) / "draws.npz", Path(tmp) / "old.json"
        values = draws(args.families, args.seed)
        np.savez(data, **values)
        old = None if args.old == "none" else old_procedure(args.old, data, result)
        try:
            report = run(values)
            old_figures = None
            if old is not None:
                if old.wait() != 0:
                    raise SystemExit("the old procedure failed; see its output above")
                old_figures = json.loads(result.read_text())
        finally:
            if old is not None:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old.worktree)],
                               capture_output=True)
    lines = finish(report, old_figures)
    for name, value in lines.items():
        print(f"{name}: {value:.4f}" if isinstance(value, float) else f"{name}: {value}")
    print(f"seconds: {time.perf_counter() - started:.0f}")
    print(f"decided_fraction_ratio_E: {lines['E.decided_fraction'] / lines['E.decided_fraction_old']:.2f}"
          if old_figures else "decided_fraction_ratio_E: n/a (no old procedure)")


def run(values: dict[str, np.ndarray]) -> dict[str, list]:
    """Every family of every mix through the engine and the report."""
    out = {}
    for mix, (start, max_) in MIXES.items():
        out[mix] = [family(v, start, max_, fixed=mix == "A") for v in values[mix]]
    for k in CANDIDATES:
        out[f"F{k}"] = [judge_final_values(v) for v in values[f"F{k}"]]
    return out


def finish(report: dict[str, list], old: dict | None) -> dict[str, float]:
    lines: dict[str, float] = {"families": len(report["A"])}
    for mix in MIXES:
        lines |= figures(mix, report[mix], None if old is None else old[mix])
    for k in CANDIDATES:
        lines[f"F.family_wise_false_positive_rate_{k}_candidates"] = float(np.mean(report[f"F{k}"]))
        if old is not None:
            lines[f"F.family_wise_false_positive_rate_{k}_candidates_old"] = old[f"F{k}"]
    lines["F.family_wise_tolerance"] = _binomial_tolerance(0.05, len(report["F3"]))
    return lines


if __name__ == "__main__":
    main()
