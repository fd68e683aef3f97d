"""A family's verdicts: Holm against statsmodels, P* by hand, the interval-verdict identity, the
pooled test against statsmodels' OLS, equivalence against statsmodels' TOST."""
import gc

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

import statsmodels.api as sm
from statsmodels.stats.weightstats import ttost_paired

from mmrest.stats import (
    DIFFERS, NO_PRACTICAL_DIFFERENCE, UNDECIDED, Schedule, holm, judge_comparisons, judge_family,
)
from mmrest.stats.family import OWN, POOLED


def test_holm_decides_as_statsmodels_and_gives_each_its_level():
    p = [0.01, 0.04, 0.03, 0.005]  # sorted .005 .01 .03 .04 against .05/4 .05/3 .05/2 .05/1
    result = holm(p, alpha=0.05)
    reject, p_adjusted, _, _ = multipletests(p, alpha=0.05, method="holm")
    assert result.reject.tolist() == reject.tolist() == [True, False, False, True]
    np.testing.assert_allclose(result.p_adjusted, p_adjusted)
    # Rejected ranks 1 and 2 keep their own steps; the kept ones share the first kept step (rank 3).
    np.testing.assert_allclose(result.levels, [0.05 / 3, 0.05 / 2, 0.05 / 2, 0.05 / 4])


def test_holm_counts_a_nan_p_value_as_one():
    assert holm([0.001, np.nan]).p_adjusted[1] == 1.0


def test_holm_leaves_the_garbage_collector_as_it_found_it():
    holm([0.01, 0.2])
    assert gc.get_freeze_count() == 0
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        holm([0.01, 0.2])
        # Not unfrozen (that reads 0) and nothing frozen on top. Not "equal": a frozen object
        # that another thread of this process frees during the call leaves the count.
        assert 0 < gc.get_freeze_count() <= frozen
    finally:
        gc.unfreeze()


def test_sequential_p_is_the_smallest_scaled_look_by_hand():
    schedule = Schedule(start=3, max=5, alpha=0.05, interim_share=0.2)
    t = np.array([1.2, 0.4, 1.9, 0.1, 1.5])
    r = np.array([0.1, 0.3, 0.2, 0.4, 0.2])
    (j,) = judge_family([(t, r)], schedule=schedule, min_effect=0.1)
    scaled = [min(1.0, 0.05 * stats.ttest_rel(t[:n], r[:n]).pvalue / schedule.level(n)) for n in (3, 4, 5)]
    assert j.p_sequential == pytest.approx(min(scaled))
    assert j.p_holm == pytest.approx(j.p_sequential)  # a family of one


def test_one_look_gives_scipys_interval_at_the_holm_level():
    rng = np.random.default_rng(7)
    pairs = [(rng.normal(effect, 1, 8), rng.normal(0, 1, 8)) for effect in (0.0, 0.3, 2.5, 3.0)]
    judgements = judge_family(pairs, schedule=Schedule(start=8, max=8), min_effect=0.5)
    for (t, r), j in zip(pairs, judgements):
        ci = stats.ttest_rel(t, r).confidence_interval(1 - j.level)
        assert (j.corrected_low, j.corrected_high) == pytest.approx((ci.low, ci.high))
        plain = stats.ttest_rel(t, r)
        assert (j.difference.p, j.difference.ci_low) == pytest.approx(
            (plain.pvalue, plain.confidence_interval(0.95).low))


def _intersection_by_loop(t, r, schedule, holm_level):
    """Oracle: scipy's interval at each look's corrected level, intersected in a plain loop."""
    lows, highs = [], []
    for n in schedule.looks:
        if n <= t.size:
            ci = stats.ttest_rel(t[:n], r[:n]).confidence_interval(1 - schedule.level(n) * holm_level / schedule.alpha)
            lows.append(ci.low)
            highs.append(ci.high)
    return max(lows), min(highs)


