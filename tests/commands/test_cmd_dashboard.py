"""`mmrest-study dashboard` serves the finished study's storage on 127.0.0.1: its API lists
every stage and returns every trial."""
from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from study_helpers import free_port

pytestmark = pytest.mark.slow


def _get(url: str, process: subprocess.Popen, timeout_s: float = 60) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the dashboard exited: {process.stdout.read()}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return json.loads(response.read())
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.3)
    pytest.fail(f"no answer from {url}")


def test_dashboard_answers_on_its_api(finished_study):
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "mmrest.cli", "dashboard", str(finished_study), "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        summaries = _get(f"http://127.0.0.1:{port}/api/studies", process)["study_summaries"]
        ids = {s["study_name"]: s["study_id"] for s in summaries}
        assert set(ids) == {"e2e.coarse", "e2e.fine"}
        coarse = _get(f"http://127.0.0.1:{port}/api/studies/{ids['e2e.coarse']}?after=0", process)
        assert len(coarse["trials"]) == 12
        assert {t["state"] for t in coarse["trials"]} == {"Complete", "Fail"}
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert f"http://127.0.0.1:{port}/" in process.stdout.read()
