"""The live display: one line per event with counts, the best point by its mean over the seeds run
so far, and a time-left estimate (median trial time x trials left / concurrency), plain text that
needs no terminal."""
from __future__ import annotations

import io

from mmrest.study.planner import PlannedTrial
from mmrest.study.progress import Progress
from mmrest.study.recorder import Finished


def _trial(key: str) -> PlannedTrial:
    return PlannedTrial(key, "coarse", "one_at_a_time", "k", 1, {"k": 3})


def test_lines_count_trials_and_estimate_time_left():
    out = io.StringIO()
    progress = Progress(out, "valid_mae", "min", concurrency=2)
    progress.begin_stage("coarse", planned=6, done=1, failed=0, values={"coarse/base": [0.9]})
    progress("started", _trial("coarse/k=3/seed=1"))
    progress("started", _trial("coarse/k=5/seed=1"))
    progress("finished", Finished(_trial("coarse/k=3/seed=1"), True, 0.8, 10.0))
    progress("finished", Finished(_trial("coarse/k=5/seed=1"), False, float("nan"), 30.0, "TrainingDiverged: inf"))
    progress("finished", Finished(_trial("coarse/k=9/seed=1"), True, 0.95, 20.0))
    lines = out.getvalue().splitlines()
    assert len(lines) == 6
    assert "[coarse] stage coarse: 5 of 6 trials to run" in lines[0] and "time left: after the first trial" in lines[0]
    assert "best valid_mae 0.9000 (mean of 1 at coarse/base)" in lines[0]
    assert "1/6 done, 2 running, 0 failed" in lines[2]
    # after one trial of 10 s: 4 left x 10 s / 2 at a time = 20 s
    assert "done  coarse/k=3/seed=1: valid_mae 0.8000 (10s) | 2/6 done, 1 running, 0 failed" in lines[3]
    assert "best valid_mae 0.8000 (mean of 1 at coarse/k=3) | ~20s left in stage" in lines[3]
    assert "FAIL  coarse/k=5/seed=1: TrainingDiverged: inf | 2/6 done, 0 running, 1 failed" in lines[4]
    # median of 10, 30, 20 s = 20 s; 6 - 3 done - 1 failed = 2 left -> 20 s
    assert "3/6 done" in lines[5] and "best valid_mae 0.8000" in lines[5] and "~20s left in stage" in lines[5]


def test_best_is_the_best_mean_over_seeds_not_one_lucky_seed():
    out = io.StringIO()
    progress = Progress(out, "valid_mae", "min", concurrency=1)
    progress.begin_stage("coarse", planned=4, done=0, failed=0, round=1)
    # k=3: one lucky seed (0.70) and a bad one (0.90): mean 0.80; k=5: 0.75 twice.
    for key, value in (("coarse/k=3/seed=1", 0.70), ("coarse/k=5/seed=1", 0.75), ("coarse/k=3/seed=2", 0.90),
                       ("coarse/k=5/seed=2", 0.75)):
        progress("started", _trial(key))
        progress("finished", Finished(_trial(key), True, value, 1.0))
    lines = out.getvalue().splitlines()
    assert "stage coarse, round 2: 4 of 4 trials to run" in lines[0]
    assert "best valid_mae 0.7000 (mean of 1 at coarse/k=3)" in lines[2]
    assert "best valid_mae 0.7500 (mean of 2 at coarse/k=5)" in lines[-1]


def test_mode_max_keeps_the_highest():
    out = io.StringIO()
    progress = Progress(out, "valid_acc7", "max", concurrency=1)
    progress.begin_stage("s", planned=2, done=0, failed=0)
    for value in (30.0, 40.0, 35.0):
        progress("started", _trial(f"s/{value}/seed=1"))
        progress("finished", Finished(_trial(f"s/{value}/seed=1"), True, value, 1.0))
    assert "best valid_acc7 40.0000 (mean of 1 at s/40.0)" in out.getvalue().splitlines()[-1]
