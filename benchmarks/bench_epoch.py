"""Seconds per training epoch on MOSI-sized synthetic data (features backend, 2 CPU threads).

One epoch = a pass over the 1284 training clips (batch 64) plus scoring the 229 validation
clips, as the trainer reports it. The baseline, measured in the same run on the same data, is the
same network without MMC and PDLF (eta = gamma = 0: no clustering, no metric loss), so the ratio
is what MMC costs. Shapes: aligned (50 steps per modality, the MMSA aligned_50 files) and
unaligned (375 acoustic / 500 visual steps, the noalign files the release trains on).

    python benchmarks/bench_epoch.py [--epochs 3] [--skip-unaligned]

The last line is `epoch_seconds_mosi: X` (the full model, aligned shape).
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch

from mmrest.config import make_config
from mmrest.data.synthetic import synthetic_dataset
from mmrest.training import train


def epoch_seconds(data, epochs: int, **overrides) -> float:
    # patience > epochs so that every requested epoch runs; the first epoch warms caches.
    cfg = make_config("mosi", {"max_epochs": epochs, "patience": epochs + 1, **overrides})
    result = train(cfg, data, device="cpu")
    times = [r.seconds for r in result.history]
    return statistics.median(times[1:] if len(times) > 1 else times)


def diagnostics_overhead(data, epochs: int, repeats: int = 3) -> float:
    """CPU seconds of this process per epoch of the full model with training diagnostics over
    without: CPU time, so that waiting for a core that other processes hold does not count.
    Runs alternate; every epoch past a run's first counts; the ratio is of the medians."""
    seconds = {True: [], False: []}
    for _ in range(repeats):
        for diagnostics in seconds:
            marks = []
            cfg = make_config("mosi", {"max_epochs": epochs, "patience": epochs + 1, "diagnostics": diagnostics})
            train(cfg, data, device="cpu", on_epoch=lambda _: marks.append(time.process_time()))
            seconds[diagnostics] += [end - start for start, end in zip(marks, marks[1:])]
    return statistics.median(seconds[True]) / statistics.median(seconds[False])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--skip-unaligned", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as cache:
        aligned = synthetic_dataset("mosi", seed=0, cache_dir=cache, audio_len=50, vision_len=50)
        full = epoch_seconds(aligned, args.epochs)
        plain = epoch_seconds(aligned, args.epochs, eta=0.0, gamma=0.0)
        print(f"aligned   (50/50 steps):  full {full:.3f} s  without MMC {plain:.3f} s  ratio {full / plain:.2f}")
        overhead = diagnostics_overhead(aligned, args.epochs + 1)
        del aligned
        if not args.skip_unaligned:
            unaligned = synthetic_dataset("mosi", seed=0, cache_dir=cache, audio_len=375, vision_len=500)
            slow = epoch_seconds(unaligned, 2)  # the second epoch: past the first-epoch warm-up
            print(f"unaligned (375/500 steps): full {slow:.3f} s  ratio to aligned {slow / full:.1f}")
            print(f"epoch_seconds_mosi_unaligned: {slow:.2f}")
    print(f"diagnostics_overhead_ratio: {overhead:.3f}")
    print(f"epoch_seconds_mosi: {full:.2f}")


if __name__ == "__main__":
    main()
