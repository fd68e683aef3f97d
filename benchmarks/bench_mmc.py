"""Time one full MMC step, part by part, against a baseline with the public release's structure,
same run, same inputs.

One step = PDLF on the batch's 3B metric features with the previous step's cluster state
(forward and backward), cluster them, compute L_MMC and backpropagate, clip and Adam-update M0
and dM, project them onto the PSD cone.

  ours:     pdlf_bias, torch k-means warm-started from the previous batch's centers (cold
            k-means++ only on the first batch), the vectorised mmc_loss, PSDAdam (one fused
            Adam, then one batched projection behind a diagonal-dominance and a Cholesky test).
  baseline: PDLF and the loss as Python loops over clusters (and ordered cluster pairs; pairs
            inside one cluster are vectorised, which favours the baseline), scikit-learn
            KMeans(n_clusters=k, n_init=10) on every batch, torch Adam, then one
            eigendecomposition per matrix in a Python loop.

Two kinds of batches: `spread` (rows spread over all clusters: every pair of a cluster is used)
and `one large cluster` (the acoustic and visual rows collapse onto one point, as the network's
features do early in training on synthetic MOSI: a cluster holds over 4000 pairs of a kind, so
pairs are drawn). Both sides see the same batches and take turns every `--block` steps, so each
runs warm as in a training loop while load from other processes hits them alike. Each runs on
`--threads` threads (default 1: on a shared 2-core machine two OpenMP threads per process stall
whenever another process holds a core). `--device cuda` runs ours on the GPU (the baseline
stays on the CPU, where scikit-learn runs).

Prints the whole step for B in (64, 128) and k in (7, 10), then per part for B = 64, k = 7, then
the PSD projection alone, then the floor (the step's essential kernels with nothing between
them), then what re-seeding empty clusters adds to our step (`reseeding_cost`: the line
`reseed_step_ratio: X`, our step with re-seeding over without, and `reseed_pass_fraction: X`, the
re-seeding pass alone, with a cluster to re-seed, over the step: what it costs on every step that
needs it, and on an accelerator, which runs it on every step); the last line is
`speedup_b64_k7: X`.

    python benchmarks/bench_mmc.py [--threads 1] [--repeats 30] [--device cpu]
"""
from __future__ import annotations

import argparse
import contextlib
import statistics
import time

import numpy as np
import torch
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_limits

from mmrest.model import kmeans as kmeans_module
from mmrest.model.kmeans import kmeans
from mmrest.model.mmc import label_bins, mmc_loss
from mmrest.model.network import MetricState, pdlf_bias
from mmrest.model.psd_adam import PSDAdam, project_psd

DIM = 64
HYPER = {7: dict(v1=0.8, v2=1.0, xi=3.0, alpha=1.0), 10: dict(v1=0.7, v2=0.5, xi=70.0, alpha=0.7)}
BETA, MAX_PAIRS, LR, WEIGHT_DECAY, CLIP = 0.01, 4000, 1e-4, 1e-4, 1.0
PARTS = ("PDLF fwd+bwd", "k-means", "loss fwd+bwd", "clip + Adam", "PSD projection")
KINDS = ("spread", "one large cluster")
RESEED_KINDS = ("spread", "skewed labels")


