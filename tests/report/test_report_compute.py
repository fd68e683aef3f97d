"""Numbers of the curve sections and of the facts section."""
import math

import pytest
from trial_tables import (
    disagree_case, disagree_rows, facts, grid_rows, grid_stage, oat_stage, realistic_case, table, tpe_case,
    trial,
)

from mmrest.report.build import compute_report
from mmrest.report.compute import panels, study_facts_summary
from mmrest.trial_table import complete

R2 = math.sqrt(2)


def test_curve_points_are_seed_statistics_by_hand():
    trials, raw = disagree_case()
    (curve,) = panels(complete(trials), raw.tuning_stages(), raw.base_values, {"alpha": 1.0})
    assert (curve.param, curve.paper, curve.chosen, curve.log_x) == ("alpha", 1.0, 1.0, True)
    (s,) = curve.series
    assert (s.stage, s.design, s.x, s.n) == ("coarse", "one_at_a_time", (0.5, 1.0, 2.0), (2, 2, 2))
    assert s.mean["valid_acc7"] == pytest.approx((40.0, 42.0, 43.5))
    assert s.low["valid_acc7"] == pytest.approx((39.5, 41.0, 43.0))
    assert s.high["valid_acc7"] == pytest.approx((40.5, 43.0, 44.0))
    assert s.std["valid_acc7"] == pytest.approx((0.5 * R2, R2, 0.5 * R2))
    assert s.mean["test_acc7"] == pytest.approx((39.0, 41.0, 42.5))  # test = valid - 1 per trial
    assert s.mean["value"] == pytest.approx((0.70, 0.72, 0.80))


def test_failed_running_and_waiting_trials_draw_no_point():
    rows = disagree_rows() + [
        trial(varied="alpha", alpha=4.0, state="FAIL", error="x"),
        trial(varied="alpha", alpha=8.0, state="RUNNING"), trial(varied="alpha", alpha=0.25, state="WAITING"),
    ]
    trials = table(rows)
    raw = facts([oat_stage(alpha=[0.25, 0.5, 1.0, 2.0, 4.0, 8.0])], trials, finished_all=False)
    (curve,) = panels(complete(trials), raw.tuning_stages(), raw.base_values, {})
    assert curve.series[0].x == (0.5, 1.0, 2.0) and curve.chosen is None


def test_axes_are_log_where_the_first_grid_is_log_spaced():
    trials, raw = realistic_case()
    report = compute_report(trials, raw)
    log_x = {c.param: c.log_x for c in report.panels}
    assert log_x == {"k": False, "v1": True, "v2": True, "xi": True, "alpha": True, "gamma": False}
    xi = next(c for c in report.panels if c.param == "xi")
    assert [(s.stage, s.stage_index) for s in xi.series] == [("coarse", 0), ("fine", 1)]
    assert xi.grid == (1.0, 3.0, 10.0, 30.0, 100.0)
    assert xi.series[1].x == (1.7, 2.3, 3.0, 4.0, 5.5)  # the fine line includes its base point


def test_grid_curves_average_over_the_other_parameter():
    trials = table(grid_rows())
    raw = facts([grid_stage()], trials)
    (xi, alpha) = panels(complete(trials), raw.tuning_stages(), raw.base_values, {})
    (s,) = alpha.series
    assert (s.stage, s.stage_index, s.design) == ("grid", 0, "grid")
    assert s.n == (6, 6, 6)  # 3 xi values x 2 seeds
    assert s.mean["valid_acc7"] == pytest.approx((42.0 - 0.5 / 3, 45.0 - 0.5 / 3, 42.0 - 0.5 / 3))


def test_facts_of_a_partial_study_with_a_failure():
    rows = disagree_rows() + [
        trial(varied="alpha", alpha=4.0, state="FAIL", error="RuntimeError: loss is NaN\n  at epoch 3", seconds=4.0),
        trial(varied="alpha", alpha=8.0, seed=1, state="RUNNING"),
        trial(varied="alpha", alpha=8.0, seed=2, state="WAITING"),
    ]
    trials = table(rows)
    raw = facts([oat_stage(alpha=[0.5, 1.0, 2.0, 4.0, 8.0])], trials, finished_all=False, planned=10)
    f = study_facts_summary(trials, raw)
    assert (f.planned, f.done, f.failed, f.running, f.waiting) == (10, 6, 1, 1, 1)
    assert f.partial and f.wall_seconds is None and f.finished is None
    assert f.trial_seconds == 6 * 10.0 + 4.0
    assert f.failures == (("coarse/k=7,v1=0.8,v2=1,xi=3,alpha=4,gamma=0.05,eta=0.01,kmeans_mode=0/seed=1", "RuntimeError: loss is NaN"),)
    (stage,) = f.stages.values()
    assert (stage.done, stage.failed, stage.running, stage.waiting) == (6, 1, 1, 1)
    assert f.absent_modalities == ("audio",) and f.seeds == (1, 2) and f.base == "mosi"


def test_a_finished_study_is_not_partial_and_has_a_wall_time():
    trials, raw = disagree_case()
    f = study_facts_summary(trials, raw)
    assert not f.partial and f.wall_seconds == 3723.0 and f.failures == ()


def test_unfinished_without_queued_trials_is_still_partial():
    trials = table(disagree_rows())
    raw = facts([oat_stage(alpha=[0.5, 1.0, 2.0, 4.0])], trials, finished_all=False, planned=8)
    assert study_facts_summary(trials, raw).partial


def test_a_tpe_stage_takes_its_log_axis_from_the_spec_range():
    trials, raw = tpe_case()
    report = compute_report(trials, raw)
    xi, alpha = report.panels
    assert (alpha.log_x, xi.log_x) == (True, False)
    assert alpha.series[0].design == "tpe" and alpha.series[0].n == (2,) * 8
    best = trials.loc[trials["value"].idxmin()]
    assert {c.param: c.chosen for c in report.choices.items} == {"xi": best["xi"], "alpha": best["alpha"]}
