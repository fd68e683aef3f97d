"""The report's judgements on hand-made tables whose every number can be worked out: which levels
differ from the base point, which make no practical difference, each curve's overall test, the
base point's band, the final values' comparisons, the racing budget and the seed planner."""
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from trial_tables import PAPER, facts, oat_stage, table, trial

from mmrest.report.build import build_report, comparisons_path, compute_report
from mmrest.stats import DEFAULT_MIN_EFFECT, DIFFERS, NO_PRACTICAL_DIFFERENCE, UNDECIDED, detectable_differences

SEEDS = (1, 2, 3, 4, 5)
# Seed effects shared by every point (a seed that is good for one point is good for all): pairing
# removes them, so the differences below are exact.
SEED_MAE = {1: 0.70, 2: 0.78, 3: 0.74, 4: 0.81, 5: 0.72}


def _rows():
    rows = []
    for s in SEEDS:
        rows.append(trial(varied="base", seed=s, valid={"mae": SEED_MAE[s]}))
        # xi = 10: 0.2 worse on every seed, plus a small seed-specific wobble.
        rows.append(trial(varied="xi", xi=10.0, seed=s, valid={"mae": SEED_MAE[s] + 0.2 + 0.001 * (s - 3)}))
        # alpha = 2: the base's numbers to 1e-4: no practical difference within min_effect 0.01.
        rows.append(trial(varied="alpha", alpha=2.0, seed=s, valid={"mae": SEED_MAE[s] + 1e-4 * (s % 2)}))
    return rows


@pytest.fixture(scope="module")
def case():
    trials = table(_rows())
    raw = facts([oat_stage(xi=[3.0, 10.0], alpha=[1.0, 2.0])], trials, seeds=SEEDS)
    return trials, raw, compute_report(trials, raw)


def test_a_planted_difference_differs_and_an_identical_level_makes_none(case):
    _, _, report = case
    v = report.verdicts
    xi = v.level("coarse", "xi", 10.0, "mae")
    diffs = np.array([0.2 + 0.001 * (s - 3) for s in SEEDS])
    assert xi.judgement.difference.mean == pytest.approx(diffs.mean())
    assert xi.judgement.difference.p == pytest.approx(stats.ttest_rel(diffs + 1, np.ones(5)).pvalue)
    assert xi.verdict == DIFFERS
    alpha = v.level("coarse", "alpha", 2.0, "mae")
    assert alpha.verdict == NO_PRACTICAL_DIFFERENCE
    assert -DEFAULT_MIN_EFFECT["mae"] < alpha.judgement.corrected_low < alpha.judgement.corrected_high < DEFAULT_MIN_EFFECT["mae"]
    # Metrics that never move (every other one is constant here) make no practical difference.
    assert v.level("coarse", "xi", 10.0, "acc7").verdict == NO_PRACTICAL_DIFFERENCE


def test_each_curve_gets_an_overall_test_and_its_largest_difference(case):
    _, _, report = case
    xi, alpha = report.verdicts.curve("xi", "mae"), report.verdicts.curve("alpha", "mae")
    assert xi.verdict == DIFFERS and xi.p_holm < 0.05 and xi.test.blocks == 5 and xi.test.levels == 2
    # Two levels: the repeated-measures F is the paired t squared.
    t = stats.ttest_rel([SEED_MAE[s] + 0.2 + 0.001 * (s - 3) for s in SEEDS], [SEED_MAE[s] for s in SEEDS]).statistic
    assert xi.test.statistic == pytest.approx(t**2)
    assert xi.effect.value == 10.0 and xi.effect.judgement.difference.mean == pytest.approx(0.2)
    assert alpha.verdict == NO_PRACTICAL_DIFFERENCE


def test_the_base_band_is_the_t_interval_of_its_mean(case):
    _, _, report = case
    band = report.verdicts.base["xi"]["valid_mae"]
    values = np.array([SEED_MAE[s] for s in SEEDS])
    half = stats.t.ppf(0.975, 4) * values.std(ddof=1) / math.sqrt(5)
    assert (band.mean, band.n) == (pytest.approx(values.mean()), 5)
    assert (band.low, band.high) == (pytest.approx(values.mean() - half), pytest.approx(values.mean() + half))


def test_final_values_are_compared_with_the_chosen_one(case):
    _, _, report = case
    candidates = {(c.param, c.value): c for c in report.verdicts.of("candidate", "mae")}
    xi = next(c for c in report.choices.items if c.param == "xi")
    assert xi.chosen == 3.0  # the base point's xi: 0.2 better
    assert candidates[("xi", 10.0)].reference == 3.0 and candidates[("xi", 10.0)].verdict == DIFFERS
    # alpha: 1 (the base, less spread over seeds) is chosen; 2 is indistinguishable from it.
    assert next(c for c in report.choices.items if c.param == "alpha").chosen == 1.0
    assert candidates[("alpha", 2.0)].verdict == NO_PRACTICAL_DIFFERENCE


