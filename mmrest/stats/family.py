"""Verdicts for a family of paired comparisons: sequential p-values, Holm, corrected intervals.

For a comparison with n_c seeds and looks n = start .. n_c of its `Schedule` (levels a(n) summing
to alpha), p_n is the paired t-test on its first n seeds and

    P* = min over looks of min(1, alpha * p_n / a(n)).

Under the null, P(P* <= x) <= sum_n P(p_n <= x a(n) / alpha) = x, by the union bound alone, so P*
is a valid p-value however the looks correlate and whenever racing stopped. Holm
(`statsmodels.stats.multitest.multipletests`) runs across the family on the P* values.

Holm level h_c: with the P* sorted, j the comparison's rank and j* the first rank Holm keeps,
h_c = alpha / (m - min(j, j*) + 1). The corrected interval is the intersection over looks of the
t intervals at level a(n) h_c / alpha. It excludes 0 exactly when Holm rejects: a rejected
comparison has a look with p_n <= a(n) h_c / alpha, whose interval misses 0; a kept one has
p_n > a(n) h_c / alpha at every look, so every interval holds 0 and so does their intersection.
Should the looks' intervals not overlap (a miss, chance at most alpha), the corrected interval is
the gap between them, which still excludes 0.

Verdicts: *differs* when Holm rejects; otherwise *no practical difference* when the corrected
interval lies inside (-min_effect, +min_effect); otherwise *undecided*.
"""
from __future__ import annotations

import gc
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import stdtrit
from statsmodels.stats.multitest import multipletests

from mmrest.stats.paired import PairedDifference, Tests, aligned, row_tests
from mmrest.stats.schedule import Schedule

DIFFERS = "differs"
NO_PRACTICAL_DIFFERENCE = "no practical difference"
UNDECIDED = "undecided"
VERDICTS = (DIFFERS, NO_PRACTICAL_DIFFERENCE, UNDECIDED)


@dataclass(frozen=True)
class Holm:
    """Holm's decisions on a family of p-values, in the family's order."""

    reject: np.ndarray  # bool
    p_adjusted: np.ndarray
    levels: np.ndarray  # h_c of the module docstring


@dataclass(frozen=True)
class Judgement:
    """One comparison of a family."""

    difference: PairedDifference  # plain t-test over all the comparison's seeds, at 1 - alpha
    p_sequential: float  # P*: valid across the looks, before the family's correction
    p_holm: float  # P* after Holm across the family
    corrected_low: float  # the corrected interval: decides the verdict
    corrected_high: float
    adjusted_low: float  # the looks' own intervals intersected: 1 - alpha across the looks
    adjusted_high: float
    level: float  # h_c, the comparison's Holm level
    verdict: str


@dataclass(frozen=True)
class _Looks:
    """Each comparison's t-tests at each look: arrays (comparisons, looks), NaN where absent."""

    p: np.ndarray
    center: np.ndarray
    half_width: np.ndarray  # of the interval at the look's own level a(n)
    df: np.ndarray
    levels: np.ndarray  # a(n) of each look, shape (looks,)


def holm(p_values, *, alpha: float = 0.05) -> Holm:
    """Holm's step-down procedure; a NaN p-value (a test that could not run) counts as 1."""
    p = np.nan_to_num(np.asarray(p_values, dtype=np.float64).reshape(-1), nan=1.0)
    m = p.size
    if m == 0:
        empty = np.zeros(0)
        return Holm(reject=empty.astype(bool), p_adjusted=empty, levels=empty)
    reject, p_adjusted = _multipletests_holm(p, alpha)
    rank = np.empty(m, dtype=np.int64)
    rank[np.argsort(p, kind="stable")] = np.arange(1, m + 1)
    first_kept = rank[~reject].min() if not reject.all() else m + 1
    levels = alpha / (m - np.minimum(rank, first_kept) + 1)
    return Holm(reject=reject, p_adjusted=p_adjusted, levels=levels)


