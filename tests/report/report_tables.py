"""Hand-made trials tables and facts dicts that follow the study engine's contract exactly
(notes/trial_table.md), small enough that every number the report derives can be checked by hand.
"""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from mmrest.config import PRESETS, STUDY_HYPERPARAMETERS
from mmrest.metrics import METRIC_NAMES

PAPER = {p: float(PRESETS["mosi"][p]) for p in STUDY_HYPERPARAMETERS}
METRICS = {"mae": 0.75, "corr": 0.7, "acc7": 42.0, "acc5": 46.0, "acc3": 62.0, "acc2_has0": 82.0,
           "f1_has0": 82.0, "acc2_non0": 83.0, "f1_non0": 83.0}
COLUMNS = (
    "stage", "number", "key", "state", "design", "varied", "seed", *STUDY_HYPERPARAMETERS, "value",
    *(f"valid_{m}" for m in METRIC_NAMES), *(f"test_{m}" for m in METRIC_NAMES),
    "best_epoch", "params", "seconds", "error", "log",
)


def trial(
    *, stage: str = "coarse", design: str = "one_at_a_time", varied: str = "base", seed: int = 1,
    state: str = "COMPLETE", valid: dict | None = None, test: dict | None = None, error: str = "",
    seconds: float = 10.0, **params: float,
) -> dict:
    """One row; hyperparameters default to the paper's, test metrics to validation minus 1."""
    hp = {**PAPER, **params}
    valid = {**METRICS, **(valid or {})}
    test = {m: v - 1.0 for m, v in valid.items()} | (test or {})
    done = state == "COMPLETE"
    point = ",".join(f"{p}={hp[p]:g}" for p in STUDY_HYPERPARAMETERS)
    return {
        "stage": stage, "number": 0, "key": f"{stage}/{point}/seed={seed}", "state": state,
        "design": design, "varied": varied, "seed": seed, **hp,
        "value": valid["mae"] if done else float("nan"),
        **{f"valid_{m}": (valid[m] if done else float("nan")) for m in METRIC_NAMES},
        **{f"test_{m}": (test[m] if done else float("nan")) for m in METRIC_NAMES},
        "best_epoch": 5, "params": 1000, "seconds": seconds if state in ("COMPLETE", "FAIL") else 0.0,
        "error": error, "log": f"/studies/x/{stage}/{seed}",
    }


