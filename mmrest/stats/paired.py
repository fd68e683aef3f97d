"""Paired differences by seed: the paired t-test every comparison of a stage rests on.

Two points ran the same ordered seed list, so a comparison is two aligned arrays, treatment and
reference, values in seed-list order and NaN for a failed trial. The treatment's length is the
comparison's seed count; a longer reference is cut to it. A seed where either side failed is
dropped. The test is `scipy.stats.ttest_rel` with the interval it returns.

Zero variance, defined here because the t statistic is 0/0 or d/0: when every difference equals
d (at least two of them), the sd is 0, the interval is [d, d], and p is 0 for d != 0 (the points
differ on every seed by the same amount) and 1 for d = 0 (identical results are no evidence of a
difference).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy.stats import ttest_rel


@dataclass(frozen=True)
class PairedDifference:
    """Treatment minus reference over the seeds both ran."""

    n: int  # pairs with both values present
    mean: float  # NaN with no pair
    sd: float  # sample sd of the differences (n - 1); NaN with fewer than two pairs
    ci_low: float  # the t interval at the requested confidence; NaN with fewer than two pairs
    ci_high: float
    p: float  # two-sided paired t-test; NaN with fewer than two pairs


class Tests(NamedTuple):
    """Paired t-tests, one per entry of same-shaped arrays ((rows,) here, (families, comparisons)
    in mmrest.stats.family), read-only."""

    n: np.ndarray
    mean: np.ndarray
    sd: np.ndarray
    low: np.ndarray
    high: np.ndarray
    p: np.ndarray

    def difference(self, at: int | tuple[int, ...]) -> PairedDifference:
        return PairedDifference(
            n=int(self.n[at]), mean=float(self.mean[at]), sd=float(self.sd[at]),
            ci_low=float(self.low[at]), ci_high=float(self.high[at]), p=float(self.p[at]),
        )


def paired_difference(treatment, reference, *, confidence: float = 0.95) -> PairedDifference:
    """The paired t-test of treatment against reference over the treatment's seeds."""
    t, r = aligned(treatment, reference)
    return row_tests(t[np.newaxis], r[np.newaxis], confidence=confidence).difference(0)


def aligned(treatment, reference) -> tuple[np.ndarray, np.ndarray]:
    """Both sides as float arrays over the treatment's seeds; refuses a shorter reference."""
    t = np.asarray(treatment, dtype=np.float64)
    r = np.asarray(reference, dtype=np.float64)
    if t.ndim != 1 or r.ndim != 1:
        raise ValueError(f"a comparison needs two 1-D arrays of per-seed values; got shapes {t.shape} and {r.shape}")
    if r.size < t.size:
        raise ValueError(
            f"mismatched lengths: the reference has {r.size} seeds, fewer than the treatment's {t.size}; "
            "every seed of the treatment needs the reference's value for the same seed"
        )
    return t, r[: t.size]


def row_tests(treatment: np.ndarray, reference: np.ndarray, *, confidence: float) -> Tests:
    """Paired t-tests of each row of two (rows, seeds) arrays, NaN pairs dropped per row."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1); got {confidence}")
    t = np.ascontiguousarray(treatment, dtype=np.float64)
    r = np.ascontiguousarray(reference, dtype=np.float64)
    return _row_tests(t.tobytes(), r.tobytes(), t.shape, float(confidence))


# Memoised: racing recomputes every look of every comparison each round (it must be a pure
# function of the stored values), and a look's tests depend only on its own prefix of seeds. A race
# needs a few dozen entries; the bound keeps the keys (the data, a few kB each) to a few MB.
@functools.lru_cache(maxsize=1024)
def _row_tests(t_bytes: bytes, r_bytes: bytes, shape: tuple[int, int], confidence: float) -> Tests:
    tested = _tested(t_bytes, r_bytes, shape)
    low = np.where(tested.constant, tested.mean, np.nan)  # the zero-variance definition
    high = low.copy()
    for rows, res in tested.results:
        ci = res.confidence_interval(confidence)
        low[rows] = ci.low
        high[rows] = ci.high
    for a in (low, high):
        a.flags.writeable = False
    return Tests(n=tested.n, mean=tested.mean, sd=tested.sd, low=low, high=high, p=tested.p)


class _Tested(NamedTuple):
    n: np.ndarray
    mean: np.ndarray
    sd: np.ndarray
    p: np.ndarray
    constant: np.ndarray  # rows whose differences are all equal (at least two of them)
    results: tuple  # (row indices, scipy TtestResult) for the rows scipy tested


@functools.lru_cache(maxsize=512)
def _tested(t_bytes: bytes, r_bytes: bytes, shape: tuple[int, int]) -> _Tested:
    t = np.frombuffer(t_bytes).reshape(shape)
    r = np.frombuffer(r_bytes).reshape(shape)
    d = t - r
    present = ~np.isnan(d)
    n = present.sum(axis=1)
    with np.errstate(invalid="ignore"):  # a row with no pair: 0 / 0 is its NaN mean
        mean = np.where(present, d, 0.0).sum(axis=1) / n
    constant = (n >= 2) & (np.max(d, axis=1, initial=-np.inf, where=present)
                           == np.min(d, axis=1, initial=np.inf, where=present))
    sd = np.where(constant, 0.0, np.nan)
    p = np.where(constant, np.where(mean != 0.0, 0.0, 1.0), np.nan)  # the zero-variance definition
    varied = (n >= 2) & ~constant
    complete = np.flatnonzero(varied & (n == shape[1]))
    groups = [(complete, t[complete], r[complete])] if complete.size else []
    groups += [(np.array([i]), t[i, present[i]][np.newaxis], r[i, present[i]][np.newaxis])
               for i in np.flatnonzero(varied & (n < shape[1]))]
    results = []
    for rows, tg, rg in groups:
        res = ttest_rel(tg, rg, axis=1)
        sd[rows] = np.std(tg - rg, axis=1, ddof=1)
        p[rows] = res.pvalue
        results.append((rows, res))
    for a in (n, mean, sd, p, constant):
        a.flags.writeable = False
    return _Tested(n=n, mean=mean, sd=sd, p=p, constant=constant, results=tuple(results))
