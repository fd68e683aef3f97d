"""SequenceEncoder: the padded LSTM read at each sequence's last real step equals packing by length.

The oracle is the spec's wording taken literally: pack_padded_sequence over the real steps, the
final hidden state; a sequence with no real step keeps the LSTM's zero initial state.
"""
import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

from mmrest.data.readers import load_dataset
from mmrest.model.network import SequenceEncoder


def packed_oracle(encoder: SequenceEncoder, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    real = lengths > 0
    packed = pack_padded_sequence(x[real], lengths[real], batch_first=True, enforce_sorted=False)
    _, (h_n, _) = encoder.lstm(packed)  # h_n comes back in the input's order
    final = torch.zeros(x.shape[0], encoder.lstm.hidden_size, dtype=x.dtype).index_put((real.nonzero()[:, 0],), h_n[-1])
    return encoder.out(final)


def outputs_and_gradients(encoder, forward, x, lengths, upstream):
    encoder.zero_grad()
    x = x.clone().requires_grad_()
    out = forward(x, lengths)
    (out * upstream).sum().backward()
    return out.detach(), x.grad, [p.grad.clone() for p in encoder.parameters()]


def assert_same(padded, packed, tol=1e-6):
    (out_a, dx_a, dp_a), (out_b, dx_b, dp_b) = padded, packed
    torch.testing.assert_close(out_a, out_b, rtol=tol, atol=tol)
    torch.testing.assert_close(dx_a, dx_b, rtol=tol, atol=tol)
    for a, b in zip(dp_a, dp_b, strict=True):
        torch.testing.assert_close(a, b, rtol=tol, atol=tol)


@pytest.mark.parametrize("seed", range(4))
def test_back_padded_batch_matches_packing_outputs_and_gradients(seed):
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    batch, steps, dim = 24, 30, 5
    encoder = SequenceEncoder(dim, 16)
    lengths = torch.randint(0, steps + 1, (batch,), generator=g)
    lengths[:3] = torch.tensor([0, 1, steps])  # the edges: nothing real, one step, no padding
    x = torch.randn(batch, steps, dim, generator=g)
    # Padding holds large garbage, not zeros: it must not matter what it holds.
    x[torch.arange(steps)[None, :] >= lengths[:, None]] = 50.0
    upstream = torch.randn(batch, 16, generator=g)
    assert_same(outputs_and_gradients(encoder, encoder, x, lengths, upstream),
                outputs_and_gradients(encoder, lambda x, n: packed_oracle(encoder, x, n), x, lengths, upstream))


def _write_mmim(folder, audio: np.ndarray, vision: np.ndarray):
    """A three-split MMIM noalign pickle (front padding) and its label CSV, all splits alike."""
    n = audio.shape[0]
    clips = [f"vid_{i}" for i in range(n)]
    split = {"id": np.array([[c.encode(), b"0", b"1"] for c in clips], dtype="S16"),
             "labels": np.linspace(-3, 3, n).reshape(n, 1, 1), "audio": audio, "vision": vision}
    with (folder / "mosi_data_noalign.pkl").open("wb") as handle:
        pickle.dump({name: split for name in ("train", "valid", "test")}, handle)
    rows = [{"video_id": "vid", "clip_id": str(i), "text": "w", "label": 0.0, "mode": mode}
            for mode in ("train", "valid", "test") for i in range(n)]
    pd.DataFrame(rows).to_csv(folder / "label.csv", index=False)
    return load_dataset(folder / "mosi_data_noalign.pkl", labels=folder / "label.csv")


def test_front_padded_file_read_by_the_reader_matches_packing_its_real_steps(tmp_path):
    """MMIM files pad at the front; the reader moves padding to the back. The encoder on what the
    reader gives equals packing the real steps where they stand in the file (its last steps)."""
    rng = np.random.default_rng(7)
    n, steps, dims = 16, 12, {"audio": 3, "vision": 4}
    lengths = rng.integers(0, steps + 1, n)
    lengths[:2] = [0, steps]
    raw = {}
    for key, dim in dims.items():
        values = rng.uniform(0.5, 1.5, (n, steps, dim)) * rng.choice([-1, 1], (n, steps, dim))
        values[np.arange(steps)[None, :] < (steps - lengths)[:, None]] = 0.0
        raw[key] = values
    dataset = _write_mmim(tmp_path, raw["audio"], raw["vision"])
    torch.manual_seed(0)
    for key, dim in dims.items():
        encoder = SequenceEncoder(dim, 8)
        split_lengths = torch.from_numpy(getattr(dataset.train, f"{key}_lengths"))
        assert split_lengths.tolist() == lengths.tolist()
        read = torch.from_numpy(getattr(dataset.train, key))
        # The oracle sees the file's own layout: each sequence's real steps are its last ones.
        file_order = torch.from_numpy(raw[key]).float()
        real_first = torch.stack([torch.roll(row, -(steps - int(length)), 0) for row, length in zip(file_order, lengths)])
        upstream = torch.randn(n, 8)
        assert_same(outputs_and_gradients(encoder, encoder, read, split_lengths, upstream),
                    outputs_and_gradients(encoder, lambda x, m: packed_oracle(encoder, x, m), real_first, split_lengths,
                                          upstream))


def test_zero_length_sequence_is_the_initial_state_whatever_the_padding_holds():
    torch.manual_seed(0)
    encoder = SequenceEncoder(3, 8)
    x = torch.randn(2, 5, 3) * 10
    out = encoder(x, torch.tensor([0, 0]))
    torch.testing.assert_close(out, encoder.out.bias.detach().expand(2, -1), rtol=0, atol=0)


def test_output_of_a_sequence_does_not_depend_on_its_batch():
    """Alone and unpadded, or in a batch padded to another sequence's length: the same state."""
    torch.manual_seed(1)
    encoder = SequenceEncoder(4, 8)
    long, short = torch.randn(1, 9, 4), torch.randn(1, 3, 4)
    batch = torch.cat([long, torch.cat([short, torch.full((1, 6, 4), -7.0)], 1)])
    together = encoder(batch, torch.tensor([9, 3]))
    torch.testing.assert_close(together[1:], encoder(short, torch.tensor([3])), rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(together[:1], encoder(long, torch.tensor([9])), rtol=1e-6, atol=1e-6)