def make_batches(batch_size: int, n_batches: int, seed: int, kind: str = "spread") -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Stand-ins for the network's metric features: 3B rows per batch (text, visual, acoustic of
    B samples). Spread: a label-dependent mean plus a per-modality shift plus noise. One large
    cluster: the visual and acoustic rows sit near one point instead. Skewed labels: spread, with
    labels drawn as MOSI's fall (normal, sd 1.5, clipped), so the end bins miss some batches and
    a warm start leaves their clusters empty, as in training."""
    g = torch.Generator().manual_seed(seed)
    bin_means = torch.randn(7, DIM, generator=g) * 1.5
    modality_shift = torch.randn(3, DIM, generator=g)
    batches = []
    for _ in range(n_batches):
        if kind == "skewed labels":
            y = (1.5 * torch.randn(batch_size, generator=g)).clamp(-3, 3)
        else:
            y = torch.rand(batch_size, generator=g) * 6 - 3
        labels = y.repeat(3)
        shift = modality_shift.repeat_interleave(batch_size, 0)
        x = bin_means[label_bins(labels)] + shift + torch.randn(3 * batch_size, DIM, generator=g)
        if kind == "one large cluster":
            x[batch_size:] = modality_shift[0] + 0.05 * torch.randn(2 * batch_size, DIM, generator=g)
        batches.append((x, labels))
    return batches


class Laps:
    """Seconds since the last lap, by part name."""

    def __init__(self, device: torch.device):
        self.device = device
        self.spent: dict[str, float] = {}
        self.last = self._now()

    def _now(self) -> float:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)  # a GPU part is done when its kernels are
        return time.perf_counter()

    def __call__(self, part: str) -> None:
        now = self._now()
        self.spent[part] = now - self.last
        self.last = now


class Ours:
    def __init__(self, k: int, device: torch.device):
        self.k, self.hyper, self.device = k, HYPER[k], device
        self.state = MetricState(k, DIM).to(device)
        self.opt = PSDAdam(self.state.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
        self.has_state = False
        self.step_index = 0

    def step(self, x: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
        features = x.to(self.device, copy=True).requires_grad_()
        labels = labels.to(self.device)
        laps = Laps(self.device)
        if self.has_state:
            pdlf_bias(features, self.state, BETA, modalities=3).sum().backward()
        laps("PDLF fwd+bwd")
        clusters = kmeans(features, self.k, init=self.state.centers if self.has_state else None, seed=self.step_index)
        self.state.update(clusters.centers, clusters.assignment)
        laps("k-means")
        loss = mmc_loss(features, labels, clusters.assignment, self.state.centers, self.state.M0, self.state.dM,
                        **self.hyper, beta=BETA, max_pairs=MAX_PAIRS, seed=self.step_index)
        loss.backward()
        laps("loss fwd+bwd")
        torch.nn.utils.clip_grad_norm_(self.state.parameters(), CLIP)
        torch.optim.Adam.step(self.opt)  # PSDAdam's update without its projection, timed apart
        laps("clip + Adam")
        self.opt.project()
        laps("PSD projection")
        self.opt.zero_grad()
        self.has_state = True
        self.step_index += 1
        return laps.spent


class Baseline:
    def __init__(self, k: int):
        self.k, self.hyper = k, HYPER[k]
        self.M0 = torch.nn.Parameter(torch.eye(DIM))
        self.dM = torch.nn.Parameter(torch.eye(DIM).repeat(k, 1, 1))
        self.opt = torch.optim.Adam([self.M0, self.dM], lr=LR, weight_decay=WEIGHT_DECAY)
        self.clusters: tuple[torch.Tensor, torch.Tensor] | None = None  # centers, active
        self.rng = np.random.default_rng(0)
        self.step_index = 0

    def step(self, x: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
        features = x.clone().requires_grad_()
        laps = Laps(x.device)
        if self.clusters is not None:
            loop_pdlf(features, self.M0, self.dM, *self.clusters).sum().backward()
        laps("PDLF fwd+bwd")
        km = KMeans(n_clusters=self.k, n_init=10, random_state=self.step_index).fit(features.detach().numpy())
        assignment = torch.from_numpy(km.labels_.astype(np.int64))
        centers = torch.from_numpy(km.cluster_centers_).float()
        self.clusters = centers, torch.bincount(assignment, minlength=self.k) > 0
        laps("k-means")
        loss = loop_loss(features, labels, assignment, centers, self.M0, self.dM, **self.hyper, rng=self.rng)
        loss.backward()
        laps("loss fwd+bwd")
        torch.nn.utils.clip_grad_norm_([self.M0, self.dM], CLIP)
        self.opt.step()
        laps("clip + Adam")
        with torch.no_grad():
            self.M0.copy_(project_one(self.M0))
            for i in range(self.k):
                self.dM[i] = project_one(self.dM[i])
        laps("PSD projection")
        self.opt.zero_grad()
        self.step_index += 1
        return laps.spent


def project_one(m: torch.Tensor) -> torch.Tensor:
    w, v = torch.linalg.eigh(0.5 * (m + m.T))
    return v @ torch.diag(w.clamp(min=0)) @ v.T


def loop_pdlf(features, M0, dM, centers, active):
    """PDLF's r_b (spec section 4) with a Python loop over clusters for the distances."""
    m0 = 0.5 * (M0 + M0.T)
    eye = torch.eye(features.shape[1])
    with torch.no_grad():
        dist = torch.stack([quadratic(features - centers[i], m0 + dM[i] + BETA * eye) for i in range(len(centers))], 1)
        dist[:, ~active] = float("inf")
        nearest, second = dist.topk(2, dim=1, largest=False).indices.unbind(1)
    axis = centers[second] - centers[nearest]
    norm = ((axis @ m0) * axis).sum(1).clamp(min=1e-8).sqrt()
    r = (((features - centers[nearest]) @ m0) * axis).sum(1) / norm
    return r.view(3, -1).mean(0)


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


