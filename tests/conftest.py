"""Shared test fixtures. `tests/fixtures` holds modules that several test folders import by name
(hand-made trial tables in the schema of mmrest.trial_table, the tiny data files, the study and
browser helpers); the session fixtures here give every folder one real Ray head, one finished
tiny study and one headless Chromium per test worker (pytest-xdist runs two; pyproject.toml)."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from report_browser import Chromium, chromium_binary  # noqa: E402
from study_helpers import HEAD_ENV, free_port, run_on_head, tiny_spec, write_spec  # noqa: E402

from mmrest.study.cluster import reap_orphans  # noqa: E402

RAY = str(Path(sys.executable).with_name("ray"))


@pytest.fixture(scope="session")
def ray_head():
    """A real `ray start --head` on 127.0.0.1 (2 CPUs) that the in-process runs join; stopped,
    with every process of its session, at the end even when tests fail."""
    port = free_port()
    # A short temp dir: Ray's socket paths must stay under the 107-byte limit.
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")
    # Token authentication off for this private head; drivers join it through run_on_head.
    env = {**os.environ, **HEAD_ENV}
    head = subprocess.Popen(
        [RAY, "start", "--head", "--block", f"--port={port}", "--node-ip-address=127.0.0.1", "--num-cpus=2",
         "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    address = f"127.0.0.1:{port}"
    try:
        _wait_for_head(port, Path(temp), head, timeout_s=60)
        yield address
    finally:
        _stop_group(head)
        reap_orphans(temp)
        shutil.rmtree(temp, ignore_errors=True)


def _wait_for_head(port: int, temp: Path, process: subprocess.Popen, timeout_s: float) -> None:
    """Until the GCS answers on its port and the raylet has opened its socket (the GCS answers
    before the raylet is up, and a driver that joins before then fails)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"ray start exited with {process.returncode}")
        if (temp / "session_latest" / "sockets" / "raylet").exists() and _listening(port):
            return
        time.sleep(0.2)
    raise RuntimeError(f"no Ray head on port {port} after {timeout_s}s")


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def _stop_group(process: subprocess.Popen) -> None:
    # A head given SIGTERM takes up to ten seconds to wind down; the reaper that follows cleans up
    # whatever a SIGKILL leaves, so three are enough.
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=3)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass


E2E_STAGES = [
    # eta = 1e308 makes the loss infinite at the first step: a real failed trial.
    {"name": "coarse", "design": "one_at_a_time", "params": {"k": [3, 5], "gamma": [0, 0.5], "eta": [1.0e308]}},
    {"name": "fine", "design": "one_at_a_time", "refine": {"from": "coarse", "points": 1}},
]


@pytest.fixture(scope="session")
def finished_study(tmp_path_factory, ray_head) -> Path:
    """The tiny two-stage study, run once through the CLI on the shared Ray head."""
    root = tmp_path_factory.mktemp("e2e")
    spec = write_spec(root / "e2e.yaml", tiny_spec("e2e", stages=E2E_STAGES))
    run = run_on_head("run", str(spec), "--studies-dir", str(root / "studies"), "--ray-address", ray_head)
    # The eta = 1e308 trials fail: the study finishes, and its exit code and last lines say so.
    assert run.returncode == 1, run.stdout + run.stderr
    assert "trial(s) failed" in run.stdout and "coarse/eta=1e+308/seed=1: " in run.stdout, run.stdout
    return root / "studies" / "e2e"


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory):
    """A tiny randomly initialised BERT saved as a local model folder (no weights are downloaded)."""
    import torch
    from transformers import BertConfig, BertModel

    path = tmp_path_factory.mktemp("tiny-bert")
    cfg = BertConfig(vocab_size=120, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=64)
    torch.manual_seed(0)
    BertModel(cfg).save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def browser():
    """A real headless Chromium for the page checks, one for the whole of a worker's run."""
    binary = chromium_binary()
    if binary is None:
        pytest.skip("no chromium on PATH (Debian: apt-get install chromium); the browser checks need it")
    chromium = Chromium(binary)
    yield chromium
    chromium.close()
