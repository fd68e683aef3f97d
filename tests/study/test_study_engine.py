"""An end-to-end run of a tiny two-stage study on a real Ray head, read back from the real
Optuna journal: counts, params, user attributes, intermediate values, a real failed trial,
the refine stage, status, and the refusals of a second run."""
from __future__ import annotations

import json
import math
from pathlib import Path

import optuna
import pytest
from optuna.storages.journal import JournalFileBackend, JournalStorage
from optuna.trial import TrialState

from mmrest.cli import main
from mmrest.config import STUDY_HYPERPARAMETERS
from mmrest.metrics import METRIC_NAMES
from mmrest.study.folder import StudyFolder
from mmrest.study.planner import plan_stage
from mmrest.study.results import StudyResults
from mmrest.trial_table import COLUMNS, Objective
from mmrest.study.state import point_results

pytestmark = pytest.mark.slow

ATTRS = {"seed", "stage", "key", "varied", "design", "params", "seconds", "log", "best_epoch",
         "grad_share_mmc", "pdlf_share", "clip_fraction", "clusters_active", "state_clusters_active",
         "state_cluster_size_max", "state_nmi_bins", "state_nmi_modality",
         *(f"{split}_{m}" for split in ("valid", "test") for m in METRIC_NAMES)}


def _journal(study_dir: Path) -> JournalStorage:
    return JournalStorage(JournalFileBackend(str(study_dir / "optuna.journal")))


def test_coarse_stage_recorded_in_full(finished_study):
    coarse = optuna.load_study(study_name="e2e.coarse", storage=_journal(finished_study)).trials
    # base + k 3, 5 + gamma 0, 0.5 + eta 1e308 = 6 points, 2 seeds each.
    assert len(coarse) == 12
    keys = [t.user_attrs["key"] for t in coarse]
    assert len(set(keys)) == 12 and "coarse/base/seed=1" in keys and "coarse/eta=1e+308/seed=2" in keys
    for t in coarse:
        assert set(t.params) == set(STUDY_HYPERPARAMETERS)
        assert set(t.distributions) == set(STUDY_HYPERPARAMETERS)
        if t.params["eta"] > 1:
            assert t.state == TrialState.FAIL
            assert "TrainingDiverged" in t.user_attrs["error"]
            continue
        assert t.state == TrialState.COMPLETE
        assert ATTRS <= set(t.user_attrs)
        assert t.user_attrs["seed"] in (1, 2) and t.user_attrs["stage"] == "coarse"
        assert (t.user_attrs["pdlf_share"] == 0) == (t.params["gamma"] == 0)
        # The objective is valid MAE at the epoch of lowest valid loss, which is the valid MAE:
        # so it is the smallest intermediate value, at best_epoch.
        assert sorted(t.intermediate_values) == [1, 2]
        best_step = min(t.intermediate_values, key=t.intermediate_values.get)
        assert t.value == pytest.approx(min(t.intermediate_values.values()))
        assert t.user_attrs["best_epoch"] == best_step
        assert t.value == pytest.approx(t.user_attrs["valid_mae"])
        assert Path(t.user_attrs["log"]).is_file()
        assert (Path(t.user_attrs["log"]).parent / "best.pt").is_file()


def test_one_at_a_time_points_move_one_hyperparameter(finished_study):
    trials = optuna.load_study(study_name="e2e.coarse", storage=_journal(finished_study)).trials
    base = next(t.params for t in trials if t.user_attrs["varied"] == "base")
    assert base == {"k": 7, "v1": 0.8, "v2": 1.0, "xi": 3.0, "alpha": 1.0, "gamma": 0.05, "eta": 0.01, "kmeans_mode": 0}
    for t in trials:
        moved = {name for name in STUDY_HYPERPARAMETERS if t.params[name] != base[name]}
        assert moved == (set() if t.user_attrs["varied"] == "base" else {t.user_attrs["varied"]})


def test_refine_stage_ran_exactly_its_plan(finished_study):
    folder = StudyFolder(finished_study)
    spec = folder.read_spec()
    states = StudyResults.open(folder.root).states
    expected = plan_stage(spec, spec.stages[1], point_results(states[0]))
    fine = states[1].trials
    assert sorted(t.user_attrs["key"] for t in fine) == sorted(p.key for p in expected)
    coarse = point_results(states[0])
    refined = {t.user_attrs["varied"] for t in fine}
    assert "eta" in refined and refined <= {"k", "gamma", "eta"}
    # Every refined value lies between the coarse neighbours of its parameter's winner (the point
    # with the lowest seed-mean valid MAE on that parameter's line), and differs from the points
    # already run.
    for name in refined:
        line = [r for r in coarse if r.varied in (name, "base")]
        axis = sorted(r.point[name] for r in line)
        winner = min((r for r in line if math.isfinite(r.value)), key=lambda r: r.value).point[name]
        i = axis.index(winner)
        low, high = axis[max(i - 1, 0)], axis[min(i + 1, len(axis) - 1)]
        values = {t.params[name] for t in fine if t.user_attrs["varied"] == name}
        assert values and all(low < v < high for v in values), (name, low, high, values)
    for t in fine:
        if t.user_attrs["varied"] == "eta":
            assert t.state == TrialState.FAIL  # log-spaced between 0.01 and 1e308: still diverges
        else:
            assert t.state == TrialState.COMPLETE