def check_same_results(batch_size: int, k: int) -> None:
    """Both losses and both PDLFs, and their gradients, agree on the same clustering (no pair
    sampling, so no random draw differs)."""
    x, labels = make_batches(batch_size, 1, seed=123)[0]
    clusters = kmeans(x, k)
    noise = 0.05 * torch.randn(k, DIM, DIM, generator=torch.Generator().manual_seed(1))
    active = torch.bincount(clusters.assignment, minlength=k) > 0
    results = []
    for loss_fn in (mmc_loss, loop_loss):
        features, state = x.clone().requires_grad_(), MetricState(k, DIM)
        with torch.no_grad():
            state.dM += noise
            state.update(clusters.centers, clusters.assignment)
        extra = {"rng": np.random.default_rng(0)} if loss_fn is loop_loss else {"beta": BETA}
        loss = loss_fn(features, labels, clusters.assignment, clusters.centers, state.M0, state.dM, **HYPER[k],
                       max_pairs=x.shape[0] ** 2, **extra)
        bias = pdlf_bias(features, state, BETA, modalities=3) if loss_fn is mmc_loss else loop_pdlf(
            features, state.M0, state.dM, clusters.centers, active)
        (loss + bias.sum()).backward()
        results.append((loss, bias, features.grad, state.M0.grad, state.dM.grad))
    for ours, theirs in zip(*results):  # float32: compare against the largest entry
        error = (ours - theirs).abs().max().item()
        assert error <= 1e-4 * theirs.abs().max().item(), (error, theirs.abs().max().item())


def median_ms(runners, batches, warmup: int, block: int) -> list[dict[str, float]]:
    """Median milliseconds of each part, and of the whole step ("step"), for each runner over
    the batches after `warmup`. The runners take turns in blocks of `block` batches: each runs
    warm, as in a training loop, while load from other processes on this shared machine still
    falls on both alike."""
    laps = [[] for _ in runners]
    for first in range(0, len(batches), block):
        for runner, spent in zip(runners, laps):
            for index in range(first, min(first + block, len(batches))):
                parts = runner.step(*batches[index])
                if index >= warmup:
                    spent.append({**parts, "step": sum(parts.values())})
    return [{part: 1e3 * statistics.median(lap[part] for lap in spent) for part in spent[0]} for spent in laps]


def whole_steps(args, device: torch.device) -> dict[tuple[int, int], float]:
    """The step's median ms for B in (64, 128) and k in (7, 10), spread batches; returns the speedups."""
    print(f"{'B':>4} {'k':>3} {'N':>4} {'baseline ms':>12} {'ours ms':>9} {'speedup':>8}")
    speedups = {}
    for batch_size in (64, 128):
        for k in (7, 10):
            check_same_results(batch_size, k)
            batches = make_batches(batch_size, args.warmup + args.repeats, seed=batch_size + k)
            base, ours = (t["step"] for t in median_ms([Baseline(k), Ours(k, device)], batches, args.warmup, args.block))
            speedups[(batch_size, k)] = base / ours
            print(f"{batch_size:>4} {k:>3} {3 * batch_size:>4} {base:>12.2f} {ours:>9.2f} {base / ours:>7.1f}x")
    return speedups


