"""Seconds per training epoch on MOSI-sized synthetic data (features backend, 1 CPU thread by default).

One epoch = a pass over the 1284 training clips (batch 64) plus scoring the 229 validation
clips, as the trainer reports it. Shapes: aligned (50 steps per modality, the MMSA aligned_50
files) and unaligned (375 acoustic / 500 visual steps, the noalign files the release trains on).
Every figure is the median of the epochs after the first, which pays one-off warm-up costs; the
first epoch is printed beside it. Each measurement is one function; its baseline runs in the
same process on the same data:

  mmc_overhead_ratio           the full model against the same network without MMC and PDLF
                               (eta = gamma = 0: no clustering, no metric loss), aligned shape
  mmc_overhead_floor           the ratio if every step's MMC part cost only its essential
                               kernels (bench_mmc.floor_ms, timed here)
  unaligned_speedup_vs_packed  the acoustic and visual LSTMs run padded and read at each
                               sequence's last real step (ours) against packing by length
                               (pack_padded_sequence, the spec's wording), unaligned shape
  diagnostics_overhead_ratio   the full model with training diagnostics against without
                               (CPU time of this process on the CPU), aligned shape
  reseed_overhead_ratio        the full model with k-means re-seeding empty clusters against
                               without (k-means as before it), runs alternating, CPU time on the
                               CPU, aligned shape; the two train differently once a cluster is
                               re-seeded, so this compares two trajectories
  reseed_time_share            (CPU) the share of those runs' time spent in the re-seeding pass
                               itself, timed around each call: its own cost
  keep_freed_memory_speedup    (CPU) the padded unaligned epoch with freed memory kept in the
                               process (keep_freed_memory, as `train` and study trials run)
                               against glibc's default, which unmaps and faults it in again

Everything runs with keep_freed_memory on, as the entry points do, except its own baseline.

    python benchmarks/bench_epoch.py [--epochs 3] [--threads 1] [--device cpu] [--skip-unaligned]

The last line is `epoch_seconds_mosi: X` (the full model, aligned shape).
"""
from __future__ import annotations

import argparse
import contextlib
import math
import statistics
import tempfile
import time
from unittest import mock

import torch
from torch.nn.utils.rnn import pack_padded_sequence

from mmrest.config import make_config
from mmrest.data.synthetic import synthetic_dataset
from mmrest.model import kmeans as kmeans_module
from mmrest.model import network
from mmrest.training import train
from mmrest.training.memory import keep_freed_memory

from bench_mmc import floor_ms, reseeding_pass, without_reseeding  # the same folder: run as python benchmarks/...


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
    """The full model's epoch seconds and its ratio to the run without MMC and PDLF. The two runs
    go full, plain, plain, full, so load that drifts during the measurement falls on both alike;
    each side's figure is the median of its epochs after the first of each run."""
    runs = {"full": [], "plain": []}
    for name in ("full", "plain", "plain", "full"):
        times = epoch_seconds(aligned, epochs, device, **({} if name == "full" else {"eta": 0.0, "gamma": 0.0}))
        runs[name].append(times)
    full, plain = (statistics.median(t for times in runs[name] for t in times[1:]) for name in ("full", "plain"))
    print(f"aligned   (50/50 steps):  full {full:.3f} s (first epochs {runs['full'][0][0]:.3f}, {runs['full'][1][0]:.3f})  "
          f"without MMC and PDLF {plain:.3f} s (first epochs {runs['plain'][0][0]:.3f}, {runs['plain'][1][0]:.3f})")
    steps = math.ceil(len(aligned.train) / make_config("mosi").batch_size)
    floor = 1 + steps * floor_ms(7, 64, 200, torch.device(device)) / 1e3 / plain
    print(f"mmc_overhead_ratio: {full / plain:.2f}")
    print(f"mmc_overhead_floor: {floor:.2f}")
    return full, full / plain


def unaligned_speedup(unaligned, device: str) -> list[float]:
    """Padded LSTMs read at the last real step against packed ones, both on the full model;
    returns the padded run's epoch seconds."""
    padded = epoch_seconds(unaligned, 2, device)
    with mock.patch.object(network, "SequenceEncoder", PackedSequenceEncoder):
        packed = epoch_seconds(unaligned, 2, device)
    print(f"unaligned (375/500 steps): padded {padded[1]:.2f} s (first epoch {padded[0]:.2f})  "
          f"packed {packed[1]:.2f} s (first epoch {packed[0]:.2f})")
    print(f"epoch_seconds_mosi_unaligned: {padded[1]:.2f}")
    print(f"unaligned_speedup_vs_packed: {packed[1] / padded[1]:.2f}")
    return padded


