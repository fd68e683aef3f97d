"""Verdicts for a family of paired comparisons: per-look tests that borrow the noise estimate of
their group, sequential p-values, Holm, and the intervals the verdicts rest on
(docs/statistics.md defines each step and says why).

Data. Points are runs of one configuration over the seed list (values in seed-list order, NaN
for a failed trial); a comparison is (treatment, reference), paired by seed, over the seeds both
ran (its seed count n_c is the shorter run's length). Comparisons belong to pooling groups (a
study stage). `judge_comparisons` takes points and comparisons; `judge_family` takes independent
(treatment, reference) arrays and borrows nothing.

Per look n (n = start .. n_c of the schedule, level a(n)), each comparison is tested on its
first n seeds by a paired t-test in one of two forms:

- own: mean and sd of its n_c differences, df = n_c - 1 (scipy.stats.ttest_rel's test);
- pooled: the same mean, with the residual variance s^2 of the seed-blocked two-way model
  y[p, i] = mu_p + b_i + e over its group's points that ran all n seeds (df = (k - 1)(n - 1)
  for k points), se = sqrt(2 s^2 / n_c).

The pooled form is used when it is available and the comparison's own variance of differences
is no larger than the model's, 2 s^2: a comparison is never judged as less noisy than its own
seeds say (the guard; a comparison with more spread than its group keeps its own test). Constant
differences (no spread at all) keep the own test's exact definition: p = 0 for d != 0, p = 1 for
d = 0, interval [d, d].

Across looks: P* = min over looks of min(1, alpha p_n / a(n)), a valid p-value by the union bound
whatever the looks' correlation and whenever racing stopped. Holm
(`statsmodels.stats.multitest.multipletests`) runs across the family on the P* values; h_c is a
comparison's Holm level.

Intervals, each the intersection over looks of the looks' t intervals:
- corrected: two-sided at level a(n) h_c / alpha. It excludes 0 exactly when Holm rejects;
- equivalence: each side one-sided at a(n), i.e. two-sided at 2 a(n) (the TOST interval). A
  comparison whose true difference is at least min_effect lands inside (-min_effect,
  min_effect) with probability at most sum_n a(n) = alpha;
- drawn (`adjusted`): two-sided at a(n), covering the true difference with probability at least
  1 - alpha across the looks: the interval the report draws.

Verdicts: *differs* when Holm rejects; otherwise *no practical difference* when the equivalence
interval lies inside (-min_effect, +min_effect); otherwise *undecided*. The family-wise chance of
any false *differs* is at most alpha; each *no practical difference* is wrong with probability at
most alpha (a per-comparison budget, docs/statistics.md says why).
"""
from __future__ import annotations

import gc
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import stdtr, stdtrit
from statsmodels.stats.multitest import multipletests

from mmrest.stats.paired import PairedDifference, Tests
from mmrest.stats.schedule import Schedule

DIFFERS = "differs"
NO_PRACTICAL_DIFFERENCE = "no practical difference"
UNDECIDED = "undecided"
VERDICTS = (DIFFERS, NO_PRACTICAL_DIFFERENCE, UNDECIDED)
OWN, POOLED = "own", "pooled"  # which form of the paired t-test a look used


@dataclass(frozen=True)
class Holm:
    """Holm's decisions on a family of p-values, in the family's order."""

    reject: np.ndarray  # bool
    p_adjusted: np.ndarray
    levels: np.ndarray  # h_c of the module docstring


@dataclass(frozen=True)
class Judgement:
    """One comparison of a family."""

    difference: PairedDifference  # own paired t-test over all the comparison's seeds, at 1 - alpha
    p_sequential: float  # P*: valid across the looks, before the family's correction
    p_holm: float  # P* after Holm across the family
    corrected_low: float  # the corrected interval: excludes 0 exactly when the verdict is differs
    corrected_high: float
    adjusted_low: float  # the looks' intervals at a(n) intersected: 1 - alpha across the looks (drawn)
    adjusted_high: float
    equivalence_low: float  # the TOST interval across the looks: decides no practical difference
    equivalence_high: float
    level: float  # h_c, the comparison's Holm level
    test: str  # OWN or POOLED: the form of the test at the comparison's last look
    se: float  # its standard error there (0 for constant differences)
    df: float  # its degrees of freedom there
    verdict: str


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