def parts_table(args, device: torch.device) -> None:
    """Median ms of each part of the step, B = 64, k = 7, both kinds of batches."""
    columns = {kind: median_ms([Baseline(7), Ours(7, device)],
                               make_batches(64, args.warmup + args.repeats, seed=71, kind=kind), args.warmup, args.block)
               for kind in KINDS}
    print("per part, B = 64, k = 7, median ms per step (baseline / ours / ratio):")
    print(f"{'':>16}" + "".join(f"{kind:>30}" for kind in KINDS))
    for part in (*PARTS, "step"):
        cells = "".join(f"{base[part]:>12.2f} {ours[part]:>8.2f} {base[part] / ours[part]:>7.1f}x"
                        for base, ours in columns.values())
        print(f"{part:>16}{cells}")


def projection_ms(k: int, repeats: int, device: torch.device) -> dict[str, float]:
    """The PSD projection of M0 and dM alone. Inside the cone (what the trainer sees while the
    metrics stay positive definite) ours only runs the tests; on the boundary (every matrix pushed
    just outside) it eigendecomposes them all, as the baseline always does."""
    g = torch.Generator().manual_seed(k)
    inside = torch.eye(DIM) + 0.01 * torch.randn(k + 1, DIM, DIM, generator=g)
    outside = project_psd(torch.randn(k + 1, DIM, DIM, generator=g)) - 1e-3 * torch.eye(DIM)
    cases = {
        "baseline (loop)": lambda: [project_one(m) for m in outside],
        "ours, inside": lambda: project_psd(inside.to(device)),
        "ours, boundary": lambda: project_psd(outside.to(device)),
    }
    return {name: repeated_ms(run, repeats, device) for name, run in cases.items()}


def repeated_ms(run, repeats: int, device: torch.device) -> float:
    """Median ms of `run()` over `repeats` calls after one untimed call, its kernels included."""
    run()
    spent = []
    for _ in range(repeats):
        laps = Laps(device)
        run()
        laps("run")
        spent.append(laps.spent["run"])
    return 1e3 * statistics.median(spent)


def floor_ms(k: int, batch_size: int, repeats: int, device: torch.device) -> float:
    """Median ms of the kernels an MMC step cannot do without, back to back with nothing between:
    the (K, N, d) x (K, d, d) distance products of the loss (forward, and the two of its backward)
    and of PDLF, two Lloyd passes of k-means, one fused Adam update and one diagonal-dominance
    proof of the K + 1 metrics. Everything else the step spends is small ops around them."""
    g = torch.Generator().manual_seed(0)
    n_rows = 3 * batch_size
    diff = torch.randn(k, n_rows, DIM, generator=g).to(device)
    metrics = torch.eye(DIM).repeat(k + 1, 1, 1).to(device)
    points, centers = torch.randn(1, n_rows, DIM, generator=g).to(device), torch.randn(1, k, DIM, generator=g).to(device)
    params = [metrics.clone().requires_grad_()]
    for p in params:
        p.grad = torch.randn_like(p)
    adam = torch.optim.Adam(params, lr=LR, weight_decay=WEIGHT_DECAY, fused=True)

    def kernels():
        for _ in range(2):  # loss forward and PDLF: distances to every center under its metric
            torch.bmm(diff, metrics[1:])
        torch.bmm(diff.transpose(1, 2), diff)  # loss backward: the metrics' gradient
        torch.bmm(diff, metrics[1:])  # loss backward: the features' gradient
        for _ in range(2):
            torch.baddbmm(centers.pow(2).sum(2).unsqueeze(1), points, centers.transpose(1, 2), alpha=-2).argmin(2)
        adam.step()
        (2 * metrics.diagonal(dim1=-2, dim2=-1) - metrics.abs().sum(-1)).amin()

    return repeated_ms(kernels, repeats, device)


RESEEDING = ("_reseed", "_reseed_reading_values")  # the accelerator's pass and the CPU's


@contextlib.contextmanager
def without_reseeding():
    """k-means as it was before empty clusters were re-seeded: one the start leaves empty keeps
    its center (the baseline of the re-seeding's cost)."""
    originals = {name: getattr(kmeans_module, name) for name in RESEEDING}
    for name in RESEEDING:
        setattr(kmeans_module, name, lambda x, assignment, centers, clusters: assignment)
    try:
        yield
    finally:
        for name, original in originals.items():
            setattr(kmeans_module, name, original)


def reseeding_pass(device: torch.device):
    """The re-seeding k-means runs on `device`: the CPU reads which clusters are empty, an
    accelerator runs the fixed-shape pass every time."""
    return kmeans_module._reseed_reading_values if device.type == "cpu" else kmeans_module._reseed