def test_few_seeds_leave_a_small_difference_undecided():
    rows = [trial(varied="base", seed=s, valid={"mae": 0.75 + 0.02 * (s - 1.5)}) for s in (1, 2)]
    rows += [trial(varied="xi", xi=10.0, seed=s, valid={"mae": 0.76 + 0.02 * (1.5 - s)}) for s in (1, 2)]
    trials = table(rows)
    report = compute_report(trials, facts([oat_stage(xi=[3, 10])], trials))
    assert report.verdicts.level("coarse", "xi", 10.0, "mae").verdict == UNDECIDED


def test_the_seed_planner_uses_the_pooled_spread_of_the_differences(case):
    _, _, report = case
    plan = report.verdicts.planner["mae"]
    # Pooled over the four comparisons (two levels, two candidates), weighted by degrees of freedom.
    xi = np.array([0.001 * (s - 3) for s in SEEDS])
    alpha = np.array([1e-4 * (s % 2) for s in SEEDS])
    variances = [xi.var(ddof=1), alpha.var(ddof=1)] * 2
    sd = math.sqrt(sum(variances) / len(variances))
    # Two hypotheses: each candidate against the chosen (the base) is the same pair of points as
    # its level against the base, judged once.
    assert report.verdicts.family_size == 2
    expected = detectable_differences(sd, family_size=2, start=len(SEEDS), max_seeds=len(SEEDS))
    assert plan == pytest.approx(expected)


def test_the_racing_budget_counts_trials_against_every_point_at_max():
    rows = [trial(varied="base", seed=s) for s in (1, 2, 3, 4)]
    rows += [trial(varied="xi", xi=10.0, seed=s) for s in (1, 2, 3)]  # stopped after three seeds
    trials = table(rows)
    raw = facts([oat_stage(xi=[3, 10])], trials, seeds=(1, 2, 3, 4, 5, 6), racing=(3, 5))
    budget = compute_report(trials, raw).verdicts.budget
    assert (budget.ran, budget.fixed) == (7, 2 * 5)


def test_the_comparisons_csv_holds_every_metric(tmp_path, case):
    trials, raw, _ = case
    out = build_report(trials, raw, tmp_path / "r.html")
    table_ = pd.read_csv(comparisons_path(out))
    assert len(table_) == 4 * 9 and set(table_["verdict"]) <= {DIFFERS, NO_PRACTICAL_DIFFERENCE, UNDECIDED}
    row = table_[(table_.param == "xi") & (table_.kind == "level") & (table_.metric == "mae")].iloc[0]
    assert row.mean_difference == pytest.approx(0.2) and row.verdict == DIFFERS and row.min_effect == 0.01
    assert PAPER["xi"] == 3.0


def test_the_forest_axis_is_scaled_to_most_intervals_not_the_widest():
    from mmrest.report.render import ForestRow, forest_figure

    narrow = [ForestRow(f"level {i}", 0.002 * i, 0.002 * i - 0.004, 0.002 * i + 0.004, 0.5, 6, "undecided")
              for i in range(4)]
    wide = ForestRow("few seeds", 0.01, -2.0, 2.0, 1.0, 3, "undecided")
    fig = forest_figure({"mae": [*narrow, wide], "acc7": narrow}, {"mae": 0.01, "acc7": 1.0},
                        shown="mae", title="t")
    low, high = fig.layout.xaxis.range
    # The min_effect band and the narrow intervals are whole; the 3-seed interval runs off the edge.
    assert low < -0.01 and high > 0.01 and high < 2.0
    assert all(low <= r.low and r.high <= high for r in narrow)
    # The menu rescales the axis for each metric: acc7's min_effect of 1 point sets its range.
    (menu,) = fig.layout.updatemenus
    ranges = {b.label: b.args[1]["xaxis.range"] for b in menu.buttons}
    assert ranges["Acc-7"][1] >= 3.0


def test_final_values_in_a_grid_judge_the_value_not_another_configuration_sharing_it():
    import re

    from trial_tables import METRICS

    from mmrest.report.html import render_page
    from mmrest.trial_table import StageFacts

    rows = []
    for alpha in (0.5, 1.0, 2.0):
        for xi in (1.0, 10.0):
            for seed in (1, 2, 3):
                mae = (0.70 if alpha == 1.0 else 0.80) + (seed - 2) * (0.02 if xi == 1.0 else 0.005)
                rows.append(trial(stage="grid", design="grid", varied="", seed=seed, alpha=alpha, xi=xi,
                                  valid={**METRICS, "mae": mae}))
    trials = table(rows)
    raw = facts([StageFacts("grid", "grid", {"alpha": (0.5, 1.0, 2.0), "xi": (1.0, 10.0)})], trials, seeds=(1, 2, 3))
    page = render_page(compute_report(trials, raw), split="valid")
    final = page[page.index('id="final-table"'):page.index("</table>", page.index('id="final-table"'))]
    alpha_row = next(r for r in final.split("<tr>") if "alpha" in r)
    # The chosen alpha is the paper's 1.0: no "differs" borrowed from (alpha 1, xi 1), which
    # shares the value; the indistinguishable list never names the chosen value itself.
    assert "the chosen value is the paper&#39;s" in alpha_row or "the chosen value is the paper's" in alpha_row
    cells = re.findall(r"<td>(.*?)</td>", alpha_row)
    assert "1" not in [v.strip() for v in cells[7].split(",")]
