"""k-means on the data's device (spec 2.2 and 7.3): k-means++ restarts, or a warm start.

The training step clusters every batch, so this must not leave the device nor wait on the host:
restarts run as one batch, on an accelerator the Lloyd iterations run to their cap with no
convergence check (each check would be one host sync), and clusters the start leaves empty are
re-seeded with shapes fixed by the input's (no boolean indexing, no count read on the host).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as F


class KMeansResult(NamedTuple):
    centers: Tensor  # (k, d); a center left without a point keeps its position
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

    In both modes the first update re-seeds the clusters the start leaves without a point, as
    scikit-learn's Lloyd does (`_relocate_empty_clusters_dense`): the rows farthest from their
    assigned centers move, one to each empty cluster, the farthest to the empty cluster of lowest
    index, and leave their old cluster's mean. Without that, a warm start from a center far from
    every row never gets a row again (docs/model.md, "Dead clusters"). Where ours differs, and
    why: scikit-learn re-seeds in every update, ours in the first only, where a warm start leaves
    clusters empty (on an accelerator, which cannot ask whether a cluster is empty without a host
    sync, the re-seeding's few dozen small kernels would run in every iteration and more than
    double the cost of k-means; a cluster that Lloyd empties later keeps its center, and the next
    batch's first update re-seeds it); a row is not taken when it equals the row before it in
    that order (a copy), nor when its cluster has no other distinct value after it in that order
    (scikit-learn would then empty that cluster and leave its center at the origin, or leave two
    clusters on one point); ties in distance go to the lower row index (scikit-learn's
    argpartition leaves their order, and with more than two empty clusters the order of the
    farthest rows, unspecified). Every other cluster keeps its index, so identities stay stable.
    A cluster that no row can re-seed (fewer distinct points than k) keeps its center and stays
    empty; the caller sees it as empty in the assignment. At most `iters` Lloyd iterations; they
    stop early once assignments stop changing.
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
    """Lloyd iterations on a batch of center sets (r, k, d), the first update re-seeding the
    clusters the start leaves empty; returns the centers and each point's nearest center among
    them. With `check` (reading values on the host is free), re-seed by reading which clusters
    are empty, and stop once no assignment changes; without, re-seed with fixed shapes (which
    leaves an assignment with no empty cluster as it is) and run all `iters`: the two re-seedings
    move the same rows, and a fixed point maps to itself, so both give the same result."""
    points = x.expand(centers.shape[0], -1, -1)  # (r, n, d), a view
    clusters = torch.arange(centers.shape[1], device=x.device)
    assignment = _nearest(points, centers)
    reseed = _reseed_reading_values if check else _reseed
    assignment = reseed(x, assignment, centers, clusters)
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


def _one_hot(assignment: Tensor, clusters: Tensor) -> Tensor:
    """(r, n, k) bool: point i belongs to cluster j."""
    return assignment.unsqueeze(2) == clusters


def _means(points: Tensor, assignment: Tensor, centers: Tensor, clusters: Tensor) -> Tensor:
    """Mean of each cluster's points; an empty cluster keeps its center."""
    # A one-hot product rather than index_add: the same summation order on every device.
    member = _one_hot(assignment, clusters).to(points.dtype)  # (r, n, k)
    counts = member.sum(1).unsqueeze(2)
    sums = torch.bmm(member.transpose(1, 2), points)
    return torch.where(counts > 0, sums / counts.clamp_min(1), centers)


def _farthest_first(x: Tensor, assignment: Tensor, centers: Tensor) -> Tensor:
    """(r, n) the rows in decreasing distance to their assigned centers, ties in row order."""
    n_sets, n_rows = assignment.shape
    # index_select on flattened rows: a quarter of the time of gather's expanded index here.
    flat = assignment + centers.shape[1] * torch.arange(n_sets, device=x.device).unsqueeze(1)
    own_centers = centers.reshape(-1, x.shape[1]).index_select(0, flat.view(-1)).view(n_sets, n_rows, -1)
    far = (x - own_centers).square().sum(2)
    # A stable sort: equal distances keep row order, the same on every device (topk's is unspecified).
    return far.sort(dim=1, descending=True, stable=True).indices


