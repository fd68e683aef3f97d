"""Time one full MMC step against a baseline with the public release's structure, same run, same inputs.

One step = cluster the batch's 3B metric features, compute L_MMC, backpropagate, clip, and update
M0 and dM including the PSD projection.

  ours:     torch k-means warm-started from the previous batch's centers (cold k-means++ only on
            the first batch), the vectorised mmc_loss, PSDAdam (batched projection with a
            Cholesky skip).
  baseline: scikit-learn KMeans(n_clusters=k, n_init=10) on every batch, the loss as a Python
            loop over clusters and over ordered cluster pairs (pairs inside one cluster are
            vectorised, which favours the baseline), torch Adam, then one eigendecomposition
            per matrix in a Python loop.

Both sides see the same batches and take turns every `--block` steps, so each runs warm as in a
training loop while load from other processes hits them alike (`--block 1` alternates every step,
which leaves each side the other's cold caches). Each runs on `--threads` threads (default 1: on a shared 2-core machine two OpenMP
threads per process stall whenever another process holds a core). Prints a table of median
milliseconds per step and ratios, then the PSD projection alone; the last line is
`speedup_b64_k7: X`.

    python benchmarks/bench_mmc.py [--threads 1] [--repeats 30]
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_limits

from mmrest.model.kmeans import kmeans
from mmrest.model.mmc import label_bins, mmc_loss
from mmrest.model.psd_adam import PSDAdam, project_psd

DIM = 64
HYPER = {7: dict(v1=0.8, v2=1.0, xi=3.0, alpha=1.0), 10: dict(v1=0.7, v2=0.5, xi=70.0, alpha=0.7)}
BETA, MAX_PAIRS, LR, WEIGHT_DECAY, CLIP = 0.01, 4000, 1e-4, 1e-4, 1.0


def make_batches(batch_size: int, n_batches: int, seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Stand-ins for the network's metric features: 3B rows per batch (text, visual, acoustic of
    B samples), a label-dependent mean plus a per-modality shift plus noise."""
    g = torch.Generator().manual_seed(seed)
    bin_means = torch.randn(7, DIM, generator=g) * 1.5
    modality_shift = torch.randn(3, DIM, generator=g)
    batches = []
    for _ in range(n_batches):
        y = torch.rand(batch_size, generator=g) * 6 - 3
        labels = y.repeat(3)
        shift = modality_shift.repeat_interleave(batch_size, 0)
        x = bin_means[label_bins(labels)] + shift + torch.randn(3 * batch_size, DIM, generator=g)
        batches.append((x, labels))
    return batches


def fresh_metrics(k: int) -> tuple[torch.nn.Parameter, torch.nn.Parameter]:
    return torch.nn.Parameter(torch.eye(DIM)), torch.nn.Parameter(torch.eye(DIM).repeat(k, 1, 1))


class Ours:
    def __init__(self, k: int):
        self.k, self.hyper = k, HYPER[k]
        self.M0, self.dM = fresh_metrics(k)
        self.opt = PSDAdam([self.M0, self.dM], lr=LR, weight_decay=WEIGHT_DECAY)
        self.centers = None
        self.step_index = 0

    def step(self, x: torch.Tensor, labels: torch.Tensor) -> None:
        features = x.clone().requires_grad_()
        clusters = kmeans(features, self.k, init=self.centers, seed=self.step_index)
        loss = mmc_loss(features, labels, clusters.assignment, clusters.centers, self.M0, self.dM,
                        **self.hyper, beta=BETA, max_pairs=MAX_PAIRS, seed=self.step_index)
        self.opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_([self.M0, self.dM], CLIP)
        self.opt.step()
        self.centers = clusters.centers
        self.step_index += 1


class Baseline:
    def __init__(self, k: int):
        self.k, self.hyper = k, HYPER[k]
        self.M0, self.dM = fresh_metrics(k)
        self.opt = torch.optim.Adam([self.M0, self.dM], lr=LR, weight_decay=WEIGHT_DECAY)
        self.rng = np.random.default_rng(0)
        self.step_index = 0

    def step(self, x: torch.Tensor, labels: torch.Tensor) -> None:
        features = x.clone().requires_grad_()
        km = KMeans(n_clusters=self.k, n_init=10, random_state=self.step_index).fit(features.detach().cpu().numpy())
        assignment = torch.from_numpy(km.labels_.astype(np.int64))
        centers = torch.from_numpy(km.cluster_centers_).float()
        loss = loop_loss(features, labels, assignment, centers, self.M0, self.dM, **self.hyper, rng=self.rng)
        self.opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_([self.M0, self.dM], CLIP)
        self.opt.step()
        with torch.no_grad():
            self.M0.copy_(project_one(self.M0))
            for i in range(self.k):
                self.dM[i] = project_one(self.dM[i])
        self.step_index += 1


def project_one(m: torch.Tensor) -> torch.Tensor:
    w, v = torch.linalg.eigh(0.5 * (m + m.T))
    return v @ torch.diag(w.clamp(min=0)) @ v.T