def judge_comparisons(
    points: Mapping[Hashable, Sequence[float]], comparisons: Sequence[tuple[Hashable, Hashable]], *,
    schedule: Schedule, min_effect: float, groups: Sequence[Hashable] | None = None,
) -> list[Judgement]:
    """The verdict of each (treatment, reference) comparison of `points`, Holm-corrected across
    all of them; comparisons of one group (default: all) borrow the noise estimate of its points."""
    keys = list(dict.fromkeys(k for pair in comparisons for k in pair))
    index = {k: i for i, k in enumerate(keys)}
    runs = [_run(f"point {k!r}", points[k]) for k in keys]
    pairs = np.array([[index[t], index[r]] for t, r in comparisons], dtype=np.int64).reshape(-1, 2)
    labels = list(groups) if groups is not None else [0] * len(pairs)
    if len(labels) != len(pairs):
        raise ValueError(f"groups names {len(labels)} comparisons' groups, but there are {len(pairs)} comparisons")
    group_of = {g: i for i, g in enumerate(dict.fromkeys(labels))}
    data = FamilyData.of_runs(runs, pairs, np.array([group_of[g] for g in labels], dtype=np.int64))
    return data.judge(schedule=schedule, min_effect=min_effect)[0]


def judge_family(pairs: Sequence[tuple[np.ndarray, np.ndarray]], *, schedule: Schedule, min_effect: float) -> list[Judgement]:
    """The verdict of each independent (treatment, reference) comparison, Holm-corrected across
    all of them; each is tested on its own differences (independent pairs have nothing to pool).
    A longer reference is cut to the treatment's seeds; a shorter one is refused."""
    runs, index = [], []
    for t, r in pairs:
        t, r = _run("a treatment", t), _run("a reference", r)
        if r.size < t.size:
            raise ValueError(
                f"mismatched lengths: the reference has {r.size} seeds, fewer than the treatment's {t.size}; "
                "every seed of the treatment needs the reference's value for the same seed"
            )
        index.append((len(runs), len(runs) + 1))
        runs += [t, r[: t.size]]
    data = FamilyData.of_runs(runs, np.array(index, dtype=np.int64).reshape(-1, 2),
                              np.arange(len(index), dtype=np.int64), pool=False)
    return data.judge(schedule=schedule, min_effect=min_effect)[0]


