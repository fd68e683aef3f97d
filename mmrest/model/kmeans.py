"""k-means on the data's device (spec 2.2 and 7.3): k-means++ restarts, or a warm start.

The training step clusters every batch, so this must not leave the device nor wait on the host:
restarts run as one batch, and on an accelerator the Lloyd iterations run to their cap with no
convergence check (each check would be one host sync), and a cluster left empty is re-seeded with
shapes fixed by the input's (no boolean indexing, no count read on the host).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

class KMeansResult(NamedTuple):
    centers: Tensor  # (k, d); a center that got no point and could not be re-seeded keeps its position
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
    one batch to the next.

    In both modes a cluster that loses all its points is re-seeded in the update step, as
    scikit-learn's Lloyd does (`_relocate_empty_clusters_dense`): the rows farthest from their
    assigned centers move, one to each empty cluster, the farthest to the empty cluster of lowest
    index, and leave their old cluster's sum. Without that, a warm start from a center far from
    every row never gets a row again (docs/model.md, "Dead clusters"). Where ours differs, and
    why: a row is not taken when it equals the row before it in that order (a copy), nor when its
    cluster has no other distinct value after it in that order (scikit-learn would then empty
    that cluster and leave its center at the origin, or leave two clusters on one point); ties
    in distance go to the lower row index (scikit-learn's argpartition leaves their order, and
    with more than two empty clusters the order of the farthest rows, unspecified). Every other
    cluster keeps its index, so identities stay stable. A cluster that no row can re-seed (fewer
    distinct points than k) keeps its previous center and stays empty; the caller sees it as
    empty in the assignment. At most `iters` Lloyd iterations; they stop early once assignments
    stop changing and no cluster is empty.
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
    point's nearest center among them. With `check` (reading values on the host is free), stop
    once no assignment changes and no cluster is empty, and re-seed only when one is; without,
    run all `iters` and the re-seeding on every one: an assignment with no empty cluster is left
    as it is by the re-seeding and maps to itself, so both give the same result."""
    points = x.expand(centers.shape[0], -1, -1)  # (r, n, d), a view
    clusters = torch.arange(centers.shape[1], device=x.device)
    assignment = _nearest(points, centers)
    for _ in range(iters):
        centers, had_empty = _means(points, assignment, centers, clusters, check=check)
        previous, assignment = assignment, _nearest(points, centers)
        if check and not had_empty and torch.equal(assignment, previous):
            break
    return centers, assignment


def _nearest(points: Tensor, centers: Tensor) -> Tensor:
    """(r, n) index of the nearest center; ties go to the lowest index."""
    # ||x||^2 is the same for every center, so it is left out of the comparison.
    sq_norms = centers.pow(2).sum(2).unsqueeze(1)  # (r, 1, k)
    return torch.baddbmm(sq_norms, points, centers.transpose(1, 2), alpha=-2).argmin(2)


def _means(
    points: Tensor, assignment: Tensor, centers: Tensor, clusters: Tensor, *, check: bool
) -> tuple[Tensor, bool]:
    """Mean of each cluster's points after re-seeding the empty clusters (see kmeans); a
    cluster still empty keeps its center. Also returns, with `check`, whether a cluster was empty
    (always True without: finding out would be a host sync)."""
    # A one-hot product rather than index_add: the same summation order on every device.
    member = (assignment.unsqueeze(2) == clusters).to(points.dtype)  # (r, n, k)
    empty = member.sum(1) == 0  # (r, k)
    had_empty = bool(empty.any()) if check else True
    if had_empty:
        # Where no cluster is empty this changes nothing, bit for bit: the accelerator runs it
        # every time rather than ask the host whether it is needed.
        member = _reseed(points, assignment, centers, member, empty)
    counts = member.sum(1).unsqueeze(2)
    sums = torch.bmm(member.transpose(1, 2), points)
    return torch.where(counts > 0, sums / counts.clamp_min(1), centers), had_empty


def _reseed(points: Tensor, assignment: Tensor, centers: Tensor, member: Tensor, empty: Tensor) -> Tensor:
    """The membership (r, n, k) with the j-th empty cluster given the j-th farthest eligible row.

    Shapes depend only on (r, n, k): a sort of every row instead of a data-sized selection, and
    the pairing of empty clusters with rows by running counts (cumsum) instead of indexing."""
    far = (points - _gather_rows(centers, assignment)).pow(2).sum(2)  # (r, n): to the assigned center
    # A stable sort: equal distances keep row order, the same on every device (topk's is unspecified).
    order = far.sort(dim=1, descending=True, stable=True).indices  # (r, n)
    in_order = member.gather(1, order.unsqueeze(2).expand_as(member)).long()  # (r, n, k)
    # Equal rows have one nearest center and one distance, so they sort next to each other: a
    # row equal to the one before it is a copy, and the others are the cluster's distinct values.
    sorted_points = points.gather(1, order.unsqueeze(2).expand_as(points))
    copy = torch.zeros_like(far, dtype=torch.bool)
    copy[:, 1:] = (sorted_points[:, 1:] == sorted_points[:, :-1]).all(2)
    distinct = in_order * (~copy).long().unsqueeze(2)
    # 1-based rank of each distinct value within its cluster, in that order; the last stays, so
    # no cluster is emptied and none is left holding only copies of the row that moved.
    rank = (distinct.cumsum(1) * in_order).sum(2)
    eligible = ~copy & (rank < (distinct.sum(1, keepdim=True) * in_order).sum(2))
    slot = eligible.long().cumsum(1) - 1  # (r, n): position among the eligible rows
    wanted = empty.long().cumsum(1) - 1  # (r, k): position among the empty clusters
    moves = eligible.unsqueeze(2) & empty.unsqueeze(1) & (slot.unsqueeze(2) == wanted.unsqueeze(1))
    moved = torch.zeros_like(moves).scatter_(1, order.unsqueeze(2).expand_as(moves), moves)  # row order
    return torch.where(moved.any(2, keepdim=True), moved.to(member.dtype), member)


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