def _reseed(x: Tensor, assignment: Tensor, centers: Tensor, clusters: Tensor) -> Tensor:
    """The assignment (r, n) of the points x (n, d) to the center sets (r, k, d) with the j-th
    empty cluster given the j-th farthest eligible row (see kmeans for which rows are eligible).

    Shapes depend only on (r, n, k), so nothing waits on the host: a sort of every row instead
    of a data-sized selection, running counts (cumsum) instead of boolean indexing, and rows
    that are not moved written to a spare column that is cut off. Where no cluster is empty the
    assignment comes back as it was."""
    n_sets, n_rows = assignment.shape
    order = _farthest_first(x, assignment, centers)
    owner = assignment.gather(1, order)  # each row's cluster, in that order
    # Equal rows have one nearest center and one distance, so they sort next to each other: a
    # row equal to the one before it is a copy, the others are their clusters' distinct values.
    in_order = x.index_select(0, order.view(-1)).view(n_sets, n_rows, -1)
    fresh = F.pad(in_order.diff(dim=1).abs().amax(2) > 0, (1, 0), value=True)
    # Rank of each distinct value within its cluster, in that order; the last one stays, so no
    # cluster is emptied and none is left holding only copies of the row that moved.
    seen = (_one_hot(owner, clusters) & fresh.unsqueeze(2)).long().cumsum(1)  # (r, n, k)
    rank = seen.gather(2, owner.unsqueeze(2)).squeeze(2)
    eligible = fresh & (rank < seen[:, -1].gather(1, owner))
    # The j-th empty cluster (j from 1) takes the first row where the count of eligible rows reaches j.
    empty = ~_one_hot(assignment, clusters).any(1)  # (r, k)
    position = torch.searchsorted(eligible.long().cumsum(1), empty.long().cumsum(1))  # (r, k)
    taken = empty & (position < n_rows)
    rows = torch.where(taken, order.gather(1, position.clamp(max=n_rows - 1)), n_rows)
    moved = F.pad(assignment, (0, 1)).scatter(1, rows, clusters.expand_as(rows))
    return moved[:, :n_rows]


def _reseed_reading_values(x: Tensor, assignment: Tensor, centers: Tensor, clusters: Tensor) -> Tensor:
    """_reseed for the CPU, where reading values is free: the same rows, found in numpy by
    walking the farthest rows only as far as the empty clusters need. The fixed-shape version
    decides every row in about 38 small torch calls: about three times the time on the CPU (228
    against 69 us of CPU time for 192 rows of 64, one empty cluster)."""
    labels = assignment.numpy()
    counts = np.stack([np.bincount(row, minlength=len(clusters)) for row in labels])  # (r, k)
    if counts.all():
        return assignment
    points, moved = x.numpy(), labels.copy()
    for s in np.flatnonzero((counts == 0).any(1)):
        empty = list(np.flatnonzero(counts[s] == 0))
        offset = points - centers[s].numpy()[labels[s]]
        order = np.argsort(-np.einsum("ij,ij->i", offset, offset), kind="stable")  # farthest first
        for position in range(len(order)):
            if not empty:
                break
            if _eligible(points, order, labels[s], position):
                moved[s, order[position]] = empty.pop(0)
    return torch.from_numpy(moved)


def _eligible(points: np.ndarray, order: np.ndarray, labels: np.ndarray, position: int) -> bool:
    """Whether the row at `position` of the farthest-first `order` may re-seed a cluster: it is
    not a copy of the row before it, and a later row of its cluster holds another value."""
    row = points[order[position]]
    if position > 0 and np.array_equal(row, points[order[position - 1]]):
        return False
    later = order[position + 1 :]
    later = later[labels[later] == labels[order[position]]]
    return bool((points[later] != row).any())


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
