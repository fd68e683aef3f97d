"""k-means on the data's device (spec 2.2 and 7.3): k-means++ restarts, or a warm start.

The training step clusters every batch, so this must not leave the device nor wait on the host:
restarts run as one batch, and on an accelerator the Lloyd iterations run to their cap with no
convergence check (each check would be one host sync).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

class KMeansResult(NamedTuple):
    centers: Tensor  # (k, d); a center that got no point keeps its previous position
    assignment: Tensor  # (n,) long index of each point's nearest center
    inertia: Tensor  # scalar: sum of squared distances of points to their centers


def kmeans(
    x: Tensor,
    k: int,
    *,
    init: Tensor | None = None,
    n_init: int = 10,
    iters: int = 20,
    seed: int = 0,
) -> KMeansResult:
    """Cluster the rows of x (n, d) into k clusters, without gradients.

    With init=None: greedy k-means++ seeding, n_init restarts run as one batch, Lloyd
    iterations, and the restart with the lowest inertia is kept; `seed` seeds a generator on
    x's device, so a seed gives the same result on the same device. With init (k, d): Lloyd
    iterations from those centers (no randomness), which keeps cluster identities stable from
    one batch to the next. In both modes a cluster that loses all its points keeps its previous
    center, so an index always names the same cluster; the caller sees it as empty in the
    assignment. With fewer distinct points than k, the spare centers duplicate points and stay
    empty. At most `iters` Lloyd iterations; they stop early once assignments stop changing.
    """
    _check_args(x, k, init, n_init, iters)
    with torch.no_grad():
        x = x.detach()
        if init is None:
            generator = torch.Generator(device=x.device).manual_seed(seed)
            starts = _kmeans_plus_plus(x, k, n_init, generator)
        else:
            starts = init.detach().to(dtype=x.dtype, device=x.device).unsqueeze(0)
        # The CPU stops once assignments stop changing, since reading a value there is free; an
        # accelerator runs every iteration rather than wait for that check on the host.
        centers, assignment = _lloyd(x, starts, iters, check=x.device.type == "cpu")
        inertia = (x.unsqueeze(0) - _gather_rows(centers, assignment)).pow(2).sum((1, 2))
        best = inertia.argmin().view(1)  # index_select, not [best]: no host sync
        return KMeansResult(
            centers=centers.index_select(0, best).squeeze(0),
            assignment=assignment.index_select(0, best).squeeze(0),
            inertia=inertia.index_select(0, best).squeeze(0),
        )


def _kmeans_plus_plus(x: Tensor, k: int, n_init: int, generator: torch.Generator) -> Tensor:
    """(n_init, k, d) greedy k-means++ seeds: each step draws 2 + log(k) candidates in
    proportion to the squared distance to the chosen centers and keeps the one that lowers the
    potential most (the variant scikit-learn uses, which gives lower inertia than plain k-means++).
    """
    n = x.shape[0]
    n_trials = 2 + int(math.log(k))
    # Exact pairwise distances: duplicate points must be at distance 0 so they are never redrawn.
    sq = torch.cdist(x, x, compute_mode="donot_use_mm_for_euclid_dist").pow(2)
    chosen = [torch.randint(n, (n_init,), generator=generator, device=x.device)]
    closest = sq[chosen[0]]  # (n_init, n)
    for _ in range(1, k):
        # Once every point is a center (fewer distinct points than k) all weights are 0: draw
        # uniformly instead; the duplicate center then stays empty.
        exhausted = closest.sum(1, keepdim=True) <= 0
        weights = torch.where(exhausted, torch.ones_like(closest), closest)
        candidates = torch.multinomial(weights, n_trials, replacement=True, generator=generator)
        candidate_sq = sq[candidates]  # (n_init, n_trials, n)
        potential = torch.minimum(candidate_sq, closest.unsqueeze(1)).sum(2)
        best = potential.argmin(1, keepdim=True)
        pick = candidates.gather(1, best).squeeze(1)
        closest = torch.minimum(closest, sq[pick])
        chosen.append(pick)
    return x[torch.stack(chosen, 1)]


def _lloyd(x: Tensor, centers: Tensor, iters: int, *, check: bool) -> tuple[Tensor, Tensor]:
    """Lloyd iterations on a batch of center sets (r, k, d); returns the centers and each
    point's nearest center among them. With `check`, stop once no assignment changes; without,
    run all `iters`: a fixed point maps to itself, so both give the same result."""
    points = x.expand(centers.shape[0], -1, -1)  # (r, n, d), a view
    clusters = torch.arange(centers.shape[1], device=x.device)
    assignment = _nearest(points, centers)
    for _ in range(iters):
        centers = _means(points, assignment, centers, clusters)
        previous, assignment = assignment, _nearest(points, centers)
        if check and torch.equal(assignment, previous):
            break
    return centers, assignment


def _nearest(points: Tensor, centers: Tensor) -> Tensor:
    """(r, n) index of the nearest center; ties go to the lowest index."""
    # ||x||^2 is the same for every center, so it is left out of the comparison.
    sq_norms = centers.pow(2).sum(2).unsqueeze(1)  # (r, 1, k)
    return torch.baddbmm(sq_norms, points, centers.transpose(1, 2), alpha=-2).argmin(2)


def _means(points: Tensor, assignment: Tensor, centers: Tensor, clusters: Tensor) -> Tensor:
    """Mean of each cluster's points; an empty cluster keeps its center."""
    # A one-hot product rather than index_add: the same summation order on every device.
    member = (assignment.unsqueeze(2) == clusters).to(points.dtype)  # (r, n, k)
    counts = member.sum(1).unsqueeze(2)
    sums = torch.bmm(member.transpose(1, 2), points)
    return torch.where(counts > 0, sums / counts.clamp_min(1), centers)


def _gather_rows(centers: Tensor, assignment: Tensor) -> Tensor:
    """(r, n, d): the center of each point, for each restart."""
    index = assignment.unsqueeze(2).expand(-1, -1, centers.shape[2])
    return centers.gather(1, index)


def _check_args(x, k, init, n_init, iters) -> None:
    if x.ndim != 2 or x.shape[0] < 1:
        raise ValueError(f"x must be (n, d) with n >= 1, got shape {tuple(x.shape)}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if n_init < 1 or iters < 1:
        raise ValueError(f"n_init and iters must be >= 1, got n_init={n_init}, iters={iters}")
    if init is not None and tuple(init.shape) != (k, x.shape[1]):
        raise ValueError(f"init must have shape {(k, x.shape[1])}, got {tuple(init.shape)}")
