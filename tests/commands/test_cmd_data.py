"""`mmrest-study data synth|check`: files written only when asked, never partially, never clobbered."""
from __future__ import annotations

import pickle

import pytest

from mmrest.cli import main
from mmrest.data.pickle_io import write_pickle_atomic
from mmrest.data.readers import load_dataset

SMALL = ["--train", "12", "--valid", "5", "--test", "6", "--text-len", "4", "--text-dim", "8"]


def test_synth_writes_a_file_the_reader_reads_with_the_requested_sizes(tmp_path, capsys):
    out = tmp_path / "syn.pkl"
    assert main(["data", "synth", "--preset", "mosei", "--out", str(out), "--seed", "5",
                 "--audio-len", "3", "--vision-len", "4", *SMALL]) == 0
    assert str(out) in capsys.readouterr().out
    dataset = load_dataset(out)
    assert [len(dataset.split(n)) for n in ("train", "valid", "test")] == [12, 5, 6]
    assert dataset.train.text.shape == (12, 4, 8)
    assert dataset.train.audio.shape == (12, 3, 74) and dataset.train.vision.shape == (12, 4, 35)
    assert dataset.meta["preset"] == "mosei" and dataset.meta["seed"] == 5
    assert [p.name for p in tmp_path.iterdir()] == ["syn.pkl"]


def test_synth_same_seed_same_bytes_and_refuses_to_overwrite_without_force(tmp_path, capsys):
    a, b = tmp_path / "a.pkl", tmp_path / "b.pkl"
    assert main(["data", "synth", "--preset", "mosi", "--out", str(a), *SMALL]) == 0
    assert main(["data", "synth", "--preset", "mosi", "--out", str(b), *SMALL]) == 0
    original = a.read_bytes()
    assert original == b.read_bytes()
    capsys.readouterr()

    assert main(["data", "synth", "--preset", "mosi", "--out", str(a), "--seed", "1", *SMALL]) == 2
    assert "already exists" in capsys.readouterr().err and a.read_bytes() == original

    assert main(["data", "synth", "--preset", "mosi", "--out", str(a), "--seed", "1", "--force", *SMALL]) == 0
    assert a.read_bytes() != original and load_dataset(a).meta["seed"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.pkl", "b.pkl"]


@pytest.mark.parametrize("bad", [["--train", "0"], ["--text-len", "1"], ["--vision-signal", "2"], ["--seed", "-3"]])
def test_synth_bad_sizes_exit_2_and_write_nothing(bad, tmp_path, capsys):
    assert main(["data", "synth", "--preset", "mosi", "--out", str(tmp_path / "x.pkl"), *SMALL, *bad]) == 2
    assert "mmrest-study: error:" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_check_prints_the_summary_of_each_split(tmp_path, capsys):
    out = tmp_path / "syn.pkl"
    main(["data", "synth", "--preset", "mosi", "--out", str(out), *SMALL])
    capsys.readouterr()
    assert main(["data", "check", str(out)]) == 0
    text = capsys.readouterr().out
    lines = {}
    for line in text.splitlines():  # the first table's rows: split, count, ...
        if line.strip():
            lines.setdefault(line.split()[0], line)
    assert lines["train"].split()[1] == "12" and lines["valid"].split()[1] == "5" and lines["test"].split()[1] == "6"
    assert "7-class label histogram" in text and "[2.5,3]" in text


def test_check_reads_an_mmim_pickle_with_its_labels(tmp_path, make_mmim, strip_truth, write_pickle, capsys):
    raw, frame = make_mmim()
    csv = tmp_path / "label.csv"
    frame.to_csv(csv, index=False)
    path = write_pickle(tmp_path / "mosi_data_noalign.pkl", strip_truth(raw))
    assert main(["data", "check", str(path), "--labels", str(csv)]) == 0
    assert "(mmim)" in capsys.readouterr().out


def test_a_failed_write_leaves_no_file_behind(tmp_path):
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        write_pickle_atomic({"fine": 1, "not picklable": lambda: None}, tmp_path / "out.pkl", overwrite=False)
    assert list(tmp_path.iterdir()) == []
