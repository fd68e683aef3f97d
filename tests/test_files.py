"""The one atomic writer: unique temporary names, nothing left behind on failure."""
import os
import stat
import threading

import pytest

from mmrest.errors import InputError
from mmrest.files import refuse_existing, write_atomic, write_json_atomic, write_text_atomic


def test_a_failed_write_leaves_neither_the_file_nor_a_temporary(tmp_path):
    def broken(handle):
        handle.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_atomic(tmp_path / "out.json", broken)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_keeps_the_old_file(tmp_path):
    target = write_text_atomic(tmp_path / "out.txt", "old")
    with pytest.raises(RuntimeError):
        write_atomic(target, lambda handle: (_ for _ in ()).throw(RuntimeError("boom")))
    assert target.read_text() == "old" and list(tmp_path.iterdir()) == [target]


def test_concurrent_writers_never_leave_a_mixed_file(tmp_path):
    # Each writer uses its own temporary name, so every reader sees one writer's whole text.
    target = tmp_path / "run.json"
    texts = [str(i) * 100_000 for i in range(8)]
    threads = [threading.Thread(target=write_text_atomic, args=(target, t)) for t in texts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert target.read_text() in texts and list(tmp_path.iterdir()) == [target]


def test_without_overwrite_an_existing_file_is_refused(tmp_path):
    target = write_text_atomic(tmp_path / "data.pkl", "first")
    with pytest.raises(InputError, match="already exists; choose another --out or pass --force"):
        refuse_existing(target, overwrite=False)
    with pytest.raises(InputError, match="appeared while writing"):
        write_text_atomic(target, "second", overwrite=False)
    assert target.read_text() == "first" and list(tmp_path.iterdir()) == [target]


def test_json_reads_back_nan(tmp_path):
    import json
    import math

    path = write_json_atomic(tmp_path / "f.json", {"mae": float("nan"), "n": 3})
    loaded = json.loads(path.read_text())
    assert loaded["n"] == 3 and math.isnan(loaded["mae"])


def test_written_files_take_the_mode_an_ordinary_open_gives(tmp_path):
    # A report mailed to a colleague or served from a shared folder must not come out 0600.
    old = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "report.html", "<html></html>")
        (tmp_path / "plain.html").write_text("<html></html>")
    finally:
        os.umask(old)
    mode = stat.S_IMODE((tmp_path / "report.html").stat().st_mode)
    assert mode == stat.S_IMODE((tmp_path / "plain.html").stat().st_mode) == 0o644