def test_corrected_and_adjusted_intervals_match_a_loop_over_looks():
    rng = np.random.default_rng(8)
    schedule = Schedule(start=3, max=9)
    pairs = [(rng.normal(effect, 1, n), rng.normal(0, 1, 9)) for effect, n in [(0, 9), (1, 6), (3, 9), (5, 4)]]
    for (t, r), j in zip(pairs, judge_family(pairs, schedule=schedule, min_effect=0.5)):
        assert (j.corrected_low, j.corrected_high) == pytest.approx(_intersection_by_loop(t, r[: t.size], schedule, j.level))
        assert (j.adjusted_low, j.adjusted_high) == pytest.approx(_intersection_by_loop(t, r[: t.size], schedule, 0.05))


def test_looks_that_disagree_leave_the_gap_between_them():
    # Three seeds 10 apart, then seventeen with no difference: the first look's interval lies far
    # above the last one's, so they do not overlap.
    t = np.concatenate([[10.0, 10.001, 10.002], np.zeros(17)])
    r = np.concatenate([np.zeros(3), np.linspace(-0.5, 0.5, 17)])
    schedule = Schedule(start=3, max=20)
    (j,) = judge_family([(t, r)], schedule=schedule, min_effect=1.0)
    first = stats.ttest_rel(t[:3], r[:3]).confidence_interval(1 - schedule.level(3))
    last = stats.ttest_rel(t, r).confidence_interval(1 - schedule.level(20))
    assert last.high < first.low
    assert j.verdict == DIFFERS
    highest_low, lowest_high = _intersection_by_loop(t, r, schedule, 0.05)  # a family of one: h = alpha
    assert (j.corrected_low, j.corrected_high) == pytest.approx((lowest_high, highest_low))
    assert 0 < j.corrected_low < j.corrected_high


def test_the_corrected_interval_excludes_zero_exactly_when_holm_rejects():
    rng = np.random.default_rng(11)
    schedule = Schedule(start=3, max=12)
    checked = {True: 0, False: 0}
    for _ in range(40):
        lengths = rng.integers(3, 13, size=10)
        pairs = [(rng.normal(effect, 1, n), rng.normal(0, 1, 12)) for effect, n in zip(rng.choice([0, 1, 3], 10), lengths)]
        for j in judge_family(pairs, schedule=schedule, min_effect=0.5):
            excludes = j.corrected_low > 0 or j.corrected_high < 0
            assert excludes == (j.verdict == DIFFERS) == (j.p_holm <= 0.05)
            checked[excludes] += 1
    assert min(checked.values()) > 20  # both sides of the identity were exercised


def test_equivalence_at_one_look_is_statsmodels_tost_at_alpha():
    rng = np.random.default_rng(21)
    schedule, delta = Schedule(start=8, max=8), 0.6
    pairs = [(rng.normal(effect, 0.3, 8), rng.normal(0, 0.3, 8)) for effect in rng.uniform(-1.0, 1.0, 300)]
    judged = {NO_PRACTICAL_DIFFERENCE: 0, "other": 0}
    for (t, r), j in zip(pairs, judge_family(pairs, schedule=schedule, min_effect=delta)):
        if j.verdict == DIFFERS:
            continue
        tost_p = ttost_paired(t, r, -delta, delta)[0]
        assert (j.verdict == NO_PRACTICAL_DIFFERENCE) == (tost_p < 0.05)
        judged[NO_PRACTICAL_DIFFERENCE if tost_p < 0.05 else "other"] += 1
    assert min(judged.values()) > 30  # both verdicts were exercised


def test_equivalence_needs_the_equivalence_interval_inside_the_band():
    rng = np.random.default_rng(5)
    base = rng.normal(0, 1, 20)
    wobble = rng.normal(0, 0.01, 20)
    tight = base + wobble - wobble.mean()  # same results to within 0.01, no mean difference
    noisy = base + rng.normal(0, 1.0, 20)
    shifted = base + 0.5 + rng.normal(0, 0.01, 20)  # a real but small difference
    schedule = Schedule(start=20, max=20)
    verdicts = [j.verdict for j in judge_family([(tight, base), (noisy, base), (shifted, base)],
                                                schedule=schedule, min_effect=0.1)]
    assert verdicts == [NO_PRACTICAL_DIFFERENCE, UNDECIDED, DIFFERS]
    # A band of 0 admits no equivalence.
    (j,) = judge_family([(tight, base)], schedule=schedule, min_effect=0.0)
    assert j.verdict == UNDECIDED


