"""What `mmrest-study status` prints for a racing study: seeds and why each point stopped, and a
line saying the report's verdicts are judged on a larger family (so "decided" there can read
"undecided" in the report)."""
from mmrest.study.status import StageCounts, StudyStatus, render_status


def _status(stages):
    return StudyStatus(
        name="demo", folder="studies/demo", storage="studies/demo/optuna.journal", state="finished",
        stages=stages, best={"key": "coarse/gamma=0.5", "value": 0.72, "seeds": 3}, objective="valid_mae",
        started=None, finished=None, elapsed_s=60.0, remaining_s=0.0, unplanned=[], seed_planner={},
    )


def test_racing_stages_show_seeds_stop_reasons_and_what_decided_means():
    racing = StageCounts("one_at_a_time", 31, 31, 0, 0, round=4, seeds={"base": 6, "gamma=0.5": 3},
                         racing={"gamma=0.5": "futile"})
    text = render_status(_status({"coarse": racing}))
    assert "coarse: racing, 4 look(s) so far; seeds per point: base 6, gamma=0.5 3 (futile)" in text
    assert "the report's verdicts judge every comparison it shows together" in text


def test_a_study_without_racing_has_no_racing_lines():
    text = render_status(_status({"coarse": StageCounts("one_at_a_time", 11, 11, 0, 0)}))
    assert "racing" not in text