def _multipletests_holm(p: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """statsmodels' Holm, without the cost of the gc.collect() it runs on every call.

    That full collection walks every object of the process (80 ms with scipy, pandas and
    statsmodels loaded), and racing calls Holm every round. Freezing the collector's objects for
    the call makes it walk nothing; unfreezing puts them back (in the oldest generation). A
    process that froze objects itself keeps them frozen: then the call pays the walk.
    """
    freeze = gc.get_freeze_count() == 0
    if freeze:
        gc.freeze()
    try:
        reject, p_adjusted, _, _ = multipletests(p, alpha=alpha, method="holm")
    finally:
        if freeze:
            gc.unfreeze()
    return reject, p_adjusted


def judge_family(pairs: Sequence[tuple[np.ndarray, np.ndarray]], *, schedule: Schedule, min_effect: float) -> list[Judgement]:
    """The verdict of each (treatment, reference) comparison, Holm-corrected across all of them."""
    comparisons = _Comparisons.of([aligned(treatment, reference) for treatment, reference in pairs])
    _check(comparisons, schedule, min_effect)
    looks = _looks(comparisons, schedule)
    p_sequential = _sequential_p(looks, schedule.alpha)
    decisions = holm(p_sequential, alpha=schedule.alpha)
    corrected = _intersection(looks, decisions.levels / schedule.alpha)
    adjusted = _intersection(looks)
    plain = _plain(comparisons, 1.0 - schedule.alpha)
    return [
        Judgement(
            difference=plain[c], p_sequential=float(p_sequential[c]), p_holm=float(decisions.p_adjusted[c]),
            corrected_low=float(corrected[0][c]), corrected_high=float(corrected[1][c]),
            adjusted_low=float(adjusted[0][c]), adjusted_high=float(adjusted[1][c]),
            level=float(decisions.levels[c]),
            verdict=_verdict(bool(decisions.reject[c]), corrected[0][c], corrected[1][c], min_effect),
        )
        for c in range(comparisons.lengths.size)
    ]


def _sequential_p(looks: _Looks, alpha: float) -> np.ndarray:
    """P* of each comparison; 1 for one that has not reached a look."""
    with np.errstate(invalid="ignore"):
        scaled = np.minimum(1.0, alpha * looks.p / looks.levels)
    return np.fmin.reduce(scaled, axis=1, initial=1.0)


@dataclass(frozen=True)
class _Comparisons:
    """A family's treatments and references as NaN-padded (comparisons, seeds) arrays."""

    treatment: np.ndarray
    reference: np.ndarray
    lengths: np.ndarray

    @classmethod
    def of(cls, pairs: list[tuple[np.ndarray, np.ndarray]]) -> _Comparisons:
        lengths = np.array([t.size for t, _ in pairs], dtype=np.int64)
        width = int(lengths.max(initial=0))
        treatment, reference = np.full((2, lengths.size, width), np.nan)
        for c, (t, r) in enumerate(pairs):
            treatment[c, : t.size] = t
            reference[c, : r.size] = r
        return cls(treatment=treatment, reference=reference, lengths=lengths)

    def tests(self, n: int, confidence: float) -> tuple[np.ndarray, Tests]:
        """(rows, their t-tests on the first n seeds) for the comparisons with at least n seeds."""
        rows = np.flatnonzero(self.lengths >= n)
        return rows, row_tests(self.treatment[rows, :n], self.reference[rows, :n], confidence=confidence)


def _check(comparisons: _Comparisons, schedule: Schedule, min_effect: float) -> None:
    if not (np.isfinite(min_effect) and min_effect >= 0):
        raise ValueError(f"min_effect must be a finite number >= 0; got {min_effect}")
    longest = int(comparisons.lengths.max(initial=0))
    if longest > schedule.max:
        raise ValueError(f"a comparison has {longest} seeds, more than the schedule's max of {schedule.max}")


def _looks(comparisons: _Comparisons, schedule: Schedule) -> _Looks:
    shape = (comparisons.lengths.size, len(schedule.looks))
    p, center, half_width, df = (np.full(shape, np.nan) for _ in range(4))
    for k, n in enumerate(schedule.looks):
        level = schedule.levels[k]
        if level == 0.0 or n > comparisons.lengths.max(initial=0):  # nothing to test at this look
            continue
        rows, tests = comparisons.tests(n, 1.0 - level)
        p[rows, k] = tests.p
        center[rows, k] = (tests.low + tests.high) / 2.0
        half_width[rows, k] = (tests.high - tests.low) / 2.0
        df[rows, k] = tests.n - 1
    return _Looks(p=p, center=center, half_width=half_width, df=df, levels=np.asarray(schedule.levels))


def _intersection(looks: _Looks, scale: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Running intersection of each comparison's look intervals, look n at level a(n) * scale
    (one factor per comparison), or at a(n) itself without `scale`.

    A look's t interval at level b is center +- t_{df}(1 - b/2) * se; scipy gave it at the look's
    own level a, so widening the half-width by t_{df}(1 - b/2) / t_{df}(1 - a/2) gives it at b
    exactly, without a t-test per comparison and level. The quantiles come from
    `scipy.special.stdtrit`, which scipy's own t interval calls.
    """
    usable = ~np.isnan(looks.p)
    half = looks.half_width
    if scale is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            levels = looks.levels * scale[:, np.newaxis]
            ratio = stdtrit(looks.df, 1.0 - levels / 2.0) / stdtrit(looks.df, 1.0 - looks.levels / 2.0)
            half = np.where(half == 0.0, 0.0, half * ratio)
    low = np.max(looks.center - half, axis=1, initial=-np.inf, where=usable)
    high = np.min(looks.center + half, axis=1, initial=np.inf, where=usable)
    empty = low > high
    return np.where(empty, high, low), np.where(empty, low, high)


def _plain(comparisons: _Comparisons, confidence: float) -> list[PairedDifference]:
    """Each comparison's t-test over all its seeds. Tested together with every comparison at
    least as long, the same rows as the look at that seed count, whose memoised t-tests it shares."""
    out: list[PairedDifference | None] = [None] * comparisons.lengths.size
    for n in np.unique(comparisons.lengths):
        rows, tests = comparisons.tests(int(n), confidence)
        for i in np.flatnonzero(comparisons.lengths[rows] == n):
            out[rows[i]] = tests.difference(int(i))
    return out


def _verdict(reject: bool, low: float, high: float, min_effect: float) -> str:
    if reject:
        return DIFFERS
    if -min_effect < low and high < min_effect:
        return NO_PRACTICAL_DIFFERENCE
    return UNDECIDED