def test_more_seeds_never_undo_differs():
    rng = np.random.default_rng(2)
    schedule = Schedule(start=3, max=15)
    for _ in range(20):
        effects = rng.choice([0.0, 1.0, 2.0, 4.0], 8)
        treatment = effects[:, None] + rng.normal(size=(8, 15))
        base = rng.normal(size=15)
        seen = np.zeros(8, dtype=bool)
        for n in range(3, 16):
            verdicts = [j.verdict for j in judge_family([(t[:n], base) for t in treatment], schedule=schedule, min_effect=0.5)]
            now = np.array([v == DIFFERS for v in verdicts])
            assert not (seen & ~now).any()
            seen |= now
        assert seen.any()  # a differs appeared, so there was something to undo


def test_a_comparison_before_its_first_look_is_undecided():
    (j,) = judge_family([([1.0, 2.0], [0.0, 0.0, 0.0])], schedule=Schedule(start=3, max=5), min_effect=5.0)
    assert (j.p_sequential, j.corrected_low, j.corrected_high, j.verdict) == (1.0, -np.inf, np.inf, UNDECIDED)
    assert j.difference.n == 2


def test_an_empty_family_has_no_judgements():
    assert judge_family([], schedule=Schedule(start=3, max=5), min_effect=1.0) == []


@pytest.mark.parametrize("pairs, min_effect, message", [
    ([([1.0, 2.0, 3.0], [1.0, 2.0])], 1.0, "mismatched lengths"),
    ([(np.zeros(6), np.zeros(6))], 1.0, "more than the schedule's max of 5"),
    ([(np.zeros(4), np.zeros(4))], -1.0, "min_effect"),
])
def test_bad_families_are_refused(pairs, min_effect, message):
    with pytest.raises(ValueError, match=message):
        judge_family(pairs, schedule=Schedule(start=3, max=5), min_effect=min_effect)


def _two_way_residual(y: np.ndarray) -> tuple[float, float]:
    """Oracle: statsmodels' OLS of y[point, seed] on point and seed dummies: (residual MS, df)."""
    points, seeds = y.shape
    design = np.column_stack([np.ones(y.size)] +
                             [np.repeat(np.arange(points) == p, seeds) for p in range(1, points)] +
                             [np.tile(np.arange(seeds) == s, points) for s in range(1, seeds)]).astype(float)
    fit = sm.OLS(y.reshape(-1), design).fit()
    return float(fit.scale), float(fit.df_resid)


def _pooled_family(rng, points=6, seeds=5, spread=None):
    """A base and points-1 treatments sharing a seed effect; `spread` per treatment's noise sd."""
    seed_effect = rng.normal(0, 2, seeds)
    spread = spread or [1.0] * (points - 1)
    values = {"base": seed_effect + rng.normal(0, 1, seeds)}
    values |= {f"p{i}": seed_effect + rng.normal(0.3 * i, sd, seeds) for i, sd in enumerate(spread)}
    return values, [(f"p{i}", "base") for i in range(points - 1)]


