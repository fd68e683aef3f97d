"""GPU scheduling without a GPU: a local runtime declared with one GPU (`ray.num_gpus: 1`) runs
four trials of a quarter GPU and half a CPU each at once, every trial sees the GPU Ray assigned
it, and records the device it trained on (`--device cpu`: no GPU does the arithmetic here)."""
from __future__ import annotations

import subprocess
import sys

import optuna
import pytest
from optuna.storages.journal import JournalFileBackend, JournalStorage
from optuna.trial import TrialState
from study_helpers import tiny_spec, write_spec

pytestmark = pytest.mark.slow

# base + gamma 0, 0.2, 0.5: four trials with one seed, each long enough to overlap the others.
STAGE = {"name": "coarse", "design": "one_at_a_time", "params": {"gamma": [0.0, 0.2, 0.5]}}


def test_four_quarter_gpu_trials_run_at_once(tmp_path):
    spec = write_spec(tmp_path / "gpu.yaml", tiny_spec(
        "gpu", stages=[STAGE], seeds=[1], train={"max_epochs": 6, "patience": 6},
        resources={"cpu": 0.5, "gpu": 0.25}, max_concurrent=4, ray={"num_gpus": 1}))
    # A fresh process: its local Ray runtime is the one the spec declares.
    run = subprocess.run([sys.executable, "-m", "mmrest.cli", "run", str(spec), "--studies-dir",
                          str(tmp_path / "studies"), "--device", "cpu"], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    storage = JournalStorage(JournalFileBackend(str(tmp_path / "studies" / "gpu" / "optuna.journal")))
    trials = optuna.load_study(study_name="gpu.coarse", storage=storage).trials
    assert len(trials) == 4 and all(t.state == TrialState.COMPLETE for t in trials)
    # All four trained at the same time: the last to start began before the first to end ended,
    # both by the workers' own clocks and by Optuna's trial times.
    assert max(t.user_attrs["started_at"] for t in trials) < min(t.user_attrs["ended_at"] for t in trials)
    assert max(t.datetime_start for t in trials) < min(t.datetime_complete for t in trials)
    # Ray gave each trial a share of GPU 0, and the worker saw it as its CUDA_VISIBLE_DEVICES.
    assert {t.user_attrs["cuda_visible_devices"] for t in trials} == {"0"}
    assert {t.user_attrs["device"] for t in trials} == {"cpu"}
