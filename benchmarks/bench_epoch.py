"""Seconds per training epoch on MOSI-sized synthetic data (features backend).

One epoch = a pass over the 1284 training clips (batch 64) plus scoring the 229 validation
clips, as the trainer reports it. Shapes: aligned (50 steps per modality, the MMSA aligned_50
files) and unaligned (375 acoustic / 500 visual steps, the noalign files the release trains on).
Every figure is the median of the epochs after the first, which pays one-off warm-up costs; the
first epoch is printed beside it. Each measurement is one function; its baseline runs in the
same process on the same data:

  mmc_overhead_ratio           the full model against the same network without MMC and PDLF
                               (eta = gamma = 0: no clustering, no metric loss), aligned shape
  unaligned_speedup_vs_packed  the acoustic and visual LSTMs run padded and read at each
                               sequence's last real step (ours) against packing by length
                               (pack_padded_sequence, the spec's wording), unaligned shape

    python benchmarks/bench_epoch.py [--epochs 3] [--threads 2] [--device cpu] [--skip-unaligned]

The last line is `epoch_seconds_mosi: X` (the full model, aligned shape).
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
from unittest import mock

import torch
from torch.nn.utils.rnn import pack_padded_sequence

from mmrest.config import make_config
from mmrest.data.synthetic import synthetic_dataset
from mmrest.model import network
from mmrest.training import train


class PackedSequenceEncoder(network.SequenceEncoder):
    """The baseline: the LSTM over each sequence's real steps by packing (the code this replaced)."""

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        packed = pack_padded_sequence(x, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False)
        _, (h_n, _) = self.lstm(packed)
        return self.out(h_n[-1])


def epoch_seconds(data, epochs: int, device: str, **overrides) -> list[float]:
    """Seconds of every epoch of one training run; patience > epochs, so every epoch runs."""
    cfg = make_config("mosi", {"max_epochs": epochs, "patience": epochs + 1, **overrides})
    return [record.seconds for record in train(cfg, data, device=device).history]


def after_warm_up(times: list[float]) -> float:
    return statistics.median(times[1:] if len(times) > 1 else times)


def mmc_overhead(aligned, epochs: int, device: str) -> tuple[float, float]:
    """The full model's epoch seconds and its ratio to the run without MMC and PDLF."""
    full = epoch_seconds(aligned, epochs, device)
    plain = epoch_seconds(aligned, epochs, device, eta=0.0, gamma=0.0)
    print(f"aligned   (50/50 steps):  full {after_warm_up(full):.3f} s (first epoch {full[0]:.3f})  "
          f"without MMC and PDLF {after_warm_up(plain):.3f} s (first epoch {plain[0]:.3f})")
    ratio = after_warm_up(full) / after_warm_up(plain)
    print(f"mmc_overhead_ratio: {ratio:.2f}")
    return after_warm_up(full), ratio


def unaligned_speedup(unaligned, device: str) -> None:
    """Padded LSTMs read at the last real step against packed ones, both on the full model."""
    padded = epoch_seconds(unaligned, 2, device)
    with mock.patch.object(network, "SequenceEncoder", PackedSequenceEncoder):
        packed = epoch_seconds(unaligned, 2, device)
    print(f"unaligned (375/500 steps): padded {padded[1]:.2f} s (first epoch {padded[0]:.2f})  "
          f"packed {packed[1]:.2f} s (first epoch {packed[0]:.2f})")
    print(f"epoch_seconds_mosi_unaligned: {padded[1]:.2f}")
    print(f"unaligned_speedup_vs_packed: {packed[1] / padded[1]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3, help="epochs per aligned run (>= 2)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--skip-unaligned", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"threads: {args.threads}; device: {args.device}")
    with tempfile.TemporaryDirectory() as cache:
        aligned = synthetic_dataset("mosi", seed=0, cache_dir=cache, audio_len=50, vision_len=50)
        full, _ = mmc_overhead(aligned, args.epochs, args.device)
        del aligned
        if not args.skip_unaligned:
            unaligned_speedup(synthetic_dataset("mosi", seed=0, cache_dir=cache, audio_len=375, vision_len=500),
                              args.device)
    print(f"epoch_seconds_mosi: {full:.2f}")


if __name__ == "__main__":
    main()
