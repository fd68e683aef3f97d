"""Mean and spread over seeds, the one summary every analysis table uses."""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np


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


def larger_std(a: Stat, b: Stat) -> float | None:
    """The larger of two spreads, or None when either is unknown (one seed) or not finite."""
    if a.std is None or b.std is None or not (math.isfinite(a.std) and math.isfinite(b.std)):
        return None
    return max(a.std, b.std)
