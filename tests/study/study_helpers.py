"""Helpers shared by the study tests (imported by name: the test folders have no packages)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import yaml

TINY_SIZES = {"train": 64, "valid": 32, "test": 32, "text_len": 8, "text_dim": 16, "audio_len": 8, "vision_len": 8}


def tiny_spec(name: str = "tiny", **changes) -> dict:
    """A study that trains for seconds: 64/32/32 synthetic samples, sequences of 8, 2 epochs."""
    spec = {
        "name": name,
        "dataset": {"synthetic": "mosi", "seed": 0, "sizes": dict(TINY_SIZES)},
        "base": "mosi",
        "train": {"max_epochs": 2, "patience": 2},
        "seeds": [1, 2],
        "objective": {"metric": "valid_mae", "mode": "min"},
        "stages": [{"name": "coarse", "design": "one_at_a_time", "params": {"k": [3, 5], "gamma": [0, 0.5]}}],
        "resources": {"cpu": 1, "gpu": 0},
        "max_concurrent": 2,
    }
    spec.update(changes)
    return spec


def write_spec(path: Path, spec: dict) -> Path:
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# The test Ray head runs without token authentication. Ray fixes a process's auth mode the first
# time it is used (a local ray.init in another test switches the pytest process to tokens), so
# only fresh processes with this environment join the head.
HEAD_ENV = {"RAY_AUTH_MODE": "disabled"}


def run_on_head(*args: str, **kwargs) -> subprocess.CompletedProcess:
    """`mmrest-study ARGS` in a fresh process that can join the test Ray head."""
    env = {**os.environ, **HEAD_ENV}
    return subprocess.run([sys.executable, "-m", "mmrest.cli", *args], env=env, capture_output=True,
                          text=True, timeout=600, **kwargs)