def table(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame["number"] = frame.groupby("stage").cumcount()
    frame["k"] = frame["k"].astype(int)
    return frame


def facts(
    stages: list[dict], trials: pd.DataFrame, *, finished_all: bool = True, planned: int | None = None,
    objective: tuple[str, str] = ("valid_mae", "min"), seeds=(1, 2),
) -> dict:
    states = trials["state"]
    return {
        "name": "hand", "spec": {"name": "hand", "base": "mosi", "objective": {"metric": objective[0], "mode": objective[1]}},
        "dataset": "synthetic mosi (hand-made table)", "absent_modalities": ["audio"], "seeds": list(seeds),
        "base_values": dict(PAPER), "stages": stages,
        "started": "2026-01-01T10:00:00", "finished": "2026-01-01T11:02:03" if finished_all else None,
        "finished_all": finished_all,
        "planned": planned if planned is not None else len(trials),
        "done": int((states == "COMPLETE").sum()), "failed": int((states == "FAIL").sum()),
        "machine": {"platform": "Linux-x86_64", "cpus": 2, "gpu": "none"},
        "versions": {"python": "3.11", "torch": "2.13", "ray": "2.60", "optuna": "5.0", "mmrest": "0.1.0"},
    }


# Table A: alpha at 0.5, 1.0 (the paper's, the base point) and 2.0, two seeds each. Seed values are
# mean -/+ d, so the std over seeds (n - 1) is d * sqrt(2). Ranks per metric (1 = best):
#   metric     0.5   1.0   2.0
#   mae        1     2     3      (0.70, 0.72, 0.80; lower is better; also the objective)
#   corr       3     1     2
#   acc7       3     2     1      (40, 42, 43.5): acc7 prefers 2.0 by 1.5 points
#   acc5       3     1     2
#   acc3       3     1     2
#   acc2_has0  3     1     2
#   f1_has0    3     1.5   1.5    (82 and 82 tie)
#   acc2_non0  3     1     2
#   f1_non0    3     1     2
# mean rank: 0.5 -> 25/9, 1.0 -> 11.5/9, 2.0 -> 17.5/9.
DISAGREE_MEANS = {
    0.5: {"mae": 0.70, "corr": 0.70, "acc7": 40.0, "acc5": 44.0, "acc3": 60.0, "acc2_has0": 80.0,
          "f1_has0": 80.0, "acc2_non0": 81.0, "f1_non0": 81.0},
    1.0: {"mae": 0.72, "corr": 0.75, "acc7": 42.0, "acc5": 46.0, "acc3": 62.0, "acc2_has0": 82.0,
          "f1_has0": 82.0, "acc2_non0": 83.0, "f1_non0": 83.0},
    2.0: {"mae": 0.80, "corr": 0.72, "acc7": 43.5, "acc5": 45.0, "acc3": 61.0, "acc2_has0": 81.0,
          "f1_has0": 82.0, "acc2_non0": 82.0, "f1_non0": 82.0},
}
DISAGREE_D = {0.5: {"mae": 0.01, "acc7": 0.5}, 1.0: {"mae": 0.01, "acc7": 1.0}, 2.0: {"mae": 0.01, "acc7": 0.5}}
DEFAULT_D = 0.25


def disagree_rows(stage: str = "coarse") -> list[dict]:
    rows = []
    for alpha, means in DISAGREE_MEANS.items():
        for seed, sign in ((1, -1.0), (2, 1.0)):
            valid = {m: v + sign * DISAGREE_D[alpha].get(m, DEFAULT_D) for m, v in means.items()}
            varied = "base" if alpha == PAPER["alpha"] else "alpha"
            rows.append(trial(stage=stage, varied=varied, seed=seed, alpha=alpha, valid=valid))
    return rows


def oat_stage(name: str = "coarse", **params) -> dict:
    return {"name": name, "design": "one_at_a_time", "params": {p: list(v) for p, v in params.items()}}


def disagree_case() -> tuple[pd.DataFrame, dict]:
    trials = table(disagree_rows())
    return trials, facts([oat_stage(alpha=[0.5, 1.0, 2.0])], trials)


def grid_rows(stage: str = "grid", seeds=(1, 2)) -> list[dict]:
    """A full grid alpha x xi whose every number is a binary fraction (so ties are exact).

    valid_mae (the objective) = 0.75 + 0.25 log2(alpha)^2 + 2^-7 |i - 1|, i the index of xi in
    (1, 3, 10), seeds at -/+ 2^-7; acc7 = 45 - 3 |log2 alpha| - 0.25 |i - 1|; the other metrics are
    constant. Mean-rank scores (x 9): (1, 3) 37; (1, 1) and (1, 10) 40; (0.5, 3) and (2, 3) 44;
    the rest 50. Alpha carries nearly all of the objective's variance.
    """
    rows = []
    for alpha, (i, xi), seed in itertools.product((0.5, 1.0, 2.0), enumerate((1.0, 3.0, 10.0)), seeds):
        mae = 0.75 + 0.25 * np.log2(alpha) ** 2 + 2.0**-7 * abs(i - 1) + 2.0**-7 * (2 * seed - 3)
        acc7 = 45.0 - 3.0 * abs(np.log2(alpha)) - 0.25 * abs(i - 1)
        rows.append(trial(stage=stage, design="grid", varied="", seed=seed, alpha=alpha, xi=xi,
                          valid={"mae": mae, "acc7": acc7}))
    return rows


def grid_stage(name: str = "grid") -> dict:
    return {"name": name, "design": "grid", "params": {"alpha": [0.5, 1.0, 2.0], "xi": [1.0, 3.0, 10.0]}}


def realistic_case(seed: int = 0) -> tuple[pd.DataFrame, dict]:
    """A Fig. 4 study as the demo would make one: coarse one-at-a-time over six parameters, a fine
    stage refining alpha and xi, three seeds, smooth optima plus seed noise."""
    rng = np.random.default_rng(seed)
    coarse = {"k": [3, 5, 7, 9, 11], "v1": [0.2, 0.4, 0.8, 1.6], "v2": [0.25, 0.5, 1.0, 2.0, 4.0],
              "xi": [1.0, 3.0, 10.0, 30.0, 100.0], "alpha": [0.25, 0.5, 1.0, 2.0, 4.0],
              "gamma": [0.0, 0.025, 0.05, 0.1]}
    fine = {"xi": [1.7, 2.3, 3.0, 4.0, 5.5], "alpha": [0.7, 0.85, 1.0, 1.2, 1.4]}
    optimum = {"k": 7, "v1": 0.8, "v2": 1.0, "xi": 3.0, "alpha": 1.3, "gamma": 0.05}
    width = {"k": 4.0, "v1": 1.5, "v2": 2.0, "xi": 2.0, "alpha": 1.2, "gamma": 0.08}

    def quality(hp: dict) -> float:
        cost = 0.0
        for p, best in optimum.items():
            if p in ("k", "gamma"):
                cost += ((hp[p] - best) / width[p]) ** 2
            else:
                cost += (np.log(hp[p] / best) / np.log(1 + width[p])) ** 2
        return cost

    rows = []
    for name, grid in (("coarse", coarse), ("fine", fine)):
        points = [("base", {})] + [(p, {p: v}) for p, vs in grid.items() for v in vs if v != PAPER[p]]
        for varied, change in points:
            hp = {**PAPER, **change}
            c = quality(hp)
            for s in (1111, 1112, 1113):
                acc7 = 44.0 - 4.0 * c + rng.normal(0, 0.6) + (0.8 if hp["alpha"] > 1.1 else 0.0)
                acc5 = 48.0 - 4.5 * c + rng.normal(0, 0.6)
                mae = 0.70 + 0.05 * c + rng.normal(0, 0.008)
                valid = {"mae": mae, "acc7": acc7, "acc5": acc5, "corr": 0.78 - 0.04 * c,
                         "acc3": 64 - 3 * c, "acc2_has0": 82 - 2 * c, "f1_has0": 82 - 2 * c,
                         "acc2_non0": 84 - 2 * c, "f1_non0": 84 - 2 * c}
                rows.append(trial(stage=name, varied=varied, seed=s, valid=valid,
                                  test={"acc7": acc7 - 1.5 + rng.normal(0, 0.8), "acc5": acc5 - 1.2}, **hp))
    trials = table(rows)
    stages = [oat_stage("coarse", **coarse), oat_stage("fine", **fine)]
    return trials, facts(stages, trials, seeds=(1111, 1112, 1113))


def tpe_case(points: int = 8, seed: int = 0) -> tuple[pd.DataFrame, dict]:
    """A tpe stage: alpha sampled log-uniformly in [0.1, 10], xi uniformly in [1, 100], two seeds
    per point; the objective rises with |log alpha| only. The spec says alpha's range is log."""
    rng = np.random.default_rng(seed)
    rows = []
    for alpha, xi in zip(np.exp(rng.uniform(np.log(0.1), np.log(10.0), points)), rng.uniform(1, 100, points)):
        for s in (1, 2):
            mae = 0.7 + 0.1 * abs(np.log10(alpha)) + 0.001 * (s - 1.5)
            rows.append(trial(stage="search", design="tpe", varied="", seed=s, alpha=float(alpha), xi=float(xi),
                              valid={"mae": mae}))
    trials = table(rows)
    stage = {"name": "search", "design": "tpe",
             "params": {"alpha": sorted(trials["alpha"].unique()), "xi": sorted(trials["xi"].unique())}}
    raw = facts([stage], trials)
    raw["spec"]["stages"] = [{"name": "search", "design": "tpe", "n_trials": points,
                              "ranges": {"alpha": {"low": 0.1, "high": 10.0, "log": True},
                                         "xi": {"low": 1.0, "high": 100.0, "log": False}}}]
    return trials, raw
