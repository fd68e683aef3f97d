"""How a list of hyperparameter values is spaced: the one rule that the planner (refined values),
the Optuna distributions, the report's axes and the importance evaluators share."""
from __future__ import annotations

import math

import numpy as np


def is_log_spaced(values) -> bool:
    """True when positive values look like a geometric grid (1, 3, 10, 30, 100 or 0.2, 0.4, 0.8)
    rather than an arithmetic one (3, 5, 7, 9): their log-steps vary less than their steps.

    Two values carry no spacing to read, so they count as geometric when they span a factor of 10
    or more (0.01 and 1: a refine between them should be geometric, and an axis showing them
    should be a log axis) and as arithmetic otherwise (3 and 12). A value <= 0 rules out a log scale.
    """
    v = np.unique(np.asarray(values, dtype=float))
    if len(v) < 2 or v[0] <= 0:
        return False
    if len(v) == 2:
        return bool(np.log10(v[1]) - np.log10(v[0]) >= 1)
    return _unevenness(np.diff(np.log(v))) < _unevenness(np.diff(v))


def _unevenness(steps: np.ndarray) -> float:
    """Coefficient of variation; scaled first, so that values near the float limit do not overflow."""
    steps = steps / np.max(np.abs(steps))
    mean = float(np.mean(steps))
    return float(np.std(steps)) / mean if mean > 0 else math.inf
