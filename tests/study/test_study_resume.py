"""Kill the driver with SIGKILL while trials run, then `run --resume`: every planned trial ends
COMPLETE exactly once, no Optuna trial is duplicated, the trials the killed driver left RUNNING
are reused, and the killed driver's local Ray processes are stopped. Also the half-made trials
of a driver killed inside its Optuna calls."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import optuna
import pytest
from optuna.storages.journal import JournalFileBackend, JournalStorage
from optuna.trial import TrialState
from study_helpers import run_on_head, tiny_spec, write_spec

from mmrest.study.cluster import reap_orphans, session_processes
from mmrest.study.folder import StudyFolder
from mmrest.study.recorder import stage_distributions
from mmrest.study.spec import validate_spec
from mmrest.study.state import stage_states
from mmrest.study.storage import open_storage, stage_study, stage_trials, storage_url

pytestmark = pytest.mark.slow

STAGE = {"name": "coarse", "design": "one_at_a_time", "params": {"k": [3, 9], "gamma": [0.5]}}
PLANNED = 8  # base + k 3, 9 + gamma 0.5 = 4 points, 2 seeds
EPOCHS = 6


def _run(spec: Path, studies: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "mmrest.cli", "run", str(spec), "--studies-dir", str(studies), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=spec.parent)


def _trials(journal: Path) -> list:
    if not journal.is_file():
        return []
    try:
        return optuna.load_study(study_name="resume.coarse", storage=JournalStorage(JournalFileBackend(str(journal)))).trials
    except KeyError:
        return []  # the stage's study is not created yet


def _stop_mid_run(journal: Path, process: subprocess.Popen, timeout_s: float = 180) -> None:
    """Freeze the driver (SIGSTOP) at a state with a finished and a running trial, checked while
    it is frozen: the driver is the journal's only writer, so the state cannot move on between
    the check and the kill that follows."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the run ended before it could be killed:\n{process.stdout.read()}")
        if _mid_run(journal):
            process.send_signal(signal.SIGSTOP)
            if _mid_run(journal):
                return
            process.send_signal(signal.SIGCONT)
        time.sleep(0.1)
    pytest.fail("no moment with a finished and a running trial")


def _mid_run(journal: Path) -> bool:
    states = Counter(t.state for t in _trials(journal))
    return states[TrialState.COMPLETE] >= 1 and states[TrialState.RUNNING] >= 1


def test_kill_then_resume(tmp_path):
    spec = write_spec(tmp_path / "resume.yaml", tiny_spec(
        "resume", stages=[STAGE], train={"max_epochs": EPOCHS, "patience": EPOCHS}))
    studies = tmp_path / "studies"
    folder = studies / "resume"
    journal = folder / "optuna.journal"
    first = _run(spec, studies)
    session = None
    try:
        _stop_mid_run(journal, first)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        session = json.loads((folder / "driver.json").read_text())["ray_session"]
        left = _trials(journal)
        stale = {t.number: t.user_attrs["key"] for t in left if t.state == TrialState.RUNNING}
        done_before = {t.user_attrs["key"] for t in left if t.state == TrialState.COMPLETE}
        assert stale and done_before

        status = subprocess.run([sys.executable, "-m", "mmrest.cli", "status", str(folder), "--json"],
                                capture_output=True, text=True, check=True)
        counts = json.loads(status.stdout)
        assert counts["state"] == "stopped" and counts["stages"]["coarse"]["running"] == len(stale)

        second = _run(spec, studies, "--resume")
        out, _ = second.communicate(timeout=300)
        assert second.returncode == 0, out
    finally:
        if first.poll() is None:
            first.kill()
        if session:
            reap_orphans(session)

    trials = _trials(journal)
    keys = Counter(t.user_attrs["key"] for t in trials)
    assert len(trials) == PLANNED and len(keys) == PLANNED and set(keys.values()) == {1}
    assert all(t.state == TrialState.COMPLETE for t in trials)
    # The trials left RUNNING were finished under their own numbers, not duplicated.
    by_number = {t.number: t for t in trials}
    for number, key in stale.items():
        assert by_number[number].user_attrs["key"] == key
        assert sorted(by_number[number].intermediate_values) == list(range(1, EPOCHS + 1))
    # The resumed run did not train again what was done: it started only the rest.
    started = {line.split()[3] for line in out.splitlines() if "] start " in line}
    assert started == set(keys) - done_before
    assert session_processes(session) == []
    assert "nothing to do" in subprocess.run(
        [sys.executable, "-m", "mmrest.cli", "run", str(spec), "--studies-dir", str(studies), "--resume"],
        capture_output=True, text=True, cwd=tmp_path).stdout
    assert not (folder / "driver.json").exists()
    assert os.listdir(folder / "trials" / "coarse")


def test_resume_adopts_half_made_trials(tmp_path, ray_head):
    """A driver killed inside its Optuna calls leaves an enqueued trial WAITING, or a trial
    RUNNING before it got its key: the first is reused for its key, the second fails with a
    reason; the study then completes every planned trial once."""
    spec_file = write_spec(tmp_path / "half.yaml", tiny_spec("half"))
    spec = validate_spec(tiny_spec("half"), source="half.yaml")
    folder = StudyFolder(tmp_path / "studies" / "half")
    folder.create(spec)
    storage = open_storage(storage_url(spec, folder), where="test")
    state = stage_states(spec, stage_trials(storage, spec))[0]
    study = stage_study(storage, spec, spec.stages[0])
    study.ask(stage_distributions(spec, spec.stages[0], state.planned))  # RUNNING, never labelled
    waiting = state.planned[3]
    study.enqueue_trial(waiting.point, user_attrs={"key": waiting.key})  # WAITING

    run = run_on_head("run", str(spec_file), "--studies-dir", str(tmp_path / "studies"), "--resume",
                      "--ray-address", ray_head)
    assert run.returncode == 0, run.stdout + run.stderr

    trials = stage_states(spec, stage_trials(storage, spec))[0].trials
    assert len(trials) == len(state.planned) + 1
    assert trials[0].state == TrialState.FAIL and "interrupted" in trials[0].user_attrs["error"]
    assert trials[1].user_attrs["key"] == waiting.key and trials[1].state == TrialState.COMPLETE
    done = Counter(t.user_attrs["key"] for t in trials if t.state == TrialState.COMPLETE)
    assert set(done) == {p.key for p in state.planned} and set(done.values()) == {1}


def test_resuming_a_finished_study_writes_what_a_killed_driver_left_out(finished_study, ray_head, tmp_path):
    """A driver killed after its last trial had not written the finish time, and a study from
    before floors has no floor.json: --resume on the finished study writes both, runs nothing."""
    import shutil

    copy = tmp_path / "studies" / finished_study.name
    shutil.copytree(finished_study, copy, ignore=shutil.ignore_patterns("ray"))
    folder = StudyFolder(copy)
    folder.floor_file.unlink()
    folder.update_run(finished=None)
    run = run_on_head("run", str(folder.spec_file), "--studies-dir", str(copy.parent), "--resume",
                      "--ray-address", ray_head)
    assert run.returncode == 1, run.stdout + run.stderr  # its failed trials are still failed
    assert folder.floor_file.is_file()
    finished = folder.read_run()["finished"]
    assert finished and finished <= json.loads((finished_study / "run.json").read_text())["finished"]
