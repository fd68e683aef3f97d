"""Input checks and the shared row selections of the report."""
import pytest
from report_tables import disagree_case, oat_stage, table, trial

from mmrest.errors import InputError
from mmrest.report.table import (
    check_facts, check_trials, complete, is_log_spaced, line_rows, objective, tuning_stages,
    varied_parameters,
)


@pytest.mark.parametrize("values, expected", [
    ([1, 3, 10, 30, 100], True),  # the xi grid: ratios about 3
    ([0.2, 0.4, 0.8, 1.6], True),  # exact doubling
    ([0.5, 0.7, 1.0, 1.4, 2.0], True),  # a refined log grid around 1
    ([100, 1, 30, 3, 10], True),  # order does not matter
    ([3, 5, 7, 9, 11], False),  # the k grid: even steps
    ([1, 2, 3], False),
    ([0.0, 0.025, 0.05, 0.1], False),  # zero cannot sit on a log axis
    ([-1.0, 1.0, 10.0], False),
    ([0.1, 10.0], False),  # two values say nothing about spacing
    ([5.0, 5.0, 5.0], False),
])
def test_log_spacing_is_detected_from_the_grid(values, expected):
    assert is_log_spaced(values) is expected


def test_missing_column_names_it():
    trials, _ = disagree_case()
    with pytest.raises(InputError, match=r"missing column\(s\) valid_acc7, test_f1_non0.*load_trials"):
        check_trials(trials.drop(columns=["valid_acc7", "test_f1_non0"]))


def test_missing_facts_key_and_bad_objective_are_named():
    _, facts = disagree_case()
    with pytest.raises(InputError, match=r"missing key\(s\) seeds"):
        check_facts({k: v for k, v in facts.items() if k != "seeds"})
    bad = {**facts, "spec": {"objective": {"metric": "valid_mae", "mode": "lowest"}}}
    with pytest.raises(InputError, match=r"spec.objective.*lowest.*min, minimize, max, maximize"):
        check_facts(bad)
    with pytest.raises(InputError, match="base_values' lacks eta"):
        check_facts({**facts, "base_values": {p: v for p, v in facts["base_values"].items() if p != "eta"}})


def test_objective_direction():
    _, facts = disagree_case()
    assert objective(facts).higher_is_better is False
    facts["spec"]["objective"] = {"metric": "valid_acc7", "mode": "max"}
    assert objective(facts).higher_is_better is True


def test_only_complete_tuning_trials_with_a_value_count():
    rows = [
        trial(seed=1), trial(seed=2, state="FAIL", error="boom"), trial(seed=3, state="RUNNING"),
        trial(seed=4, state="WAITING"), trial(seed=5, stage="analysis", design="analysis", varied=""),
    ]
    broken = trial(seed=6)
    broken["value"] = float("nan")  # COMPLETE in name only: no objective to rank
    done = complete(table(rows + [broken]))
    assert done["seed"].tolist() == [1]


def test_one_at_a_time_line_is_the_parameter_plus_the_base_point():
    rows = [trial(varied="base"), trial(varied="alpha", alpha=2.0), trial(varied="xi", xi=10.0)]
    trials = table(rows)
    stage = tuning_stages({"spec": {}, "stages": [oat_stage(alpha=[1, 2], xi=[3, 10])]})[0]
    assert line_rows(trials, stage, "alpha")["alpha"].tolist() == [1.0, 2.0]
    assert line_rows(trials, stage, "xi")["xi"].tolist() == [3.0, 10.0]


def test_stages_skip_analysis_and_unknown_names_and_varied_needs_two_values():
    raw = {"spec": {}, "stages": [
        oat_stage(alpha=[2, 1], k=[7]),
        {"name": "analysis", "design": "analysis", "params": {"gamma": [0, 0.05]}},
        {"name": "g", "design": "grid", "params": {"xi": [1, 3], "max_epochs": [1, 2]}},
    ]}
    stages = tuning_stages(raw)
    assert [s.name for s in stages] == ["coarse", "g"]
    assert stages[0].params == {"alpha": (1.0, 2.0), "k": (7.0,)}
    assert "max_epochs" not in stages[1].params
    assert varied_parameters(stages) == ("xi", "alpha")