def test_the_pooled_test_is_the_seed_blocked_models_contrast():
    rng = np.random.default_rng(3)
    for _ in range(20):
        values, comparisons = _pooled_family(rng)
        y = np.array([values[k] for k in ["base", *(t for t, _ in comparisons)]])
        variance, df = _two_way_residual(y)
        judged = judge_comparisons(values, comparisons, schedule=Schedule(start=5, max=5), min_effect=0.1)
        for (t, r), j in zip(comparisons, judged):
            d = values[t] - values[r]
            if j.test == POOLED:
                se = np.sqrt(2 * variance / d.size)
                assert (j.df, j.se) == pytest.approx((df, se))
                p = 2 * stats.t.sf(abs(d.mean() / se), df)  # the contrast's t-test in the model
                assert j.p_sequential == pytest.approx(p)
                assert d.var(ddof=1) <= 2 * variance  # the guard let it pool
            else:
                assert d.var(ddof=1) > 2 * variance and j.df == d.size - 1
                assert j.p_sequential == pytest.approx(stats.ttest_rel(values[t], values[r]).pvalue)


def test_a_comparison_noisier_than_its_group_keeps_its_own_test():
    rng = np.random.default_rng(4)
    seen = {OWN: 0, POOLED: 0}
    for _ in range(30):
        values, comparisons = _pooled_family(rng, spread=[1.0, 1.0, 1.0, 1.0, 6.0])
        judged = judge_comparisons(values, comparisons, schedule=Schedule(start=5, max=5), min_effect=0.1)
        noisy = judged[-1]
        y = np.array([values[k] for k in ["base", *(t for t, _ in comparisons)]])
        variance, _ = _two_way_residual(y)
        d = values["p4"] - values["base"]
        assert (noisy.test == OWN) == (d.var(ddof=1) > 2 * variance)
        seen[noisy.test] += 1
    assert seen[OWN] > seen[POOLED]  # six times noisier: mostly its own test


def test_points_missing_a_seed_leave_the_pool_but_keep_their_comparison():
    rng = np.random.default_rng(9)
    values, comparisons = _pooled_family(rng)
    values["p0"] = values["p0"].copy()
    values["p0"][2] = np.nan  # a failed trial
    y = np.array([values[k] for k in ["base", "p1", "p2", "p3", "p4"]])
    variance, df = _two_way_residual(y)
    judged = judge_comparisons(values, comparisons, schedule=Schedule(start=5, max=5), min_effect=0.1)
    assert judged[0].difference.n == 4
    pooled = [j for j in judged if j.test == POOLED]
    assert pooled and all(j.df == df for j in pooled)
    if judged[0].test == POOLED:
        assert judged[0].se == pytest.approx(np.sqrt(2 * variance / 4))


def test_constant_differences_keep_their_exact_definition_in_a_pool():
    rng = np.random.default_rng(10)
    values, comparisons = _pooled_family(rng)
    values["base"] = np.round(values["base"] * 64) / 64  # binary fractions: the shift below is exact
    values["same"] = values["base"].copy()  # a hyperparameter the setting never reads
    values["shifted"] = values["base"] + 0.25
    judged = judge_comparisons(values, [*comparisons, ("same", "base"), ("shifted", "base")],
                               schedule=Schedule(start=5, max=5), min_effect=0.1)
    same, shifted = judged[-2:]
    assert (same.test, same.p_sequential, same.equivalence_low, same.equivalence_high) == (OWN, 1.0, 0.0, 0.0)
    assert same.verdict == NO_PRACTICAL_DIFFERENCE
    assert (shifted.test, shifted.p_sequential, shifted.verdict) == (OWN, 0.0, DIFFERS)


def test_groups_pool_only_their_own_points():
    rng = np.random.default_rng(12)
    quiet, comparisons = _pooled_family(rng)
    loud = {f"loud-{k}": 10 * v for k, v in _pooled_family(rng)[0].items()}
    loud_comparisons = [(f"loud-{t}", f"loud-{r}") for t, r in comparisons]
    together = judge_comparisons({**quiet, **loud}, comparisons + loud_comparisons,
                                 schedule=Schedule(start=5, max=5), min_effect=0.1,
                                 groups=["quiet"] * 5 + ["loud"] * 5)
    alone = judge_comparisons(quiet, comparisons, schedule=Schedule(start=5, max=5), min_effect=0.1)
    for a, b in zip(together[:5], alone):
        assert (a.test, a.se, a.df) == (b.test, pytest.approx(b.se), b.df)
