"""`data check`'s numbers on a tiny hand-made dataset, and the 7-class bin edges of the spec."""
from __future__ import annotations

import math

import numpy as np

from mmrest.data.dataset import MSADataset, Split
from mmrest.data.summary import ModalitySummary, format_summary, summarize


def _split(labels, audio_lengths, vision_lengths, text_mask=None):
    n = len(labels)
    text_bert = None
    if text_mask is not None:
        mask = np.array(text_mask, dtype=np.int64)
        text_bert = np.stack([mask * 7, mask, np.zeros_like(mask)], axis=1)
    return Split(
        ids=[str(i) for i in range(n)],
        labels=np.array(labels, dtype=np.float32),
        audio=np.zeros((n, 4, 5), dtype=np.float32),
        audio_lengths=np.array(audio_lengths, dtype=np.int64),
        vision=np.zeros((n, 6, 2), dtype=np.float32),
        vision_lengths=np.array(vision_lengths, dtype=np.int64),
        text=None if text_mask is None else np.zeros((n, 3, 8), dtype=np.float32),
        text_bert=text_bert,
    )


def test_summary_numbers_on_a_hand_made_dataset():
    dataset = MSADataset(
        source="tiny.pkl", format="mmsa", absent_modalities=("vision",),
        train=_split([-3, 0, 0.5, 2.5], [1, 4, 2, 3], [6, 6, 1, 2], [[1, 1, 0], [1, 1, 1], [1, 0, 0], [1, 1, 0]]),
        valid=_split([1.0, -1.0], [2, 2], [3, 5], [[1, 1, 1], [1, 1, 1]]),
        test=_split([-0.5], [4], [6], [[1, 1, 0]]),
    )
    summary = summarize(dataset)
    train, valid, test = summary.splits
    assert summary.absent_modalities == ("vision",) and [s.name for s in summary.splits] == ["train", "valid", "test"]
    assert train.count == 4 and valid.count == 2 and test.count == 1
    # mean 0, population variance (9 + 0 + 0.25 + 6.25) / 4
    assert math.isclose(train.label_mean, 0.0, abs_tol=1e-7)
    assert math.isclose(train.label_std, math.sqrt(15.5 / 4), rel_tol=1e-6)
    assert (train.label_min, train.label_max) == (-3.0, 2.5)
    assert train.histogram == (1, 0, 0, 1, 1, 0, 1)
    assert valid.histogram == (0, 0, 1, 0, 1, 0, 0) and test.histogram == (0, 0, 1, 0, 0, 0, 0)
    assert train.modalities["audio"] == ModalitySummary(dim=5, padded_len=4, min_len=1, max_len=4)
    assert train.modalities["vision"] == ModalitySummary(dim=2, padded_len=6, min_len=1, max_len=6)
    assert train.modalities["text"] == ModalitySummary(dim=8, padded_len=3, min_len=1, max_len=3)
    assert valid.modalities["text"].min_len == 3

    text = format_summary(summary)
    assert "tiny.pkl (mmsa); absent modalities: vision" in text
    assert "1-4 of 4" in text and "1-6 of 6" in text and "1-3 of 3" in text
    assert "1.969" in text and "-3.00" in text and "(-0.5,0.5)" in text


def test_summary_of_a_split_without_text_features():
    split = _split([0.0, 1.0], [1, 2], [3, 4])
    dataset = MSADataset(source="x", format="mmim", train=split, valid=split, test=split)
    text = summarize(dataset).splits[0].modalities["text"]
    assert text == ModalitySummary(dim=None, padded_len=None, min_len=None, max_len=None)
    assert "absent modalities: none" in format_summary(summarize(dataset))
