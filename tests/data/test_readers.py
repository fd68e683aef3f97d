"""Both distributed formats on small files the tests build: values, dtypes, padding, id mapping."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from mmrest.data.dataset import SPLITS
from mmrest.data.readers import load_dataset


def front_to_back_oracle(steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """MMIM's rule written as a loop: length = steps not all zero; keep the last `length` steps."""
    out = np.zeros(steps.shape, dtype=np.float32)
    lengths = np.zeros(steps.shape[0], dtype=np.int64)
    for i, sample in enumerate(steps):
        length = sum(1 for step in sample if any(value != 0 for value in step))
        lengths[i] = length
        for t in range(length):
            out[i, t] = sample[len(sample) - length + t]
    return out, lengths


# ---------------------------------------------------------------- MMSA


def test_mmsa_unaligned_keeps_values_and_lengths_in_normal_dtypes(tmp_path, make_mmsa, write_pickle):
    raw = make_mmsa(aligned=False)
    path = write_pickle(tmp_path / "unaligned_50.pkl", raw)

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # clean data: no warning at all
        dataset = load_dataset(path)

    assert dataset.format == "mmsa" and dataset.source == str(path)
    assert dataset.absent_modalities == () and dataset.meta == {}
    assert (dataset.text_dim, dataset.audio_dim, dataset.vision_dim) == (6, 3, 4)
    for name in SPLITS:
        split, source = dataset.split(name), raw[name]
        assert split.ids == source["id"]
        assert split.raw_text == list(source["raw_text"])
        assert split.labels.dtype == np.float32 and split.labels.shape == (len(source["id"]),)
        np.testing.assert_array_equal(split.labels, source["regression_labels"].astype(np.float32))
        for key in ("text", "audio", "vision"):
            assert getattr(split, key).dtype == np.float32
            np.testing.assert_array_equal(getattr(split, key), source[key].astype(np.float32))
        for key in ("audio_lengths", "vision_lengths"):
            assert getattr(split, key).dtype == np.int64
            np.testing.assert_array_equal(getattr(split, key), source[key])
        assert split.text_bert.dtype == np.int64
        np.testing.assert_array_equal(split.text_bert, source["text_bert"])


def test_mmsa_aligned_file_without_lengths_counts_every_step(tmp_path, make_mmsa, write_pickle):
    raw = make_mmsa(aligned=True, audio=(9, 3), vision=(9, 4))
    assert "audio_lengths" not in raw["train"]
    dataset = load_dataset(write_pickle(tmp_path / "aligned_50.pkl", raw))
    for name in SPLITS:
        split = dataset.split(name)
        assert split.audio_lengths.tolist() == [9] * len(split)
        assert split.vision_lengths.tolist() == [9] * len(split)
        assert split.audio_lengths.dtype == np.int64


def test_mmsa_without_text_bert_reads_with_none(tmp_path, make_mmsa, write_pickle):
    raw = make_mmsa()
    for name in SPLITS:
        del raw[name]["text_bert"]
    dataset = load_dataset(write_pickle(tmp_path / "f.pkl", raw))
    assert dataset.train.text_bert is None and dataset.train.text is not None


def test_meta_gives_absent_modalities_and_is_kept(tmp_path, make_mmsa, write_pickle):
    raw = make_mmsa()
    raw["meta"] = {"absent_modalities": ["audio", "vision"], "text_model": "minilm"}
    dataset = load_dataset(write_pickle(tmp_path / "f.pkl", raw))
    assert dataset.absent_modalities == ("audio", "vision")
    assert dataset.meta["text_model"] == "minilm"


def test_lengths_beyond_the_padded_size_are_cut_to_it_with_a_warning(tmp_path, make_mmsa, write_pickle):
    raw = make_mmsa(audio=(7, 3))
    raw["valid"]["audio_lengths"][0] = 12
    with pytest.warns(UserWarning, match="1 sequence lengths exceeded"):
        dataset = load_dataset(write_pickle(tmp_path / "f.pkl", raw))
    assert dataset.valid.audio_lengths[0] == 7


# ---------------------------------------------------------------- NaN / inf


def test_non_finite_features_become_zero_with_one_warning_counting_all(tmp_path, make_mmsa, write_pickle):
    raw = make_mmsa()
    raw["train"]["text"][0, 1, 2] = np.nan
    raw["train"]["text"][1, 0, 0] = np.nan
    raw["valid"]["audio"][0, 0, :] = np.inf
    raw["test"]["vision"][2, 0, 1] = -np.inf
    path = write_pickle(tmp_path / "f.pkl", raw)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset = load_dataset(path)

    assert len(caught) == 1
    message = str(caught[0].message)
    assert str(path) in message and "replaced 6 NaN/infinite" in message
    assert "train/text: 2" in message and "valid/audio: 3" in message and "test/vision: 1" in message
    assert dataset.train.text[0, 1, 2] == 0 and dataset.train.text[1, 0, 0] == 0
    assert (dataset.valid.audio[0, 0] == 0).all() and dataset.test.vision[2, 0, 1] == 0
    for name in SPLITS:
        split = dataset.split(name)
        assert all(np.isfinite(a).all() for a in (split.text, split.audio, split.vision))
    # everything else untouched
    assert dataset.train.text[0, 1, 1] == np.float32(raw["train"]["text"][0, 1, 1])


