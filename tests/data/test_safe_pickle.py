"""Dataset pickles are read without running anything they name: a tampered file is refused
before its payload runs, while the files numpy 1.x and 2.x write still load."""
from __future__ import annotations

import builtins
import io
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mmrest.data.readers import load_dataset
from mmrest.data.safe_pickle import ForbiddenGlobal, load_restricted

FILES = Path(__file__).parent / "files"


class _ShellPayload:
    """Unpickles into `os.system(command)`."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


class _OpenPayload:
    """Unpickles into `open(path, "w")`, which creates the file."""

    def __init__(self, path: Path):
        self.path = str(path)

    def __reduce__(self):
        return builtins.open, (self.path, "w")


PAYLOADS = {
    "os.system": (lambda marker: _ShellPayload(f"touch {marker}"), "posix.system"),
    "builtins.open": (lambda marker: _OpenPayload(marker), "io.open"),
}


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mmrest.cli", *args], capture_output=True, text=True, timeout=120)


def _tampered(tmp_path: Path, make_mmsa, payload, protocol: int) -> tuple[Path, Path]:
    """A well-formed MMSA file whose transcripts of one split are the payload."""
    marker = tmp_path / "created_by_payload"
    raw = make_mmsa()
    raw["valid"]["raw_text"] = payload(marker)
    path = tmp_path / "unaligned_50.pkl"
    path.write_bytes(pickle.dumps(raw, protocol=protocol))
    return path, marker


@pytest.mark.parametrize("name", list(PAYLOADS))
def test_the_payloads_do_create_the_file_under_plain_pickle(name, tmp_path, make_mmsa):
    # Proof that the refusal tests below could fail: plain pickle runs the payload.
    payload, _ = PAYLOADS[name]
    path, marker = _tampered(tmp_path, make_mmsa, payload, pickle.HIGHEST_PROTOCOL)
    loader = f"import pickle; pickle.load(open({str(path)!r}, 'rb'))"
    subprocess.run([sys.executable, "-c", loader], check=True, timeout=60)
    assert marker.exists()


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
@pytest.mark.parametrize("name", list(PAYLOADS))
def test_cli_check_refuses_a_tampered_file_naming_the_class_and_nothing_runs(name, protocol, tmp_path,
                                                                              make_mmsa, snapshot):
    payload, qualified = PAYLOADS[name]
    path, marker = _tampered(tmp_path, make_mmsa, payload, protocol)
    before = snapshot(tmp_path)

    done = _cli("data", "check", str(path))

    assert done.returncode == 2, done.stderr
    assert str(path) in done.stderr and f"'{qualified}'" in done.stderr and "tampered" in done.stderr
    assert "Traceback" not in done.stderr
    assert not marker.exists()
    assert snapshot(tmp_path) == before


def test_refusal_names_the_first_foreign_class_before_calling_anything():
    calls = []

    class Recorder:
        def __reduce__(self):
            return calls.append, ("ran",)

    data = pickle.dumps({"train": np.zeros(2), "x": Recorder()})
    with pytest.raises(ForbiddenGlobal) as caught:
        load_restricted(io.BytesIO(data))
    assert caught.value.qualified_name == "builtins.getattr"  # how a bound method pickles
    assert calls == []


def test_codecs_encode_is_admitted_for_latin1_only():
    # Protocol 2 spells bytes as _codecs.encode(text, "latin1"); another codec is refused.
    assert load_restricted(io.BytesIO(pickle.dumps(b"\x00\xffab", protocol=2))) == b"\x00\xffab"
    forged = b"\x80\x02c_codecs\nencode\nq\x00X\x03\x00\x00\x00abcX\x05\x00\x00\x00rot13\x86R."
    with pytest.raises(ForbiddenGlobal, match="rot13"):
        load_restricted(io.BytesIO(forged))


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_numpy_and_builtin_data_round_trip_at_every_protocol(protocol):
    obj = {
        "float": np.arange(12, dtype=np.float32).reshape(3, 4),
        "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        "unicode": np.array(["a", "bcd"]),
        "bytes": np.array([b"ab", b"c"], dtype="S4"),
        "object": np.array(["text", 3], dtype=object),
        "record": np.zeros(2, dtype=[("x", "f4"), ("y", "i8")]),
        "scalars": (np.float64(1.5), np.int64(-2), np.bool_(True), np.str_("s")),
        "dtype": np.dtype("<f8"),
        "builtins": [{1, 2}, frozenset({3}), bytearray(b"xy"), 1 + 2j, None, True, 2**70, "é", b"\x00"],
    }
    back = load_restricted(io.BytesIO(pickle.dumps(obj, protocol=protocol)))
    assert back.keys() == obj.keys()
    for key in ("float", "fortran", "unicode", "bytes", "object", "record"):
        assert back[key].dtype == obj[key].dtype
        np.testing.assert_array_equal(back[key], obj[key])
    assert back["fortran"].flags.f_contiguous
    assert back["scalars"] == obj["scalars"] and type(back["scalars"][0]) is np.float64
    assert back["dtype"] == obj["dtype"] and back["builtins"] == obj["builtins"]


@pytest.mark.parametrize("protocol", [2, 4])
def test_pickles_written_by_numpy_1_load_as_plain_pickle_reads_them(protocol):
    # Written by numpy 1.26 (files/make_numpy1_pickles.py): they name numpy.core.multiarray, and
    # protocol 2 carries the array bytes through _codecs.encode.
    path = FILES / f"numpy1_mmsa_protocol{protocol}.pkl"
    assert b"numpy.core.multiarray" in path.read_bytes()
    with path.open("rb") as handle:
        trusted = pickle.load(handle)
    with path.open("rb") as handle:
        restricted = load_restricted(handle)
    for name in ("train", "valid", "test"):
        for key, value in trusted[name].items():
            if isinstance(value, np.ndarray):
                assert restricted[name][key].dtype == value.dtype
                np.testing.assert_array_equal(restricted[name][key], value)
            else:
                assert restricted[name][key] == value
    dataset = load_dataset(path)
    np.testing.assert_array_equal(dataset.valid.labels, trusted["valid"]["regression_labels"])
    assert dataset.train.raw_text == list(trusted["train"]["raw_text"])
