"""Final values on hand-made tables whose every number is worked out in report_tables."""
import math

import pytest
import yaml

from mmrest.config import make_config
from trial_tables import (
    PAPER, disagree_case, disagree_rows, facts, grid_rows, grid_stage, oat_stage, table, trial,
)

from mmrest.selection.choice import choose, config_yaml
from mmrest.selection.rows import decisive_rows
from mmrest.selection.rules import MEAN_RANK, OBJECTIVE
from mmrest.trial_table import complete


def _choose(trials, raw_facts, rule=MEAN_RANK):
    return choose(
        complete(trials), raw_facts.tuning_stages(), raw_facts.base_values, raw_facts.objective, rule,
        study_name="hand", base="mosi",
    )


def test_metrics_disagree_mean_rank_picks_and_reports_the_dissent():
    c = _choose(*disagree_case()).items[0]
    assert (c.param, c.stage, c.design, c.candidates) == ("alpha", "coarse", "one_at_a_time", 3)
    assert (c.chosen, c.runner_up, c.paper) == (1.0, 2.0, 1.0)
    assert c.score == pytest.approx(11.5 / 9) and c.runner_up_score == pytest.approx(17.5 / 9)
    assert c.objective == pytest.approx(0.72) and c.objective_std == pytest.approx(0.01 * math.sqrt(2))
    assert c.runner_up_objective == pytest.approx(0.80)
    # f1_has0 ties 1.0 with 2.0: a tie is no dissent.
    assert c.agree == ("corr", "acc5", "acc3", "acc2_has0", "f1_has0", "acc2_non0", "f1_non0")
    mae, acc7 = c.disagreements
    assert (mae.metric, mae.preferred) == ("mae", 0.5)
    assert (mae.best, mae.at_chosen, mae.gap) == pytest.approx((0.70, 0.72, 0.02))
    assert mae.noise == pytest.approx(0.01 * math.sqrt(2))
    assert (acc7.metric, acc7.preferred) == ("acc7", 2.0)
    assert (acc7.best, acc7.at_chosen, acc7.gap) == pytest.approx((43.5, 42.0, 1.5))
    assert acc7.noise == pytest.approx(math.sqrt((2.0 + 0.5) / 2))  # stds sqrt(2) and sqrt(0.5)


def test_objective_rule_picks_the_objective_best_and_everyone_else_dissents():
    c = _choose(*disagree_case(), rule=OBJECTIVE).items[0]
    assert (c.chosen, c.runner_up) == (0.5, 1.0)
    assert (c.score, c.runner_up_score) == pytest.approx((0.70, 0.72))
    assert c.agree == ("mae",)
    preferred = {d.metric: d.preferred for d in c.disagreements}
    # f1_has0 ties 1.0 and 2.0 at 82: it sides with the rule's order, which ranks 1.0 first.
    assert preferred == {"corr": 1.0, "acc7": 2.0, "acc5": 1.0, "acc3": 1.0, "acc2_has0": 1.0,
                         "f1_has0": 1.0, "acc2_non0": 1.0, "f1_non0": 1.0}


def test_a_failed_trial_changes_no_number():
    bad = trial(varied="alpha", alpha=4.0, seed=1, state="FAIL", error="RuntimeError: loss is NaN\nTraceback")
    bad.update({"value": 0.0, "valid_mae": 0.0, "valid_acc7": 99.0})  # would win everything if counted
    trials = table(disagree_rows() + [bad])
    raw = facts([oat_stage(alpha=[0.5, 1.0, 2.0, 4.0])], trials)
    with_failure, clean = _choose(trials, raw), _choose(*disagree_case())
    assert with_failure.items == clean.items


def test_the_base_value_stays_where_no_trial_completed():
    trials = table([trial(state="RUNNING", varied="alpha", alpha=2.0)])
    choices = _choose(trials, facts([oat_stage(alpha=[1.0, 2.0])], trials, finished_all=False))
    c = choices.items[0]
    assert (c.chosen, c.stage, c.candidates) == (None, None, 0)
    assert choices.config == PAPER