def loop_loss(features, labels, assignment, centers, M0, dM, *, v1, v2, xi, alpha, rng, max_pairs=MAX_PAIRS):
    """L_MMC with the release's structure: loops over clusters and ordered cluster pairs."""
    bins = label_bins(labels).numpy()
    assign = assignment.numpy()
    eye = torch.eye(features.shape[1])
    present = [int(i) for i in np.unique(assign)]
    rows = {i: np.flatnonzero(assign == i) for i in present}
    total = v2 * (M0**2).sum()
    for i in present:
        metric_i = M0 + dM[i] + BETA * eye
        xi_rows = features[rows[i]]
        if len(rows[i]) >= 2:
            first, second = np.triu_indices(len(rows[i]), 1)
            similar = bins[rows[i]][first] == bins[rows[i]][second]
            sums = []
            for kind in (similar, ~similar):
                a, b = first[kind], second[kind]
                if len(a) > max_pairs:
                    pick = rng.choice(len(a), max_pairs, replace=False)
                    a, b = a[pick], b[pick]
                diff = xi_rows[a] - xi_rows[b]
                sums.append(((diff @ metric_i) * diff).sum())
            total = total + torch.relu(sums[0] - sums[1] + xi)
        own = quadratic(xi_rows - centers[i], metric_i)
        for j in present:
            if j != i:
                metric_j = M0 + dM[j] + BETA * eye
                margin = alpha * (centers[i] - centers[j]).pow(2).sum()
                other = quadratic(xi_rows - centers[j], metric_j)
                total = total + v1 * torch.relu(own + margin - other).sum()
    return total / features.shape[0]


def quadratic(diff: torch.Tensor, metric: torch.Tensor) -> torch.Tensor:
    return ((diff @ metric) * diff).sum(1)


def check_same_loss(batch_size: int, k: int) -> None:
    """Both losses, and their gradients, agree on the same clustering (no pair sampling, so no
    random draw differs)."""
    x, labels = make_batches(batch_size, 1, seed=123)[0]
    clusters = kmeans(x, k)
    noise = 0.05 * torch.randn(k, DIM, DIM, generator=torch.Generator().manual_seed(1))
    results = []
    for loss_fn in (mmc_loss, loop_loss):
        features, (M0, dM) = x.clone().requires_grad_(), fresh_metrics(k)
        with torch.no_grad():
            dM += noise
        extra = {"rng": np.random.default_rng(0)} if loss_fn is loop_loss else {"beta": BETA}
        loss = loss_fn(features, labels, clusters.assignment, clusters.centers, M0, dM, **HYPER[k],
                       max_pairs=x.shape[0] ** 2, **extra)
        loss.backward()
        results.append((loss, features.grad, M0.grad, dM.grad))
    for ours, theirs in zip(*results):  # float32: compare against the largest entry
        error = (ours - theirs).abs().max().item()
        assert error <= 1e-4 * theirs.abs().max().item(), (error, theirs.abs().max().item())


def median_ms(runners, batches, warmup: int, block: int) -> list[float]:
    """Median step time of each runner over the batches after `warmup`. The runners take turns in
    blocks of `block` batches: each runs warm, as in a training loop, while load from other
    processes on this shared machine still falls on both alike."""
    times = [[] for _ in runners]
    for first in range(0, len(batches), block):
        for runner, spent in zip(runners, times):
            for index in range(first, min(first + block, len(batches))):
                start = time.perf_counter()
                runner.step(*batches[index])
                if index >= warmup:
                    spent.append(time.perf_counter() - start)
    return [1e3 * statistics.median(spent) for spent in times]


def projection_ms(k: int, repeats: int) -> dict[str, float]:
    """The PSD projection of M0 and dM alone. Inside the cone (what the trainer sees while the
    metrics stay positive definite) ours only runs the Cholesky test; on the boundary (every
    matrix pushed just outside) it eigendecomposes them all, as the baseline always does."""
    g = torch.Generator().manual_seed(k)
    inside = torch.eye(DIM) + 0.01 * torch.randn(k + 1, DIM, DIM, generator=g)
    outside = project_psd(torch.randn(k + 1, DIM, DIM, generator=g)) - 1e-3 * torch.eye(DIM)
    cases = {
        "baseline (loop)": lambda: [project_one(m) for m in outside],
        "ours, inside": lambda: project_psd(inside),
        "ours, boundary": lambda: project_psd(outside),
    }
    times = {}
    for name, run in cases.items():
        spent = []
        for _ in range(repeats):
            start = time.perf_counter()
            run()
            spent.append(time.perf_counter() - start)
        times[name] = 1e3 * statistics.median(spent)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch and OpenMP/BLAS threads, both sides")
    parser.add_argument("--repeats", type=int, default=30, help="timed steps per configuration")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first (ours: includes the cold batch)")
    parser.add_argument("--block", type=int, default=10, help="steps each side runs before the other takes a turn")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"threads: {args.threads} (torch and scikit-learn); d1 = {DIM}; median of {args.repeats} steps after "
          f"{args.warmup} warm-up steps; both sides on the same batches, taking turns every {args.block} steps")
    print(f"{'B':>4} {'k':>3} {'N':>4} {'baseline ms':>12} {'ours ms':>9} {'speedup':>8}")
    speedups = {}
    with threadpool_limits(args.threads):
        for batch_size in (64, 128):
            for k in (7, 10):
                check_same_loss(batch_size, k)
                batches = make_batches(batch_size, args.warmup + args.repeats, seed=batch_size + k)
                base, ours = median_ms([Baseline(k), Ours(k)], batches, args.warmup, args.block)
                speedups[(batch_size, k)] = base / ours
                print(f"{batch_size:>4} {k:>3} {3 * batch_size:>4} {base:>12.2f} {ours:>9.2f} {base / ours:>7.1f}x")
        projection = projection_ms(7, 10 * args.repeats)
    print("PSD projection of M0 and dM (k = 7) alone, median ms: "
          + ", ".join(f"{name} {ms:.2f}" for name, ms in projection.items()))
    print(f"speedup_b64_k7: {speedups[(64, 7)]:.2f}")


if __name__ == "__main__":
    main()
