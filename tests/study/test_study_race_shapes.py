"""Racing through the engine's own planning and recording code, on every stage shape: studies of
made-up results (tests/fixtures/simulated_study.py) run to the end, are read by `status` and the
report, and a driver killed anywhere resumes to the same trials.

The shapes that once broke a study for good: a stage whose points all reach a verdict at their
first look, after an earlier stage raced the shared base point past `start` (the race then read
fewer base seeds than were stored, and every later read of the study failed).
"""
from __future__ import annotations

import numpy as np
import pytest
from simulated_study import digest, gaussian_results, metrics_for, random_results, random_spec, simulate_study

from mmrest.report.build import compute_report
from mmrest.study.folder import StudyFolder
from mmrest.study.results import StudyResults
from mmrest.study.spec import load_spec, validate_spec

pytestmark = pytest.mark.slow

CRASH_SPEC = {  # the spec of the report that found it; eta = 0, so v1 and alpha change nothing
    "name": "refine_crash2",
    "dataset": {"synthetic": "mosi", "seed": 0, "sizes": {"train": 128, "valid": 64, "test": 64, "text_len": 6,
                                                          "text_dim": 16, "audio_len": 6, "vision_len": 6}},
    "base": "mosi", "train": {"max_epochs": 2, "patience": 2, "eta": 0.0},
    "seeds": {"list": [1, 2, 3, 4, 5, 6], "start": 3, "max": 6},
    "objective": {"metric": "valid_mae", "mode": "min"},
    "stages": [{"name": "coarse", "design": "one_at_a_time", "params": {"gamma": [0.0, 2.0]}},
               {"name": "flat", "design": "one_at_a_time", "params": {"v1": [0.4, 1.6], "alpha": [0.5, 2.0]}}],
}


def _read(folder: StudyFolder):
    """What `status` and `report` compute from the folder (they failed on the broken shapes)."""
    results = StudyResults.open(folder.root)
    # Raced by this engine, so its rules replay it exactly: no stored seed is read as another
    # version's (the lenient read would hide an engine that stored seeds its race never gave).
    assert not any(s.race is not None and s.race.other_rules for s in results.states)
    status = results.status()
    report = compute_report(results.trials, results.facts)
    return status, report


def _values(folder: StudyFolder) -> dict[str, float]:
    trials = StudyResults.open(folder.root).trials
    return dict(zip(trials["key"], trials["value"]))


def test_points_deciding_at_once_after_a_raced_base_leave_a_readable_finished_study(tmp_path):
    spec = validate_spec(CRASH_SPEC, source="crash.yaml")
    folder = StudyFolder(tmp_path / spec.name)
    simulate_study(spec, folder, gaussian_results(lambda p: 0.5 * p["gamma"], reads=("gamma",)))
    status, report = _read(folder)
    assert status.state == "finished"
    coarse, flat = status.stages["coarse"], status.stages["flat"]
    assert coarse.seeds["base"] > 3  # the base raced past start in the first stage
    assert set(flat.racing.values()) == {"decided"} and set(flat.seeds.values()) - {coarse.seeds["base"]} == {3}
    flat_levels = [c for c in report.verdicts.comparisons if c.stage == "flat" and c.kind == "level"]
    assert flat_levels and all(c.judgement.difference.mean == 0.0 for c in flat_levels)
    # Resumed through the engine: nothing left to run, nothing changes.
    before = _values(folder)
    assert simulate_study(spec, folder, gaussian_results(lambda p: 0.0)) == 0
    assert _values(folder) == before


def _demo_results(planned):
    """The demo's coarse stage noisy, so that its base races past start; every point of the
    refine stage exactly the base point's result, seed by seed, so that each decides at once."""
    seed_rng = np.random.default_rng(planned.seed)
    value = 1.0 + 0.01 * seed_rng.standard_normal()
    if planned.stage != "fine" and planned.varied != "base":
        value += 0.02 * np.random.default_rng(digest(planned.seed, planned.key)).standard_normal()
    return metrics_for(value, np.random.default_rng(0))


def test_the_demo_with_short_races_finishes_readable_and_resumes(tmp_path):
    spec = load_spec("search_spaces/demo.yaml", ["train.max_epochs=4", "seeds.start=2", "seeds.max=4"])
    folder = StudyFolder(tmp_path / spec.name)
    simulate_study(spec, folder, _demo_results)
    status, _ = _read(folder)
    assert status.state == "finished"
    assert status.stages["coarse"].seeds["base"] > 2
    assert set(status.stages["fine"].racing.values()) == {"decided"}
    assert simulate_study(spec, folder, _demo_results) == 0


@pytest.mark.parametrize("seed", range(8))
def test_random_small_studies_finish_readable_and_resume_to_the_same_trials(tmp_path, seed):
    rng = np.random.default_rng(seed)
    spec = validate_spec(random_spec(rng, f"random{seed}"), source=f"random{seed}.yaml")
    results = random_results(rng)
    alone = StudyFolder(tmp_path / "alone" / spec.name)
    total = simulate_study(spec, alone, results)
    status, _ = _read(alone)
    assert status.state == "finished"
    killed = StudyFolder(tmp_path / "killed" / spec.name)
    simulate_study(spec, killed, results, max_trials=int(rng.integers(1, total + 1)))
    simulate_study(spec, killed, results)
    assert _values(killed) == pytest.approx(_values(alone), nan_ok=True)
    assert StudyResults.open(killed.root).status().stages == status.stages