def test_load_trials_matches_the_contract(finished_study):
    table = StudyResults.open(finished_study).trials
    assert tuple(table.columns) == COLUMNS
    assert len(table) == 12 + len(table[table.stage == "fine"])
    assert table.key.is_unique
    failed = table[table.state == "FAIL"]
    assert failed.value.isna().all() and failed.error.str.contains("TrainingDiverged").all()
    done = table[table.state == "COMPLETE"]
    assert (done.value == done.valid_mae).all() and (done.params > 0).all()
    assert set(table.seed) == {1, 2}


def test_study_facts(finished_study):
    facts = StudyResults.open(finished_study).facts
    assert facts.name == "e2e" and facts.seeds == (1, 2)
    assert facts.objective == Objective("valid_mae", higher_is_better=False)
    assert facts.base_values["k"] == 7 and facts.base_values["gamma"] == 0.05
    assert facts.finished_all is True and facts.finished is not None
    assert facts.done + facts.failed == facts.planned
    assert facts.stages[0].params["k"] == (3.0, 5.0, 7.0)
    assert facts.dataset.startswith("synthetic mosi")
    assert facts.text_path == "frozen pre-extracted text features (cls pooling)"
    assert set(facts.versions) == {"python", "torch", "ray", "optuna", "mmrest"}


def test_status_json(finished_study, capsys):
    assert main(["status", str(finished_study), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["storage"] == str((finished_study / "optuna.journal").resolve())
    assert status["state"] == "finished"
    assert status["stages"]["coarse"] == {"design": "one_at_a_time", "planned": 12, "done": 10, "running": 0, "failed": 2,
                                          "waiting": 0, "round": None, "seeds": None,
                                          "racing": None, "other_rules": False}  # the seed list does not race
    assert set(status["seed_planner"]) == set(METRIC_NAMES)
    plan = status["seed_planner"]["mae"]
    assert list(plan) == ["3", "5", "10", "20"] and plan["3"] > plan["20"] > 0
    # The best point by its mean over seeds, not the luckiest single trial.
    by_point = {}
    for t in _completed(finished_study):
        by_point.setdefault(t.user_attrs["key"].rsplit("/seed=", 1)[0], []).append(t.value)
    best = min(by_point, key=lambda k: sum(by_point[k]) / len(by_point[k]))
    assert status["best"]["key"] == best and status["best"]["seeds"] == len(by_point[best])
    assert status["best"]["value"] == pytest.approx(sum(by_point[best]) / len(by_point[best]))
    # optuna opens the printed storage as is
    assert {s.study_name for s in optuna.get_all_study_summaries(JournalStorage(JournalFileBackend(status["storage"])))} == {"e2e.coarse", "e2e.fine"}


def test_status_text(finished_study, capsys):
    assert main(["status", str(finished_study)]) == 0
    text = capsys.readouterr().out
    assert "finished" in text and "coarse" in text and "best so far: valid_mae" in text


def test_rerun_of_a_finished_study_does_nothing(finished_study, capsys):
    before = _snapshot(finished_study)
    spec = finished_study.parent.parent / "e2e.yaml"
    # Finished, with failed trials: nothing runs, and the exit code still says trials failed.
    assert main(["run", str(spec), "--studies-dir", str(finished_study.parent), "--resume"]) == 1
    assert "nothing to do" in capsys.readouterr().out
    assert _snapshot(finished_study) == before


def test_existing_study_without_resume_is_refused(finished_study, capsys):
    before = _snapshot(finished_study)
    spec = finished_study.parent.parent / "e2e.yaml"
    assert main(["run", str(spec), "--studies-dir", str(finished_study.parent)]) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and "--resume" in err and "change `name`" in err
    assert _snapshot(finished_study) == before


def test_resume_with_a_different_spec_is_refused(finished_study, capsys):
    spec = finished_study.parent.parent / "e2e.yaml"
    assert main(["run", str(spec), "--studies-dir", str(finished_study.parent), "--resume", "--set", "seeds=[1,3]"]) == 2
    assert "seeds" in capsys.readouterr().err


def test_dry_run_of_the_finished_study(finished_study, capsys):
    spec = finished_study.parent.parent / "e2e.yaml"
    assert main(["run", str(spec), "--studies-dir", str(finished_study.parent), "--resume", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "stage coarse (one_at_a_time): 6 points x 2 seeds = 12 trials, 0 to run" in out
    assert "time: about 0s" in out


def _completed(study_dir: Path):
    storage = _journal(study_dir)
    return [t for name in ("e2e.coarse", "e2e.fine")
            for t in optuna.load_study(study_name=name, storage=storage).trials if t.state == TrialState.COMPLETE]


def _snapshot(root: Path) -> dict:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*")) if p.is_file()}