# ---------------------------------------------------------------- MMIM


def test_mmim_front_padding_moves_to_the_back_hand_made(tmp_path, make_mmim, strip_truth, write_pickle):
    raw, frame = make_mmim(audio=(4, 2), vision=(5, 2))
    audio = raw["train"]["audio"]
    audio[0] = [[0, 0], [0, 0], [1, 2], [3, 4]]     # two padding steps
    audio[1] = [[5, 6], [7, 8], [9, 1], [2, 3]]     # no padding
    audio[2] = 0.0                                   # nothing real
    audio[3] = [[0, 0], [1, 0], [0, 0], [2, 2]]     # an all-zero step inside: MMIM counts it as padding
    csv = tmp_path / "label.csv"
    frame.to_csv(csv, index=False)

    dataset = load_dataset(write_pickle(tmp_path / "mosi_data_noalign.pkl", strip_truth(raw)), labels=csv)

    train = dataset.train
    assert train.audio_lengths.tolist() == [2, 4, 0, 2]
    np.testing.assert_array_equal(train.audio[0], [[1, 2], [3, 4], [0, 0], [0, 0]])
    np.testing.assert_array_equal(train.audio[1], audio[1])
    np.testing.assert_array_equal(train.audio[2], np.zeros((4, 2)))
    # MMIM keeps the last `length` steps: the inner zero step stays, the first real one goes
    np.testing.assert_array_equal(train.audio[3], [[0, 0], [2, 2], [0, 0], [0, 0]])


def test_mmim_matches_a_plain_loop_oracle(tmp_path, make_mmim, strip_truth, write_pickle):
    raw, frame = make_mmim(seed=3, audio=(11, 3), vision=(9, 5))
    csv = tmp_path / "label.csv"
    frame.to_csv(csv, index=False)
    dataset = load_dataset(write_pickle(tmp_path / "f.pkl", strip_truth(raw)), labels=csv)
    for name in SPLITS:
        for key in ("audio", "vision"):
            expected, lengths = front_to_back_oracle(raw[name][key])
            np.testing.assert_array_equal(getattr(dataset.split(name), key), expected)
            np.testing.assert_array_equal(getattr(dataset.split(name), f"{key}_lengths"), lengths)
            np.testing.assert_array_equal(lengths, raw[name][f"_{key}_lengths"])


def test_mmim_ids_bytes_n_by_3_find_their_csv_rows(tmp_path, make_mmim, strip_truth, write_pickle):
    raw, frame = make_mmim()
    csv = tmp_path / "MOSI-label.csv"
    frame.to_csv(csv, index=False)
    dataset = load_dataset(write_pickle(tmp_path / "f.pkl", strip_truth(raw)), labels=csv)
    assert dataset.format == "mmim"
    assert dataset.train.ids[:2] == ["v_train_0_1", "v_train_0_2"]
    for name in SPLITS:
        split = dataset.split(name)
        assert split.raw_text == [f"text of {clip}" for clip in split.ids]
        assert split.text is None and split.text_bert is None
        # labels come from the pickle (as MMIM reads them), not from the CSV
        np.testing.assert_array_equal(split.labels, raw[name]["labels"].reshape(-1).astype(np.float32))
    assert dataset.text_dim is None and (dataset.audio_dim, dataset.vision_dim) == (3, 2)


def test_mmim_with_plain_string_ids_and_an_id_column_csv(tmp_path, make_mmim, strip_truth, write_pickle):
    raw, frame = make_mmim()
    for name in SPLITS:
        raw[name]["id"] = np.array([row[0].decode() for row in raw[name]["id"]])  # (N,) str
    frame = frame.assign(id=frame.video_id + "_" + frame.clip_id.astype(str))[["id", "text", "label", "mode"]]
    csv = tmp_path / "label.csv"
    frame.to_csv(csv, index=False)
    dataset = load_dataset(write_pickle(tmp_path / "f.pkl", strip_truth(raw)), labels=csv)
    assert dataset.valid.raw_text == [f"text of {clip}" for clip in dataset.valid.ids]


def test_mmim_mosei_style_ids_map_by_position_checked_against_video(tmp_path, make_mmim, strip_truth, write_pickle):
    raw, _ = make_mmim()
    rows = []
    for name in SPLITS:
        clips = [row[0].decode() for row in raw[name]["id"]]
        raw[name]["id"] = np.array([[f"{c.rsplit('_', 1)[0]}[{k}]", "0", "1"] for k, c in enumerate(clips)])
        rows += [f"{c.rsplit('_', 1)[0]},{c.rsplit('_', 1)[1]},words {c},0.0,{name}" for c in clips]
    csv = tmp_path / "MOSEI-label.csv"
    csv.write_text("video_id,clip_id,text,label,mode\n" + "\n".join(rows) + "\n")
    dataset = load_dataset(write_pickle(tmp_path / "f.pkl", strip_truth(raw)), labels=csv)
    assert dataset.train.ids[0] == "v_train_0_1"
    assert dataset.test.raw_text[-1] == f"words {dataset.test.ids[-1]}"