def test_grid_choice_takes_the_winning_configuration_for_every_parameter():
    trials = table(grid_rows())
    choices = _choose(trials, facts([grid_stage()], trials))
    xi, alpha = choices.items
    assert (xi.param, xi.chosen, xi.runner_up, xi.candidates) == ("xi", 3.0, 1.0, 9)
    assert (alpha.param, alpha.chosen, alpha.runner_up) == ("alpha", 1.0, 0.5)
    assert xi.score == pytest.approx(37 / 9) and xi.runner_up_score == pytest.approx(40 / 9)
    assert alpha.runner_up_score == pytest.approx(44 / 9)  # (0.5, 3) and (2, 3) tie; 0.5 is smaller
    assert alpha.objective == 0.75 and alpha.runner_up_objective == 1.0
    assert xi.disagreements == () and alpha.disagreements == ()
    assert choices.config == {**PAPER, "xi": 3.0, "alpha": 1.0}


def _fine_rows(**fixed):
    """A fine stage refining alpha around 1.0, base point rerun with the coarse seeds."""
    rows = [trial(stage="fine", varied="base", seed=s, valid={"acc7": 50.0}, **fixed) for s in (1, 2)]
    rows += [trial(stage="fine", varied="alpha", seed=s, alpha=a, **fixed) for a in (0.7, 1.4) for s in (1, 2)]
    return rows


def test_a_finer_stage_joins_the_coarse_line_and_a_rerun_point_counts_once():
    trials = table(disagree_rows() + _fine_rows())
    raw = facts([oat_stage(alpha=[0.5, 1.0, 2.0]), oat_stage("fine", alpha=[0.7, 1.0, 1.4])], trials)
    stage, rows = decisive_rows(complete(trials), raw.tuning_stages(), "alpha")
    assert stage.name == "fine"
    assert sorted(rows["alpha"].unique()) == [0.5, 0.7, 1.0, 1.4, 2.0]
    base = rows.loc[rows["alpha"] == 1.0]
    assert len(base) == 2 and (base["stage"] == "fine").all() and (base["valid_acc7"] == 50.0).all()
    assert _choose(trials, raw).items[0].candidates == 5


def test_a_finer_stage_around_another_base_does_not_pool():
    trials = table(disagree_rows() + _fine_rows(k=5))
    raw = facts([oat_stage(alpha=[0.5, 1.0, 2.0]), oat_stage("fine", alpha=[0.7, 1.0, 1.4])], trials)
    stage, rows = decisive_rows(complete(trials), raw.tuning_stages(), "alpha")
    assert stage.name == "fine" and len(rows) == 6 and (rows["stage"] == "fine").all()


def test_yaml_block_pastes_back_to_the_configuration():
    config = {**PAPER, "alpha": 0.565685424949238, "k": 9.0}
    text = config_yaml(config, rule="mean_rank", study_name="demo", base="mosi")
    assert text.startswith("# chosen by rule 'mean_rank' on validation metrics of study 'demo'\n")
    loaded = yaml.safe_load(text)
    assert loaded["base"] == "mosi"
    assert loaded["train"] == {**PAPER, "alpha": 0.565685, "k": 9, "kmeans_mode": "warm"}
    assert isinstance(loaded["train"]["k"], int)
    # The k-means mode by name: the block reads back through the spec and the training config.
    assert make_config("mosi", loaded["train"]).kmeans_mode == "warm"


def test_when_nothing_tells_values_apart_the_paper_value_stays():
    rows = [trial(varied="base" if a == 1.0 else "alpha", alpha=a, seed=s) for a in (0.5, 1.0, 2.0) for s in (1, 2)]
    trials = table(rows)  # every trial has the same numbers
    c = _choose(trials, facts([oat_stage(alpha=[0.5, 1.0, 2.0])], trials)).items[0]
    assert (c.chosen, c.runner_up, c.score, c.runner_up_score) == (1.0, 0.5, 2.0, 2.0)