def reseeding_cost(args, device: torch.device) -> tuple[float, float]:
    """What re-seeding adds to our step, B = 64, k = 7, on spread batches and on batches whose
    labels are skewed as MOSI's (where warm starts leave clusters empty): after each step,
    warm k-means of the same batch from the same centers with and without re-seeding, back to
    back in alternating order so that load falls on both; the difference of their medians over
    the step's median. The pass runs only where the start leaves a cluster empty on the CPU, on
    every call on an accelerator, so the pass alone is timed too, over the step: its cost on a
    step that needs it (the step's start with one center moved far from every row). Returns the larger ratio (step with over without) and pass fraction of the kinds."""
    ratios, fractions = [], []
    for kind in RESEED_KINDS:
        ours, spent, empty_starts = Ours(7, device), {"step": [], True: [], False: [], "pass": []}, 0
        for index, (x, labels) in enumerate(make_batches(64, args.warmup + args.repeats, seed=71, kind=kind)):
            init, had_state = ours.state.centers.clone(), ours.has_state
            step = sum(ours.step(x, labels).values())
            if not had_state or index < args.warmup:
                continue
            features = x.to(device)
            for reseeding in (True, False) if index % 2 else (False, True):
                laps = Laps(device)
                with contextlib.nullcontext() if reseeding else without_reseeding():
                    kmeans(features, 7, init=init)
                laps("k-means")
                spent[reseeding].append(laps.spent["k-means"])
            points, clusters = features.unsqueeze(0), torch.arange(7, device=device)
            assignment = kmeans_module._nearest(points, init.unsqueeze(0))
            empty_starts += int(not kmeans_module._one_hot(assignment, clusters).any(1).all())
            # The pass with a cluster to re-seed: the same start, its center 0 moved far away.
            far = init.clone().unsqueeze(0)
            far[0, 0] = 1e3
            assignment = kmeans_module._nearest(points, far)
            laps = Laps(device)
            reseeding_pass(device)(features, assignment, far, clusters)
            laps("pass")
            spent["step"].append(step)
            spent["pass"].append(laps.spent["pass"])
        ms = {name: 1e3 * statistics.median(values) for name, values in spent.items()}
        ratios.append((ms["step"] + ms[True] - ms[False]) / ms["step"])
        fractions.append(ms["pass"] / ms["step"])
        print(f"re-seeding, {kind}: step {ms['step']:.2f} ms; warm k-means {ms[True]:.3f} ms with re-seeding, "
              f"{ms[False]:.3f} ms without; the pass alone {ms['pass']:.3f} ms; "
              f"{empty_starts} of {len(spent['step'])} starts left a cluster empty")
    return max(ratios), max(fractions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch and OpenMP/BLAS threads, both sides")
    parser.add_argument("--repeats", type=int, default=30, help="timed steps per configuration")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first (ours: includes the cold batch)")
    parser.add_argument("--block", type=int, default=10, help="steps each side runs before the other takes a turn")
    parser.add_argument("--device", default="cpu", help="where ours runs: cpu or cuda (the baseline stays on the CPU)")
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.set_num_threads(args.threads)
    print(f"threads: {args.threads} (torch and scikit-learn); ours on {device}; d1 = {DIM}; median of "
          f"{args.repeats} steps after {args.warmup} warm-up steps; both sides on the same batches, taking "
          f"turns every {args.block} steps")
    with threadpool_limits(args.threads):
        speedups = whole_steps(args, device)
        parts_table(args, device)
        projection = projection_ms(7, 10 * args.repeats, device)
        floor = floor_ms(7, 64, 10 * args.repeats, device)
        reseed_ratio, reseed_pass = reseeding_cost(args, device)
    print("PSD projection of M0 and dM (k = 7) alone, median ms: "
          + ", ".join(f"{name} {ms:.2f}" for name, ms in projection.items()))
    print(f"floor, B = 64, k = 7: the step's essential kernels alone take {floor:.2f} ms")
    print(f"reseed_step_ratio: {reseed_ratio:.3f}")
    print(f"reseed_pass_fraction: {reseed_pass:.3f}")
    print(f"speedup_b64_k7: {speedups[(64, 7)]:.2f}")


if __name__ == "__main__":
    main()