@dataclass(frozen=True)
class FamilyData:
    """Families of the same shape, judged independently: `values` (F, P, S) per family, point
    and seed (NaN beyond a point's run and for a failed trial), `lengths` (F, P) each run's
    length, `pairs` (C, 2) each comparison's treatment and reference point, `groups` (C,) its
    pooling group. The engine and the report judge one family; the planner's simulation many.
    `pool` False tests every comparison on its own differences."""

    values: np.ndarray
    lengths: np.ndarray
    pairs: np.ndarray
    groups: np.ndarray
    pool: bool = True

    @classmethod
    def of_runs(cls, runs: list[np.ndarray], pairs: np.ndarray, groups: np.ndarray, *, pool: bool = True) -> FamilyData:
        """One family from its points' runs (1-D arrays, each as long as the point ran)."""
        width = max((r.size for r in runs), default=0)
        values = np.full((1, len(runs), width), np.nan)
        for i, r in enumerate(runs):
            values[0, i, : r.size] = r
        lengths = np.array([[r.size for r in runs]], dtype=np.int64).reshape(1, len(runs))
        return cls(values=values, lengths=lengths, pairs=pairs, groups=groups, pool=pool)

    def differs(self, *, schedule: Schedule) -> np.ndarray:
        """(F, C): which comparisons Holm rejects, without the intervals (the planner's question)."""
        _, looks = self._looks(schedule)
        return self._holm(_sequential_p(looks, schedule.alpha), schedule.alpha)[2]

    def decide(self, *, schedule: Schedule, min_effect: float) -> Decisions:
        """Every family's decisions, as arrays (F, C)."""
        if not (np.isfinite(min_effect) and min_effect >= 0):
            raise ValueError(f"min_effect must be a finite number >= 0; got {min_effect}")
        n_c, looks = self._looks(schedule)
        p_star = _sequential_p(looks, schedule.alpha)
        p_holm, level, reject = self._holm(p_star, schedule.alpha)
        levels = np.broadcast_to(looks.levels, looks.p.shape)
        corrected = _intersection(looks, levels * (level / schedule.alpha)[..., np.newaxis], two_sided=True)
        adjusted = _intersection(looks, levels, two_sided=True)
        equivalence = _intersection(looks, levels, two_sided=False)
        inside = (-min_effect < equivalence[0]) & (equivalence[1] < min_effect)
        verdict = np.where(reject, DIFFERS, np.where(inside, NO_PRACTICAL_DIFFERENCE, UNDECIDED))
        pooled, se, df = _last_look(looks)
        return Decisions(n_c=n_c, p_sequential=p_star, p_holm=p_holm, level=level, corrected=corrected,
                         adjusted=adjusted, equivalence=equivalence, verdict=verdict, pooled=pooled, se=se, df=df)

    def _looks(self, schedule: Schedule) -> tuple[np.ndarray, _Looks]:
        n_c = np.minimum(self.lengths[:, self.pairs[:, 0]], self.lengths[:, self.pairs[:, 1]])  # (F, C)
        if n_c.size and n_c.max() > schedule.max:
            raise ValueError(f"a comparison has {int(n_c.max())} seeds, more than the schedule's max of {schedule.max}")
        return n_c, _looks(self, n_c, schedule)

    @staticmethod
    def _holm(p_star: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Holm within each family: adjusted p-values, levels h_c and decisions, each (F, C)."""
        p_holm, level = np.empty(p_star.shape), np.empty(p_star.shape)
        reject = np.zeros(p_star.shape, dtype=bool)
        for f in range(p_star.shape[0]):
            decisions = holm(p_star[f], alpha=alpha)
            p_holm[f], level[f], reject[f] = decisions.p_adjusted, decisions.levels, decisions.reject
        return p_holm, level, reject

    def judge(self, *, schedule: Schedule, min_effect: float) -> list[list[Judgement]]:
        """Per family, the judgement of each comparison."""
        d = self.decide(schedule=schedule, min_effect=min_effect)
        plain = _plain(self, d.n_c, 1.0 - schedule.alpha)
        return [[
            Judgement(
                difference=plain.difference((f, c)), p_sequential=float(d.p_sequential[f, c]),
                p_holm=float(d.p_holm[f, c]),
                corrected_low=float(d.corrected[0][f, c]), corrected_high=float(d.corrected[1][f, c]),
                adjusted_low=float(d.adjusted[0][f, c]), adjusted_high=float(d.adjusted[1][f, c]),
                equivalence_low=float(d.equivalence[0][f, c]), equivalence_high=float(d.equivalence[1][f, c]),
                level=float(d.level[f, c]), test=POOLED if d.pooled[f, c] else OWN, se=float(d.se[f, c]),
                df=float(d.df[f, c]),
                verdict=str(d.verdict[f, c]),
            )
            for c in range(self.pairs.shape[0])
        ] for f in range(self.values.shape[0])]


@dataclass(frozen=True)
class Decisions:
    """A batch of families' decisions, arrays (F, C); intervals as (low, high) pairs of arrays."""

    n_c: np.ndarray  # seeds each comparison ran (both sides)
    p_sequential: np.ndarray
    p_holm: np.ndarray
    level: np.ndarray
    corrected: tuple[np.ndarray, np.ndarray]
    adjusted: tuple[np.ndarray, np.ndarray]
    equivalence: tuple[np.ndarray, np.ndarray]
    verdict: np.ndarray  # of VERDICTS
    pooled: np.ndarray  # the last look's test was the pooled form
    se: np.ndarray  # its standard error
    df: np.ndarray  # its degrees of freedom


@dataclass(frozen=True)
class _Looks:
    """Each comparison's test at each look: arrays (F, C, looks), NaN where it has no test."""

    p: np.ndarray
    center: np.ndarray
    se: np.ndarray  # 0 for constant differences
    df: np.ndarray
    pooled: np.ndarray  # bool
    levels: np.ndarray  # a(n) of each look, shape (looks,)


@dataclass(frozen=True)
class _Test:
    """Every comparison's paired t-test on the first n seeds, arrays (F, C)."""

    pairs: np.ndarray
    mean: np.ndarray
    sd: np.ndarray  # of the differences (n - 1); 0 for constant differences
    se: np.ndarray
    df: np.ndarray
    p: np.ndarray
    pooled: np.ndarray


def _looks(data: FamilyData, n_c: np.ndarray, schedule: Schedule) -> _Looks:
    shape = (*n_c.shape, len(schedule.looks))
    p, center, se, df = (np.full(shape, np.nan) for _ in range(4))
    pooled = np.zeros(shape, dtype=bool)
    for k, n in enumerate(schedule.looks):
        reached = n_c >= n
        if schedule.levels[k] == 0.0 or not reached.any():
            continue
        test = _test_at(data, n)
        use = reached & (test.pairs >= 2)
        for out, value in ((p, test.p), (center, test.mean), (se, test.se), (df, test.df), (pooled, test.pooled)):
            out[..., k] = np.where(use, value, out[..., k])
    return _Looks(p=p, center=center, se=se, df=df, pooled=pooled, levels=np.asarray(schedule.levels))


def _own_test(data: FamilyData, n: int) -> _Test:
    """Every comparison's own paired t-test on its first n seeds: scipy.stats.ttest_rel's test
    (t = mean / (sd / sqrt(pairs)), df = pairs - 1, p from scipy.special.stdtr), with the
    constant-differences definition of the module docstring."""
    d = data.values[:, data.pairs[:, 0], :n] - data.values[:, data.pairs[:, 1], :n]  # (F, C, n)
    present = np.isfinite(d)
    pairs = present.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(present, d, 0.0).sum(axis=-1) / pairs
        sd = np.sqrt(np.where(present, (d - mean[..., np.newaxis]) ** 2, 0.0).sum(axis=-1) / (pairs - 1))
        constant = (pairs >= 2) & (np.max(d, axis=-1, initial=-np.inf, where=present)
                                   == np.min(d, axis=-1, initial=np.inf, where=present))
        sd = np.where(constant, 0.0, np.where(pairs >= 2, sd, np.nan))
        se = sd / np.sqrt(pairs)
        df = pairs - 1.0
        p = np.where(constant, np.where(mean != 0.0, 0.0, 1.0), 2.0 * stdtr(df, -np.abs(mean / se)))
    return _Test(pairs=pairs, mean=mean, sd=sd, se=se, df=df, p=p, pooled=np.zeros(pairs.shape, dtype=bool))


def _test_at(data: FamilyData, n: int) -> _Test:
    """Every comparison's test at look n: the pooled form where the guard allows, else its own."""
    own = _own_test(data, n)
    if not data.pool:
        return own
    variance, pool_df = _group_variance(data, n)  # (F, C): the model's s^2 of each comparison's group
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled = (pool_df > 0) & (own.se > 0) & (own.sd ** 2 <= 2.0 * variance)
        se = np.where(pooled, np.sqrt(2.0 * variance / own.pairs), own.se)
        df = np.where(pooled, pool_df, own.df)
        p = np.where(pooled, 2.0 * stdtr(df, -np.abs(own.mean / se)), own.p)
    return _Test(pairs=own.pairs, mean=own.mean, sd=own.sd, se=se, df=df, p=p, pooled=pooled)


def _group_variance(data: FamilyData, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per comparison, the residual variance and its degrees of freedom of the seed-blocked
    two-way model over its group's points that ran all of the first n seeds (NaN and 0 where
    fewer than two did). The fit is the balanced two-way layout's: residuals y - point mean - seed
    mean + grand mean, df (k - 1)(n - 1) (tests/stats/test_family.py checks it against
    statsmodels' OLS)."""
    variance = np.full((data.values.shape[0], data.pairs.shape[0]), np.nan)
    dof = np.zeros(variance.shape)
    for g in np.unique(data.groups):
        members = np.flatnonzero(data.groups == g)
        points = np.unique(data.pairs[members])
        y = data.values[:, points, :n]  # (F, P_g, n)
        complete = (data.lengths[:, points] >= n) & np.isfinite(y).all(axis=-1)  # (F, P_g)
        k = complete.sum(axis=-1)
        rows = np.where(complete[..., np.newaxis], y, 0.0)
        point_mean = rows.sum(axis=-1) / n
        seed_mean = rows.sum(axis=1) / np.maximum(k, 1)[:, np.newaxis]
        grand = point_mean.sum(axis=-1) / np.maximum(k, 1)
        residual = rows - point_mean[..., np.newaxis] - seed_mean[:, np.newaxis, :] + grand[:, np.newaxis, np.newaxis]
        ss = np.where(complete[..., np.newaxis], residual ** 2, 0.0).sum(axis=(1, 2))
        df_g = (k - 1.0) * (n - 1.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            variance[:, members] = np.where(df_g > 0, ss / df_g, np.nan)[:, np.newaxis]
        dof[:, members] = np.maximum(df_g, 0.0)[:, np.newaxis]
    return variance, dof


def _sequential_p(looks: _Looks, alpha: float) -> np.ndarray:
    """P* of each comparison; 1 for one that has not reached a look."""
    with np.errstate(invalid="ignore"):
        scaled = np.minimum(1.0, alpha * looks.p / looks.levels)
    return np.fmin.reduce(scaled, axis=-1, initial=1.0)


def _intersection(looks: _Looks, levels: np.ndarray, *, two_sided: bool) -> tuple[np.ndarray, np.ndarray]:
    """Running intersection of each comparison's look intervals, look n at `levels` (the looks'
    shape): two-sided at the level, or each side one-sided at it. The t quantiles come from
    `scipy.special.stdtrit`, which scipy's own t interval calls."""
    usable = ~np.isnan(looks.p)
    with np.errstate(invalid="ignore", divide="ignore"):
        tail = levels / 2.0 if two_sided else levels
        half = np.where(looks.se == 0.0, 0.0, stdtrit(looks.df, 1.0 - tail) * looks.se)
    low = np.max(looks.center - half, axis=-1, initial=-np.inf, where=usable)
    high = np.min(looks.center + half, axis=-1, initial=np.inf, where=usable)
    empty = low > high
    # Looks whose intervals do not overlap (a miss): the gap between them, which still excludes 0.
    return np.where(empty, high, low), np.where(empty, low, high)


def _last_look(looks: _Looks) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per comparison, at its last look: whether the test was pooled, its se and its df."""
    usable = ~np.isnan(looks.p)
    some = usable.any(axis=-1)
    if usable.shape[-1] == 0:  # a schedule without looks (a single seed): no test at all
        return np.zeros(some.shape, dtype=bool), np.full(some.shape, np.nan), np.full(some.shape, np.nan)
    last = (usable.shape[-1] - 1 - np.argmax(usable[..., ::-1], axis=-1))[..., np.newaxis]

    def at_last(a: np.ndarray, missing):
        return np.where(some, np.take_along_axis(a, last, axis=-1)[..., 0], missing)

    return at_last(looks.pooled, False), at_last(looks.se, np.nan), at_last(looks.df, np.nan)


def _plain(data: FamilyData, n_c: np.ndarray, confidence: float) -> Tests:
    """The own test over each comparison's seeds, with the t interval at `confidence`."""
    n, mean, sd, low, high, p = (np.full(n_c.shape, np.nan) for _ in range(6))
    for seeds in np.unique(n_c):
        rows = n_c == seeds
        own = _own_test(data, int(seeds))
        with np.errstate(invalid="ignore"):
            half = np.where(own.se == 0.0, 0.0, stdtrit(own.df, 0.5 + confidence / 2.0) * own.se)
        for out, value in ((n, own.pairs), (mean, own.mean), (sd, own.sd), (low, own.mean - half),
                           (high, own.mean + half), (p, own.p)):
            out[rows] = value[rows]
    return Tests(n=n, mean=mean, sd=sd, low=low, high=high, p=p)


def _run(name: str, values) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1:
        raise ValueError(f"{name}: need a 1-D array of per-seed values; got shape {v.shape}")
    return v