def freed_memory_speedup(unaligned, kept: list[float], device: str) -> None:
    """The padded unaligned run again with glibc's default allocator behaviour, against `kept`."""
    keep_freed_memory(False)
    default = epoch_seconds(unaligned, 2, device)
    keep_freed_memory(True)
    print(f"unaligned, glibc's default allocator: {default[1]:.2f} s (first epoch {default[0]:.2f})")
    print(f"keep_freed_memory_speedup: {default[1] / kept[1]:.2f}")


def diagnostics_overhead(data, epochs: int, device: str, repeats: int = 6) -> float:
    """Seconds per epoch of the full model with training diagnostics over without. On the CPU
    it counts this process's CPU time, so that waiting for a core that other processes hold does
    not count; on an accelerator, wall time. Runs alternate; every epoch past a run's first
    counts; the ratio is of the medians."""
    clock = time.process_time if torch.device(device).type == "cpu" else time.perf_counter
    seconds = {True: [], False: []}
    for _ in range(repeats):
        for diagnostics in seconds:
            marks = []
            cfg = make_config("mosi", {"max_epochs": epochs, "patience": epochs + 1, "diagnostics": diagnostics})
            train(cfg, data, device=device, on_epoch=lambda _: marks.append(clock()))
            seconds[diagnostics] += [end - start for start, end in zip(marks, marks[1:])]
    return statistics.median(seconds[True]) / statistics.median(seconds[False])


def reseeding_overhead(data, epochs: int, device: str, repeats: int = 3) -> tuple[float, float]:
    """Seconds per epoch of the full model with re-seeding over without, and (CPU) the share of
    the runs with it spent inside the re-seeding pass. Clock as in diagnostics_overhead; runs
    alternate, with first in even rounds, so load that drifts falls on both; every epoch past a
    run's first counts; the ratio is of the medians."""
    cpu = torch.device(device).type == "cpu"
    clock = time.process_time if cpu else time.perf_counter
    seconds, spent = {True: [], False: []}, {"pass": 0.0, "runs": 0.0}
    original = reseeding_pass(torch.device(device))

    def timed(*args):
        start = clock()
        result = original(*args)
        spent["pass"] += clock() - start
        return result

    def variant(reseeding: bool):
        if not reseeding:
            return without_reseeding()
        # Timing each call needs the device to finish its work: on the CPU only.
        return mock.patch.object(kmeans_module, original.__name__, timed) if cpu else contextlib.nullcontext()

    for round_ in range(repeats):
        for reseeding in (True, False) if round_ % 2 == 0 else (False, True):
            marks = []
            cfg = make_config("mosi", {"max_epochs": epochs, "patience": epochs + 1})
            with variant(reseeding):
                start = clock()
                train(cfg, data, device=device, on_epoch=lambda _: marks.append(clock()))
            spent["runs"] += (clock() - start) if reseeding else 0.0
            seconds[reseeding] += [end - begin for begin, end in zip(marks, marks[1:])]
    share = spent["pass"] / spent["runs"] if cpu else math.nan
    return statistics.median(seconds[True]) / statistics.median(seconds[False]), share


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3, help="epochs per aligned run (>= 2)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (default 1, as a study trial with cpu: 1; two OpenMP threads on a "
                             "shared machine stall whenever another process holds a core)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--skip-unaligned", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    kept = keep_freed_memory()
    print(f"threads: {args.threads}; device: {args.device}; keep_freed_memory: {kept}")
    with tempfile.TemporaryDirectory() as cache:
        aligned = synthetic_dataset("mosi", seed=0, cache_dir=cache, audio_len=50, vision_len=50)
        full, _ = mmc_overhead(aligned, args.epochs, args.device)
        # An epoch varies by 20 % from one to the next even on idle cores: 6 runs of 6 epochs a side.
        overhead = diagnostics_overhead(aligned, 6, args.device)
        reseed_ratio, reseed_share = reseeding_overhead(aligned, 4, args.device)
        del aligned
        if not args.skip_unaligned:
            unaligned = synthetic_dataset("mosi", seed=0, cache_dir=cache, audio_len=375, vision_len=500)
            padded = unaligned_speedup(unaligned, args.device)
            if kept and torch.device(args.device).type == "cpu":
                freed_memory_speedup(unaligned, padded, args.device)
    print(f"diagnostics_overhead_ratio: {overhead:.3f}")
    print(f"reseed_overhead_ratio: {reseed_ratio:.3f}")
    print(f"reseed_time_share: {reseed_share:.4f}")
    print(f"epoch_seconds_mosi: {full:.2f}")


if __name__ == "__main__":
    main()
