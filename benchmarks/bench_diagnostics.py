"""What the training diagnostics cost, part by part, on MOSI-sized synthetic data (features
backend, the `mosi` preset): steps with and without a gradient measurement alternate in one
loop, so both see the same load from other processes.

bench_epoch.py compares whole epochs with diagnostics on and off; a 1 % difference drowns there
when other processes share the cores (an epoch's time then varies by 20 %). Here the parts are
timed directly: a plain training step, the extra of a step that measures the term gradients
(one more backward pass), the per-step bookkeeping and the end-of-epoch reduction. Their sum per
epoch over the plain epoch is the overhead, at `diagnostics_every` = 64 and an epoch of 21 steps
(1284 clips in batches of 64).

    python benchmarks/bench_diagnostics.py [--steps 60] [--shape aligned|unaligned] [--threads 1]

The last line is `diagnostics_overhead_estimate: X` (a ratio; 1.03 is the budget).
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch
from torch import nn

from mmrest.config import make_config
from mmrest.data.synthetic import synthetic_dataset
from mmrest.training import trainer
from mmrest.training.diagnostics import EpochDiagnostics
from mmrest.training.objective import batch_loss

SHAPES = {"aligned": (50, 50), "unaligned": (375, 500)}
EPOCH_STEPS = 21


def timed_steps(data, steps: int) -> dict[str, list[float]]:
    """Seconds of each part, per step: even steps measure the gradients, odd steps do not."""
    cfg = make_config("mosi", {})
    cpu = torch.device("cpu")
    run = trainer._build(cfg, data, cpu)
    split = trainer.to_tensors(data, cfg, cpu)["train"]
    diagnostics = EpochDiagnostics(run.model.parameters(), k=cfg.k, clip=cfg.clip, every=2)
    parts = {"measured_backward": [], "plain_backward": [], "step": [], "record": []}
    order = torch.randperm(len(split), generator=torch.Generator().manual_seed(0))
    for step in range(steps):
        start = time.perf_counter()
        first = (step * cfg.batch_size) % (len(split) - cfg.batch_size)
        batch, labels = split.take(order[first : first + cfg.batch_size])
        terms = batch_loss(run.model, run.state, batch, labels, cfg, has_state=run.has_state, seed=step)
        run.main_opt.zero_grad(set_to_none=True)
        run.metric_opt.zero_grad(set_to_none=True)
        before = time.perf_counter()
        diagnostics.backward(terms, step=step)
        after = time.perf_counter()
        norm = nn.utils.clip_grad_norm_(run.model.parameters(), cfg.clip)
        nn.utils.clip_grad_norm_(run.state.parameters(), cfg.clip)
        run.main_opt.step()
        run.metric_opt.step()
        run.has_state = True
        end = time.perf_counter()
        diagnostics.record(terms, clip_norm=norm)
        parts["record"].append(time.perf_counter() - end)
        parts["measured_backward" if step % 2 == 0 else "plain_backward"].append(after - before)
        if step % 2:
            parts["step"].append(end - start)
    started = time.perf_counter()  # over all the steps: more than an epoch's 21, so an upper bound
    diagnostics.summary()
    parts["summary"] = [time.perf_counter() - started]
    return parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--shape", choices=sorted(SHAPES), default="aligned")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    audio_len, vision_len = SHAPES[args.shape]
    with tempfile.TemporaryDirectory() as cache:
        data = synthetic_dataset("mosi", seed=0, cache_dir=cache, audio_len=audio_len, vision_len=vision_len)
        parts = timed_steps(data, args.steps)
    # Medians: other processes only ever add time to a part, and they do so rarely per part.
    step = statistics.median(parts["step"])
    extra = statistics.median(parts["measured_backward"]) - statistics.median(parts["plain_backward"])
    record, summary = statistics.median(parts["record"]), parts["summary"][0]
    every = make_config("mosi", {}).diagnostics_every
    added = EPOCH_STEPS * record + summary + extra * EPOCH_STEPS / every
    print(f"{args.shape} shape, {args.threads} thread(s): plain step {step * 1e3:.1f} ms; measuring the "
          f"gradients adds {extra * 1e3:.1f} ms ({extra / step:.2f} of a step); bookkeeping "
          f"{record * 1e6:.0f} us per step; end-of-epoch reduction {summary * 1e3:.1f} ms")
    print(f"diagnostics_overhead_estimate: {1 + added / (EPOCH_STEPS * step):.4f}")


if __name__ == "__main__":
    main()
