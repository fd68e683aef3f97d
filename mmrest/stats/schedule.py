"""When a stage looks at its comparisons, and how much of alpha each look may spend.

A stage looks after n = start, start + 1, ..., max seeds. Look n tests at level a(n), and the
levels sum to alpha, so by the union bound the chance that any look of a null comparison rejects
is at most alpha whatever the correlation between looks (docs/statistics.md, "Looks").

Spending (Haybittle-Peto budget, O'Brien-Fleming shape): the interim looks n < max share
`interim_share * alpha`, split in the proportions of the increments of the Lan-DeMets
O'Brien-Fleming spending function f(t) = 2 - 2 Phi(z_{1 - alpha/2} / sqrt(t)) at t = n / max,
so early looks, whose t-tests have two or three degrees of freedom, get almost nothing; the
final look keeps the rest. One look (a plain seed list: start = max) tests at alpha.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from numbers import Integral

import numpy as np
from scipy.stats import norm

# Fixed before the calibration of issue 17 ran, each for the reason given (docs/statistics.md,
# "Constants"); benchmarks/stats_calibration.py measures what they give.
# The final look keeps 90 % of alpha: a race that runs to max is judged nearly as the fixed
# design is (0.045 against 0.05), and the interim looks decide only overwhelming effects.
INTERIM_SHARE = 0.1
# A point stops when neither verdict has a 10 % chance of being reached by max: the usual bound
# of non-binding futility rules in group-sequential trials (conditional or predictive power < 10 %).
FUTILITY = 0.10


@dataclass(frozen=True)
class Schedule:
    """The looks of a stage, their levels, and the futility threshold of its racing.

    `start` seeds run before the first look, `max` is the most any point runs. `futility` is the
    predictive power below which racing stops a point whose verdict cannot be reached
    (mmrest.stats.racing).
    """

    start: int
    max: int
    alpha: float = 0.05
    interim_share: float = INTERIM_SHARE
    futility: float = FUTILITY

    def __post_init__(self) -> None:
        if not all(isinstance(v, Integral) and not isinstance(v, bool) for v in (self.start, self.max)):
            raise ValueError(f"start and max must be integers; got start={self.start!r}, max={self.max!r}")
        if self.start < 1:
            raise ValueError(f"start must be at least 1 seed; got start={self.start}")
        if self.start > self.max:
            raise ValueError(f"start ({self.start}) must not exceed max ({self.max}): lower start or raise max")
        if not 0.0 < self.alpha < 1.0:
            raise ValueError(f"alpha must lie in (0, 1); got {self.alpha}")
        if not 0.0 <= self.interim_share < 1.0:
            raise ValueError(f"interim_share must lie in [0, 1); got {self.interim_share}")
        if not 0.0 <= self.futility < 1.0:
            raise ValueError(f"futility must lie in [0, 1); got {self.futility}")

    @property
    def looks(self) -> range:
        """The seed counts at which comparisons are tested; a t-test needs two seeds."""
        return range(max(self.start, 2), self.max + 1)

    @cached_property
    def levels(self) -> np.ndarray:
        """a(n) for each n of `looks`, in order; they sum to alpha (empty when max < 2)."""
        looks = np.arange(self.looks.start, self.looks.stop)
        if looks.size <= 1:
            return np.full(looks.size, self.alpha)
        interim = looks[:-1]
        spent = _obrien_fleming(interim / self.max, self.alpha)
        increments = np.diff(spent, prepend=0.0)
        shares = increments / spent[-1]
        levels = np.append(self.interim_share * self.alpha * shares, (1.0 - self.interim_share) * self.alpha)
        levels.flags.writeable = False
        return levels

    def level(self, n: int) -> float:
        """a(n): the level look n tests at (0 for a seed count that is not a look)."""
        return float(self.levels[n - self.looks.start]) if n in self.looks else 0.0


def _obrien_fleming(t: np.ndarray, alpha: float) -> np.ndarray:
    """Lan-DeMets O'Brien-Fleming spending function: alpha spent by information fraction t."""
    return 2.0 - 2.0 * norm.cdf(norm.ppf(1.0 - alpha / 2.0) / np.sqrt(t))
