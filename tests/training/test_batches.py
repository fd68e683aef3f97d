"""Batches keep one shape per split, and cutting them keeps each row's own data."""
import dataclasses

import numpy as np
import torch

from mmrest.config import make_config
from mmrest.training.batches import to_tensors

CPU = torch.device("cpu")


def with_lengths(data, audio_max, vision_max):
    """The tiny data with every sequence's real steps cut to at most the given lengths."""

    def cut(split):
        return dataclasses.replace(split, audio_lengths=np.minimum(split.audio_lengths, audio_max),
                                   vision_lengths=np.minimum(split.vision_lengths, vision_max))

    return dataclasses.replace(data, train=cut(data.train), valid=cut(data.valid), test=cut(data.test))


def test_sequences_are_cut_once_to_the_longest_real_one_of_their_split(make_tiny):
    data = with_lengths(make_tiny(steps=9), audio_max=5, vision_max=7)
    tensors = to_tensors(data, make_config("mosi"), CPU)
    for name, split in tensors.items():
        source = data.split(name)
        assert split.inputs.audio.shape[1] == source.audio_lengths.max() == 5
        assert split.inputs.vision.shape[1] == source.vision_lengths.max() == 7
        np.testing.assert_array_equal(split.inputs.audio.numpy(), source.audio[:, :5])
        assert split.inputs.audio_lengths.device == split.inputs.audio.device


def test_a_split_without_any_real_step_keeps_one_step(make_tiny):
    data = with_lengths(make_tiny(), audio_max=0, vision_max=0)
    split = to_tensors(data, make_config("mosi"), CPU)["train"]
    assert split.inputs.audio.shape[1] == split.inputs.vision.shape[1] == 1
    assert int(split.inputs.audio_lengths.max()) == 0


def test_every_batch_has_the_split_shape_and_its_rows_data(make_tiny):
    data = make_tiny(steps=9)
    split = to_tensors(data, make_config("mosi"), CPU)["train"]
    order = torch.randperm(len(split), generator=torch.Generator().manual_seed(0))
    shapes = set()
    for start in range(0, len(split), 32):
        index = order[start : start + 32]
        batch, labels = split.take(index)
        shapes.add((batch.audio.shape[1], batch.vision.shape[1]))
        np.testing.assert_array_equal(batch.audio.numpy(), data.train.audio[index.numpy(), : batch.audio.shape[1]])
        np.testing.assert_array_equal(batch.vision_lengths.numpy(), data.train.vision_lengths[index.numpy()])
        np.testing.assert_array_equal(labels.numpy(), data.train.labels[index.numpy()])
    assert shapes == {(split.inputs.audio.shape[1], split.inputs.vision.shape[1])}
