"""Every way a dataset file is refused: the message names file, split and key; the CLI exits 2
and writes nothing."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from mmrest.cli import main
from mmrest.data.readers import load_dataset
from mmrest.errors import InputError


@pytest.fixture
def build(make_mmsa, make_mmim, strip_truth, write_pickle):
    return SimpleNamespace(mmsa=make_mmsa, mmim=make_mmim, strip=strip_truth, write=write_pickle)


def _mmsa_with(b, tmp_path, change):
    raw = b.mmsa()
    change(raw)
    return b.write(tmp_path / "data.pkl", raw), None


def _mmim_with(b, tmp_path, change, *, csv_change=lambda frame: frame, with_csv=True):
    raw, frame = b.mmim()
    change(raw)
    csv = tmp_path / "label.csv"
    csv_change(frame).to_csv(csv, index=False)
    return b.write(tmp_path / "noalign.pkl", b.strip(raw)), (csv if with_csv else None)


def _not_a_pickle(b, tmp_path):
    path = tmp_path / "data.pkl"
    path.write_text("id,text\n1,hello\n")
    return path, None


def _replace(split, key, new_value):
    def change(raw):
        raw[split][key] = new_value(raw[split][key])
    return change


def _put(split, key, index, value):
    def change(raw):
        raw[split][key][index] = value
    return change


def _delete(split, key):
    def change(raw):
        del raw[split][key]
    return change


def _mmsa(change):
    return lambda b, t: _mmsa_with(b, t, change)


def _mmim(change, **options):
    return lambda b, t: _mmim_with(b, t, change, **options)


def _unchanged(raw):
    return None


def _mmsa_given_labels(b, t):
    return _mmsa_with(b, t, _unchanged)[0], t / "label.csv"


def _mmim_given_absent_csv(b, t):
    return _mmim_with(b, t, _unchanged)[0], t / "nowhere.csv"


# name -> (builder, substrings the message must contain besides the faulty file's path)
CASES = {
    "missing file": (lambda b, t: (t / "absent.pkl", None), ["no such file"]),
    "not a pickle": (_not_a_pickle, ["not a readable pickle"]),
    "not a dict": (lambda b, t: (b.write(t / "data.pkl", [1, 2, 3]), None), ["dict of splits"]),
    "missing split": (_mmsa(lambda raw: raw.pop("valid")), ["split 'valid'"]),
    "split not a dict": (_mmsa(lambda raw: raw.update(test=[1])), ["split 'test'"]),
    "neither format": (_mmsa(_delete("train", "regression_labels")), ["split 'train'", "regression_labels", "labels"]),
    "mmsa missing key": (_mmsa(_delete("test", "audio")), ["split 'test'", "key 'audio'", "missing"]),
    "mmsa missing raw_text": (_mmsa(_delete("valid", "raw_text")), ["split 'valid'", "key 'raw_text'"]),
    "mmsa audio count": (_mmsa(_replace("valid", "audio", lambda a: a[:-1])),
                         ["split 'valid'", "key 'audio'", "2 samples but the labels have 3"]),
    "mmsa id count": (_mmsa(_replace("train", "id", lambda ids: ids[:-1])), ["split 'train'", "key 'id'"]),
    "mmsa lengths count": (_mmsa(_replace("test", "vision_lengths", lambda v: v[:-1])),
                           ["split 'test'", "key 'vision_lengths'"]),
    "mmsa label too high": (_mmsa(_put("test", "regression_labels", 1, 3.5)),
                            ["split 'test'", "key 'regression_labels'", "outside [-3, 3]", "sample 1"]),
    "mmsa label nan": (_mmsa(_put("train", "regression_labels", 0, np.nan)),
                       ["split 'train'", "key 'regression_labels'", "outside [-3, 3]"]),
    "mmsa 2-d audio": (_mmsa(_replace("train", "audio", lambda a: a[:, 0])), ["split 'train'", "key 'audio'", "(N, L, d)"]),
    "mmsa text_bert shape": (_mmsa(_replace("valid", "text_bert", lambda t: t[:, :2])),
                             ["split 'valid'", "key 'text_bert'"]),
    "mmsa negative length": (_mmsa(_put("train", "audio_lengths", 0, -1)),
                             ["split 'train'", "key 'audio_lengths'", "negative"]),
    "mmsa with labels csv": (_mmsa_given_labels, ["drop --labels"]),
    "meta not a dict": (_mmsa(lambda raw: raw.update(meta=["audio"])), ["key 'meta'"]),
    "meta bad modality": (_mmsa(lambda raw: raw.update(meta={"absent_modalities": ["sound"]})),
                          ["meta/absent_modalities"]),
    "mmim without csv": (_mmim(_unchanged, with_csv=False), ["--labels", "MMIM"]),
    "mmim missing key": (_mmim(_delete("valid", "id")), ["split 'valid'", "key 'id'", "missing"]),
    "mmim vision count": (_mmim(_replace("test", "vision", lambda v: v[:2])),
                          ["split 'test'", "key 'vision'", "2 samples but the labels have 3"]),
    "mmim label out of range": (_mmim(_put("valid", "labels", (1, 0, 0), -3.01)),
                                ["split 'valid'", "key 'labels'", "outside [-3, 3]"]),
    "mmim csv rows missing": (_mmim(_unchanged, csv_change=lambda f: f[f.clip_id.astype(str) != "2"]),
                              ["split 'train'", "key 'id'", "no row in", "label.csv", "v_train_0_2"]),
    "mmim csv without text": (_mmim(_unchanged, csv_change=lambda f: f.drop(columns="text")),
                              ["label.csv", "missing column 'text'"]),
    "mmim csv missing": (_mmim_given_absent_csv, ["nowhere.csv", "not found"]),
}
# Cases where the fault is in the label CSV, so the message names the CSV rather than the pickle.
CSV_FAULTS = {"mmim csv without text", "mmim csv missing"}


@pytest.mark.parametrize("case", list(CASES))
def test_python_api_refuses_naming_file_split_and_key(case, tmp_path, build):
    builder, expected = CASES[case]
    path, labels = builder(build, tmp_path)
    with pytest.raises(InputError) as caught:
        load_dataset(path, labels=labels)
    message = str(caught.value)
    for text in [str(labels if case in CSV_FAULTS else path), *expected]:
        assert text in message, f"{text!r} not in {message!r}"


@pytest.mark.parametrize("case", list(CASES))
def test_cli_check_exits_2_with_the_message_and_writes_nothing(case, tmp_path, build, snapshot, capsys):
    builder, expected = CASES[case]
    path, labels = builder(build, tmp_path)
    before = snapshot(tmp_path)
    argv = ["data", "check", str(path)] + (["--labels", str(labels)] if labels else [])

    assert main(argv) == 2

    err = capsys.readouterr().err
    assert err.startswith("mmrest-study: error: ") and all(text in err for text in expected)
    assert snapshot(tmp_path) == before
