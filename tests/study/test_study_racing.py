"""Racing seeds through the real engine: rounds run through Ray Tune and Optuna, and a driver
killed in the middle of a round resumes to the same trials and verdicts as a run left alone."""
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
from study_helpers import HEAD_ENV, tiny_spec, write_spec

pytestmark = pytest.mark.slow

SEEDS = [1, 2, 3, 4, 5, 6]
RACE = {"list": SEEDS, "start": 3, "max": 5}
STAGES = [{"name": "coarse", "design": "one_at_a_time", "params": {"gamma": [0.0, 1.0], "k": [3]}}]


def _spec(root: Path) -> Path:
    return write_spec(root / "race.yaml", tiny_spec("race", stages=STAGES, seeds=RACE,
                                                     train={"max_epochs": 3, "patience": 3}))


def _run(spec: Path, studies: Path, head: str, *extra: str) -> subprocess.Popen:
    """`run` as a fresh driver joining the test run's Ray head: a driver killed there takes its
    trials with it, as a local runtime's would, without the start-up of one per run."""
    return subprocess.Popen([sys.executable, "-m", "mmrest.cli", "run", str(spec), "--studies-dir", str(studies),
                             "--ray-address", head, *extra], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env={**os.environ, **HEAD_ENV})


def _trials(studies: Path) -> list:
    journal = studies / "race" / "optuna.journal"
    if not journal.is_file():
        return []
    try:
        return optuna.load_study(study_name="race.coarse", storage=JournalStorage(JournalFileBackend(str(journal)))).trials
    except KeyError:
        return []


def _status(studies: Path) -> dict:
    run = subprocess.run([sys.executable, "-m", "mmrest.cli", "status", str(studies / "race"), "--json"],
                         capture_output=True, text=True, check=True)
    return json.loads(run.stdout)["stages"]["coarse"]


def _results(studies: Path) -> dict[str, float]:
    return {t.user_attrs["key"]: t.value for t in _trials(studies) if t.state == TrialState.COMPLETE}


def _mid_round(studies: Path) -> bool:
    """A round after the first is under way: some of its trials ended, some still run."""
    later = [t for t in _trials(studies) if t.user_attrs.get("seed") in SEEDS[RACE["start"]:]]
    states = Counter(t.state for t in later)
    return states[TrialState.COMPLETE] >= 1 and states[TrialState.RUNNING] >= 1


def test_a_race_killed_mid_round_resumes_to_the_same_trials_and_verdicts(tmp_path, ray_head):
    spec = _spec(tmp_path)
    alone, killed = tmp_path / "alone", tmp_path / "killed"
    out, _ = _run(spec, alone, ray_head).communicate(timeout=900)
    assert "round 2" in out, out
    reference = _results(alone)
    race = _status(alone)
    assert race["round"] >= 1 and race["seeds"]["base"] > RACE["start"]
    # Racing spent fewer trials than every point at max seeds would.
    assert len(reference) < 4 * RACE["max"]

    first = _run(spec, killed, ray_head)
    try:
        deadline = time.monotonic() + 900
        while True:
            assert first.poll() is None, f"the run ended before a round could be interrupted:\n{first.stdout.read()}"
            assert time.monotonic() < deadline, "no moment in the middle of a later round"
            if _mid_round(killed):
                first.send_signal(signal.SIGSTOP)  # the driver is the journal's only writer: the state holds
                if _mid_round(killed):
                    break
                first.send_signal(signal.SIGCONT)
            time.sleep(0.1)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
    assert len(_results(killed)) < len(reference)
    second = _run(spec, killed, ray_head, "--resume")
    out, _ = second.communicate(timeout=900)
    assert second.returncode == 0, out

    trials = _trials(killed)
    keys = Counter(t.user_attrs["key"] for t in trials)
    assert set(keys.values()) == {1}, "a trial ran twice"
    assert _results(killed) == reference  # the same trials, and (training is seeded) the same values
    assert _status(killed) == race  # the same seeds per point and the same verdicts
