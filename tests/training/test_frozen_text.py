"""The frozen-path knobs: standardised text vectors, input dropout on h_t, and the preset that
sets them while keeping the paper's values."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from mmrest.config import PRESETS, STUDY_HYPERPARAMETERS, make_config
from mmrest.errors import InputError
from mmrest.model.network import Inputs, MMRestNet
from mmrest.training.batches import to_tensors

CPU = torch.device("cpu")


def first_tokens(split):
    return np.array([sample[0] for sample in split.text], dtype=np.float64)


def test_standardised_text_uses_the_training_statistics_for_every_split(make_tiny):
    data = make_tiny(seed=0, sizes=(40, 20, 20), text_dim=5)
    # A constant column must keep scale 1 rather than become NaN.
    text = data.train.text.copy()
    text[:, 0, 3] = 2.5
    data = dataclasses.replace(data, train=dataclasses.replace(data.train, text=text))
    tensors = to_tensors(data, make_config("mosi", {"text_standardize": True}), CPU)

    train = first_tokens(data.train)
    mean = train.mean(0)
    std = np.array([np.sqrt(np.mean((train[:, j] - mean[j]) ** 2)) for j in range(train.shape[1])])
    std[3] = 1.0
    for name in ("train", "valid", "test"):
        want = (first_tokens(data.split(name)) - mean) / std
        np.testing.assert_allclose(tensors[name].inputs.text.numpy(), want, rtol=1e-5, atol=1e-5)
    assert np.all(tensors["train"].inputs.text.numpy()[:, 3] == 0.0)


def test_without_the_knobs_the_text_vector_is_the_pooled_features(make_tiny):
    data = make_tiny(seed=1, sizes=(20, 10, 10))
    tensors = to_tensors(data, make_config("mosi"), CPU)
    np.testing.assert_array_equal(tensors["valid"].inputs.text.numpy(), data.valid.text[:, 0, :])


def test_standardising_is_refused_for_the_bert_backend():
    with pytest.raises(InputError, match="text_standardize"):
        make_config("mosi", {"text_standardize": True, "text_backend": "bert"})


def _text_seen_by_the_layers(model: MMRestNet, text: torch.Tensor) -> torch.Tensor:
    """What the layers reading h_t receive, for a batch of text vectors (other inputs empty)."""
    n = text.shape[0]
    lengths = torch.ones(n, dtype=torch.long)
    batch = Inputs(text, None, torch.zeros(n, 1, 5), lengths, torch.zeros(n, 1, 20), lengths)
    seen = []
    handle = model.text_to_metric.register_forward_hook(lambda module, args, out: seen.append(args[0]))
    model(batch)
    handle.remove()
    return seen[0]


def test_text_dropout_drops_and_rescales_in_training_only():
    cfg = make_config("mosi", {"text_dropout": 0.5})
    model = MMRestNet(cfg, text_dim=64, audio_dim=5, vision_dim=20)
    text = torch.rand(200, 64) + 1.0  # no zero of its own
    torch.manual_seed(0)
    seen = _text_seen_by_the_layers(model.train(), text)
    dropped = seen == 0
    assert 0.45 < dropped.float().mean() < 0.55
    torch.testing.assert_close(seen[~dropped], 2.0 * text[~dropped])
    torch.testing.assert_close(_text_seen_by_the_layers(model.eval(), text), text)


def test_the_frozen_preset_keeps_the_papers_values_and_the_paper_presets_keep_the_defaults():
    mosi, frozen = make_config("mosi"), make_config("mosi_frozen")
    assert [getattr(frozen, n) for n in STUDY_HYPERPARAMETERS] == [getattr(mosi, n) for n in STUDY_HYPERPARAMETERS]
    changed = {key for key in type(mosi).model_fields if getattr(mosi, key) != getattr(frozen, key)}
    assert changed == set(PRESETS["mosi_frozen"]) - set(PRESETS["mosi"])
    for paper in (mosi, make_config("mosei")):
        assert (paper.text_dropout, paper.text_standardize, paper.lr) == (0.0, False, 1e-4)
