"""The clean-up after a killed driver stops the processes of its own Ray session folder, and only
those: a session whose folder name begins with another's is not taken for it."""
from __future__ import annotations

import subprocess
import sys
import time

from mmrest.study.cluster import reap_orphans, session_processes


def _holding(path) -> subprocess.Popen:
    """A process that keeps `path` open until it is stopped."""
    path.write_text("")
    return subprocess.Popen([sys.executable, "-c", f"f = open({str(path)!r}); import time; time.sleep(600)"])


def _wait_open(process: subprocess.Popen, folder) -> None:
    deadline = time.monotonic() + 30
    while process.pid not in session_processes(str(folder)):
        assert time.monotonic() < deadline, "the holder never opened its file"
        time.sleep(0.05)


def test_only_the_exact_session_folder_is_reaped(tmp_path):
    mine, other = tmp_path / "session_1", tmp_path / "session_10"
    mine.mkdir()
    other.mkdir()
    (mine / "logs").mkdir()
    holder_mine, holder_other = _holding(mine / "logs" / "raylet.out"), _holding(other / "raylet.out")
    try:
        _wait_open(holder_mine, mine)
        _wait_open(holder_other, other)
        assert session_processes(str(mine)) == [holder_mine.pid]
        assert session_processes(str(mine) + "/") == [holder_mine.pid]  # a trailing separator changes nothing
        assert reap_orphans(str(mine), grace_s=10) == [holder_mine.pid]
        assert holder_mine.wait(timeout=10) is not None
        assert holder_other.poll() is None  # session_10 lives on
    finally:
        for process in (holder_mine, holder_other):
            process.kill()
            process.wait()
