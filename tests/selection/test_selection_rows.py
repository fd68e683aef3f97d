"""Which trials inform a hyperparameter."""
from trial_tables import facts, oat_stage, table, trial

from mmrest.selection.rows import line_rows, varied_parameters
from mmrest.trial_table import StageFacts


def test_one_at_a_time_line_is_the_parameter_plus_the_base_point():
    rows = [trial(varied="base"), trial(varied="alpha", alpha=2.0), trial(varied="xi", xi=10.0)]
    trials = table(rows)
    stage = oat_stage(alpha=[1, 2], xi=[3, 10])
    assert line_rows(trials, stage, "alpha")["alpha"].tolist() == [1.0, 2.0]
    assert line_rows(trials, stage, "xi")["xi"].tolist() == [3.0, 10.0]


def test_tuning_stages_skip_analysis_and_varied_needs_two_values():
    trials = table([trial()])
    raw = facts([oat_stage(alpha=[2, 1], k=[7]), StageFacts("analysis", "analysis", {}),
                 StageFacts("g", "grid", {"xi": (1.0, 3.0)})], trials)
    stages = raw.tuning_stages()
    assert [s.name for s in stages] == ["coarse", "g"]
    assert stages[0].params == {"alpha": (1.0, 2.0), "k": (7.0,)}
    assert varied_parameters(stages) == ("xi", "alpha")
