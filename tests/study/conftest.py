"""Shared fixtures of the study tests: a tiny spec, one real Ray head for the whole session, and
one finished tiny study that several tests read."""
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
from study_helpers import HEAD_ENV, free_port, run_on_head, tiny_spec, write_spec

from mmrest.study.cluster import reap_orphans

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
        _wait_for_port(port, head, timeout_s=60)
        yield address
    finally:
        _stop_group(head)
        reap_orphans(temp)
        shutil.rmtree(temp, ignore_errors=True)


def _wait_for_port(port: int, process: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"ray start exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            time.sleep(2)  # the GCS answers before the raylet has registered
            return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"nothing listens on port {port} after {timeout_s}s")


def _stop_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
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
    assert run.returncode == 0, run.stdout + run.stderr
    return root / "studies" / "e2e"
