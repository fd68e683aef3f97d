"""The MMC loss (spec section 2): metric learning inside and between the clusters of one batch.

Everything is batched over clusters and pairs and stays on the features' device, with no host
synchronisation on an accelerator, because the loss runs on every training step (spec 7.6).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from mmrest.labels import N_CLASSES as N_BINS
from mmrest.labels import label_bins


def mmc_loss(
    features: Tensor,
    labels: Tensor,
    assignment: Tensor,
    centers: Tensor,
    M0: Tensor,
    dM: Tensor,
    *,
    v1: float,
    v2: float,
    xi: float,
    alpha: float,
    beta: float = 0.01,
    max_pairs: int = 4000,
    seed: int = 0,
    return_activity: bool = False,
) -> Tensor | tuple[Tensor, HingeActivity]:
    """L_MMC of spec section 2 (steps 1 and 3 to 8) for one batch, as a scalar tensor, and with
    `return_activity` also which of its hinges are active (`HingeActivity`).

    Args:
        features: (N, d) metric features Z (N = 3B rows); gradients flow into them.
        labels: (N,) raw sentiment of each row, in [-3, 3].
        assignment: (N,) long cluster index of each row, in [0, K).
        centers: (K, d) cluster centers, treated as constants (no gradient).
        M0: (d, d) global metric; dM: (K, d, d) local offsets, dM[i] belongs to cluster i.
        v1, v2, xi, alpha, beta: the weights and margins of spec section 2.
        max_pairs: cap on similar and on dissimilar pairs per cluster.
        seed: seeds the draw of pairs when a cluster has more than `max_pairs` of a kind.

    Conventions:
        * Cluster i measures with M_i = M0 + dM[i] + beta * I and
          d_i(x, y) = (x - y)^T M_i (x - y). Only the symmetric part of M_i enters (a quadratic
          form sees nothing else), so M0 and dM need not be symmetric.
        * Pairs are unordered pairs of distinct rows of one cluster: similar (S_i) when both
          rows share a label bin, dissimilar (D_i) otherwise. When a kind has more than
          `max_pairs` pairs in a cluster, `max_pairs` of them are drawn uniformly without
          replacement; the draw is a function of `seed` and the inputs only.
        * An empty S_i or D_i sums to 0, so a cluster whose rows all share one bin still pays
          max(0, sum_S d_i + xi).
        * K = centers.shape[0] counts every cluster the caller tracks. A cluster with no row in
          this batch is dropped: no within term, and no between term as i or as j. A cluster
          with one row has no within term but takes part in between terms.
        * The total is divided by N, the number of rows.
    """
    _check_shapes(features, labels, assignment, centers, M0, dM)
    if max_pairs < 0:
        raise ValueError(f"max_pairs must be >= 0, got {max_pairs}")
    with torch.no_grad():
        batch = _batch_constants(features, labels, assignment, centers, alpha)
        if _cap_may_bind(assignment, max_pairs):
            weights = pair_weights(batch.bins, assignment, max_pairs=max_pairs, seed=seed).to(features.dtype)
            batch.laplacian = torch.diag(weights.sum(1)) - weights
        else:
            _group_rows(batch)
    loss, within_active, between_active = _MMCLoss.apply(features, M0, dM, batch, (v1, v2, xi, beta))
    if not return_activity:
        return loss
    return loss, HingeActivity(within_active, (batch.sizes >= 2).to(loss.dtype), between_active, batch.others)


class HingeActivity(NamedTuple):
    """Which hinge terms of one L_MMC evaluation are active (argument > 0): masks as computed
    by the loss, on its device; summing them is left to the caller that wants the counts."""

    within: Tensor  # (K,) 1 where cluster i's within-cluster hinge is active
    within_terms: Tensor  # (K,) 1 where cluster i has a within term (at least two rows)
    between: Tensor  # (N, K) 1 where the between hinge of row n against cluster j is active
    between_terms: Tensor  # (N, K) 1 where row n has a between term against cluster j


@dataclass
class _Batch:
    """What the loss needs from labels, assignment and centers: constants, no gradient."""

    c: Tensor  # (K, d) centers
    assignment: Tensor  # (N,)
    bins: Tensor  # (N,) label bins
    member: Tensor  # (N, K) one-hot cluster membership
    sizes: Tensor  # (K,) rows per cluster
    margin: Tensor  # (N, K): alpha ||c_i - c_j||^2 for a row of cluster i
    others: Tensor  # (N, K): 1 where cluster j is present and j != the row's cluster
    # Either every pair counts, and the rows' groups give the pair sums (_group_rows) ...
    groups: Tensor | None = None  # (N, 8K) one-hot: per cluster, 7 bin groups and the whole cluster
    group_sizes: Tensor | None = None  # (K, 8)
    group_sign: Tensor | None = None  # (8,): sum_S - sum_D = 2 sum_S - sum_all
    # ... or pairs are drawn, and their signed weights' Laplacian gives them.
    laplacian: Tensor | None = None  # (N, N)


def _batch_constants(features, labels, assignment, centers, alpha) -> _Batch:
    c = centers.detach().to(features.dtype)
    n_clusters = c.shape[0]
    member = _one_hot(assignment, n_clusters, c.dtype)  # (N, K)
    sizes = member.sum(0)
    gaps = torch.cdist(c, c).square()  # (K, K): ||c_i - c_j||^2
    return _Batch(
        c=c,
        assignment=assignment,
        bins=label_bins(labels),
        member=member,
        sizes=sizes,
        margin=alpha * (member @ gaps),
        others=(sizes > 0).to(c.dtype) - member,
    )


def _group_rows(batch: _Batch) -> None:
    """Each cluster gets 8 groups of rows: one per label bin, and one for the whole cluster."""
    member = batch.member
    n_clusters = member.shape[1]
    bin_or_all = torch.cat([_one_hot(batch.bins, N_BINS, member.dtype), torch.ones_like(member[:, :1])], 1)
    batch.groups = (member.unsqueeze(2) * bin_or_all.unsqueeze(1)).view(-1, 8 * n_clusters)  # (N, 8K)
    batch.group_sizes = batch.groups.sum(0).view(n_clusters, 8)
    batch.group_sign = torch.full((8,), 2.0, dtype=member.dtype, device=member.device)
    batch.group_sign[N_BINS] = -1.0


class _MMCLoss(torch.autograd.Function):
    """L_MMC with a hand-written backward.

    The loss is a few dozen small tensor operations; letting autograd record and replay them
    costs more than the arithmetic at N = 3B rows. The backward below is the chain rule written
    out; tests/model/test_mmc.py checks it with gradcheck on both within-term paths.

    Quadratic forms see only the symmetric part S_j of M_j = M0 + dM_j + beta I, so the forward
    works with S_j, and the gradient with respect to M_j is the symmetric part of that for S_j.
    Besides the loss it returns the active-hinge masks the backward needs anyway, as outputs
    without gradient, so reporting them costs nothing.
    """

    @staticmethod
    def forward(ctx, features, M0, dM, batch: _Batch, hyper):
        v1, v2, xi, beta = hyper
        n_rows, dim = features.shape
        metrics = dM + M0 + beta * torch.eye(dim, dtype=features.dtype, device=features.device)
        sym = 0.5 * (metrics + metrics.mT)  # (K, d, d)
        diff = features.unsqueeze(0) - batch.c.unsqueeze(1)  # (K, N, d): x_n - c_j
        proj = torch.bmm(diff, sym)  # (K, N, d): (x_n - c_j)^T S_j
        dist = (proj * diff).sum(2).T  # (N, K): d_j(x_n, c_j)
        own = (dist * batch.member).sum(1)  # (N,): d_i(x, c_i), i = the row's cluster

        hinge = own.unsqueeze(1) + batch.margin - dist
        between = (hinge.clamp_min(0) * batch.others).sum()
        if batch.laplacian is None:
            signed, within_saved = _signed_sums_all_pairs(features, batch, sym, own)
        else:
            signed, within_saved = _signed_sums_drawn(features, batch, proj)
        within_arg = signed + xi
        has_pairs = (batch.sizes >= 2).to(features.dtype)
        within = (within_arg.clamp_min(0) * has_pairs).sum()

        ctx.batch, ctx.hyper, ctx.n_rows = batch, hyper, n_rows
        between_active = torch.where(hinge > 0, batch.others, 0)  # (N, K)
        within_active = torch.where(within_arg > 0, has_pairs, 0)  # (K,)
        ctx.mark_non_differentiable(within_active, between_active)
        ctx.save_for_backward(M0, diff, proj, sym, within_active, between_active, *within_saved)
        flat_m0 = M0.reshape(-1)
        loss = torch.add(within, between, alpha=v1).add_(torch.dot(flat_m0, flat_m0), alpha=v2) / n_rows
        return loss, within_active, between_active

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_loss, _grad_within, _grad_between):
        M0, diff, proj, sym, within_active, between_active, *within_saved = ctx.saved_tensors
        batch, (v1, v2, _, _) = ctx.batch, ctx.hyper
        scale = grad_loss / ctx.n_rows
        within_backward = _all_pairs_backward if batch.laplacian is None else _drawn_backward
        grad_own, grad_x, grad_sym, rhs = within_backward(scale * within_active, batch, sym, *within_saved)
        # Gradient with respect to dist (N, K): the between hinges directly, and through own.
        between = v1 * scale * between_active
        grad_dist = (grad_own + between.sum(1)).unsqueeze(1) * batch.member - between
        # dist[n, j] = diff^T S_j diff: d/dx = 2 S_j diff = 2 proj, d/dS_j = diff diff^T.
        weight = grad_dist.T.unsqueeze(2)  # (K, N, 1)
        grad_x = grad_x + (2 * weight * proj).sum(0)
        rhs = weight * diff if rhs is None else torch.addcmul(rhs, weight, diff)
        grad_sym = grad_sym + torch.bmm(diff.transpose(1, 2), rhs)
        grad_dM = 0.5 * (grad_sym + grad_sym.mT)
        grad_M0 = grad_dM.sum(0) + 2 * v2 * scale * M0
        return grad_x, grad_M0, grad_dM, None, None


def _one_hot(index: Tensor, n_classes: int, dtype: torch.dtype) -> Tensor:
    # A one-hot product sums rows with no host sync (unlike bincount) and in a fixed order
    # (unlike index_add on an accelerator).
    return (index.unsqueeze(1) == torch.arange(n_classes, device=index.device)).to(dtype)


def _signed_sums_all_pairs(features, batch, sym, own):
    """(K,) sum_S d_i - sum_D d_i over all pairs, from group sums instead of pairs.

    For a group g of n_g rows in cluster i, with s_g = sum_{a in g} (x_a - c_i), the
    parallel-axis theorem gives: sum over pairs in g of d_i = n_g sum_{a in g} d_i(x_a, c_i) - s_g^T S_i s_g.
    S_i is the union of the pairs inside each (cluster i, bin) group and D_i is the rest of the
    cluster's pairs, so sum_S - sum_D = 2 sum_S - (sum over all pairs of the cluster).
    Returns the sums and what the backward needs.
    """
    n_clusters = batch.member.shape[1]
    offsets = (batch.groups.T @ (features - batch.c[batch.assignment])).view(n_clusters, 8, -1)  # s_g
    offsets_sym = torch.bmm(offsets, sym)  # (K, 8, d): s_g^T S_i
    pair_sums = batch.group_sizes * (own @ batch.groups).view(n_clusters, 8) - (offsets_sym * offsets).sum(2)
    return pair_sums @ batch.group_sign, (offsets, offsets_sym)


def _all_pairs_backward(grad_signed, batch, sym, offsets, offsets_sym):
    """For sum_i grad_signed_i * signed_i: the gradients with respect to own, x and S, and no
    extra right-hand side for the S gradient (see _drawn_backward)."""
    n_clusters = grad_signed.shape[0]
    per_group = torch.outer(grad_signed, batch.group_sign)  # (K, 8): d(loss)/d(pair sum of group g)
    grad_own = batch.groups @ (per_group * batch.group_sizes).view(-1)
    # d(s^T S s)/ds = 2 S s; each row's offset x_a - c_i enters s of its two groups.
    grad_x = -2 * batch.groups @ (per_group.unsqueeze(2) * offsets_sym).view(8 * n_clusters, -1)
    grad_sym = -torch.bmm(offsets.transpose(1, 2), per_group.unsqueeze(2) * offsets)
    return grad_own, grad_x, grad_sym, None


def _signed_sums_drawn(features, batch, proj):
    """(K,) sum_S d_i - sum_D d_i over the drawn pairs, through the Laplacian L of their signed
    weights: the weighted sum over pairs of d_i(x_a, x_b) is sum_{a in i} x_a^T S_i (L X)_a. The rows
    of L X in one cluster sum to zero, so x_a may be replaced by x_a - c_i, whose projections are
    at hand. Returns the sums and what the backward needs."""
    lap_x = batch.laplacian @ features
    return ((proj * lap_x).sum(2) * batch.member.T).sum(1), (lap_x,)


def _drawn_backward(grad_signed, batch, sym, lap_x):
    """For sum_i grad_signed_i * signed_i: no gradient through own, the gradient with respect to
    x, none directly for S, and the right-hand side it adds to the S gradient diff^T @ rhs
    (d signed_i / d S_i = sum_{a in i} (x_a - c_i) (L X)_a^T)."""
    weight = grad_signed.unsqueeze(1) * batch.member.T  # (K, N): only a row's own cluster
    # d/dx_a of sum over pairs in i of w_ab d_i = 2 S_i (L X)_a for a in cluster i.
    lap_sym = torch.bmm(lap_x.expand(weight.shape[0], -1, -1), sym)
    grad_x = 2 * (weight.unsqueeze(2) * lap_sym).sum(0)
    return 0, grad_x, 0, weight.unsqueeze(2) * lap_x


def _cap_may_bind(assignment: Tensor, max_pairs: int) -> bool:
    """False when no cluster can have more than `max_pairs` pairs of a kind, so no draw is needed.

    The draw keeps every pair of a group under the cap, so skipping it never changes the result;
    it saves the N x N pair matrix and the draw. The shape bound costs nothing anywhere. The
    largest cluster is read only on the CPU, where reading a value is free; on an accelerator it
    would cost a host sync every step, so there the draw always runs.
    """
    n_rows = assignment.shape[0]
    if n_rows * (n_rows - 1) // 2 <= max_pairs:
        return False
    if assignment.device.type != "cpu":
        return True
    largest = int(torch.bincount(assignment).max())
    return largest * (largest - 1) // 2 > max_pairs


def pair_weights(bins: Tensor, assignment: Tensor, *, max_pairs: int, seed: int) -> Tensor:
    """(N, N) symmetric long matrix: +1 for a kept similar pair, -1 for a kept dissimilar pair.

    Only pairs of distinct rows in one cluster are non-zero. A kind with more than `max_pairs`
    pairs in a cluster keeps a uniform draw of `max_pairs` of them, without replacement, from a
    generator seeded by `seed` on the inputs' device (so a seed repeats its draw on one device).
    """
    generator = torch.Generator(device=assignment.device).manual_seed(seed)
    if assignment.device.type == "cpu":
        return _pair_weights_reading_counts(bins, assignment, max_pairs, generator)
    return _pair_weights_without_sync(bins, assignment, max_pairs, generator)


def _pair_weights_without_sync(bins, assignment, max_pairs, generator) -> Tensor:
    """pair_weights with shapes fixed by N alone: one random order of all N(N-1)/2 pairs, and
    each pair's rank within its (cluster, kind) group decides whether it is kept."""
    n_rows = assignment.shape[0]
    first, second = torch.triu_indices(n_rows, n_rows, 1, device=assignment.device)
    in_cluster = assignment[first] == assignment[second]
    dissimilar = (bins[first] != bins[second]).long()
    # Group = (cluster, kind); pairs across clusters share group -1 and are dropped below.
    group = torch.where(in_cluster, 2 * assignment[first] + dissimilar, -1)
    order = torch.randperm(group.shape[0], generator=generator, device=assignment.device)
    keep = in_cluster & (_rank_in_group(group, order, group.shape[0]) < max_pairs)
    upper = torch.zeros(n_rows, n_rows, dtype=torch.long, device=assignment.device)
    upper[first, second] = (1 - 2 * dissimilar) * keep
    return upper + upper.T


def _pair_weights_reading_counts(bins, assignment, max_pairs, generator) -> Tensor:
    """pair_weights for the CPU, where reading values is free: group sizes come from the
    (cluster, bin) histogram, and only the pairs of groups over the cap are drawn from."""
    rows = torch.arange(assignment.shape[0])
    # torch.triu would do, but its CPU kernel starts an OpenMP team even for tiny matrices,
    # which stalls for milliseconds whenever another process holds a core.
    candidate = (assignment.unsqueeze(0) == assignment.unsqueeze(1)) & (rows.unsqueeze(1) < rows)
    similar = bins.unsqueeze(0) == bins.unsqueeze(1)
    upper = candidate.to(torch.int8) * (2 * similar.to(torch.int8) - 1)
    n_clusters = int(assignment.max()) + 1
    per_bin = torch.bincount(assignment * N_BINS + bins, minlength=n_clusters * N_BINS).view(n_clusters, N_BINS)
    n_similar = (per_bin * (per_bin - 1) // 2).sum(1)
    n_all = per_bin.sum(1) * (per_bin.sum(1) - 1) // 2
    over = (torch.stack([n_similar, n_all - n_similar], 1) > max_pairs).view(-1)  # (cluster, kind)
    over_groups = over.nonzero()[:, 0].tolist()
    if over_groups:
        # Pairs in row-major order, then a random order of them; each group over the cap keeps
        # the first max_pairs of its pairs in that order.
        group = 2 * assignment.unsqueeze(1) + (~similar).long()  # (N, N): (cluster, kind) of a pair
        pair_rows, pair_cols = torch.nonzero(candidate & over[group], as_tuple=True)
        order = torch.randperm(pair_rows.shape[0], generator=generator)
        shuffled_group = group[pair_rows, pair_cols][order]
        dropped = torch.cat([order[(shuffled_group == g).nonzero()[max_pairs:, 0]] for g in over_groups])
        upper[pair_rows[dropped], pair_cols[dropped]] = 0
    return (upper + upper.T).long()


def _rank_in_group(group: Tensor, order: Tensor, span: int) -> Tensor:
    """0-based rank of each item within its group, items taken by increasing `order` (distinct
    integers in [0, span)). One sort on (group, order) makes each group contiguous and ordered;
    the rank is then the distance to the group's first position, found with a running max.
    """
    by_group = torch.argsort(group * span + order)
    sorted_group = group[by_group]
    position = torch.arange(group.shape[0], device=group.device)
    starts = torch.ones_like(sorted_group, dtype=torch.bool)
    starts[1:] = sorted_group[1:] != sorted_group[:-1]
    group_start = torch.cummax(torch.where(starts, position, 0), dim=0).values
    rank = torch.empty_like(position)
    rank[by_group] = position - group_start
    return rank


def _check_shapes(features, labels, assignment, centers, M0, dM) -> None:
    # Shapes only: checking values (range of assignment, finiteness) would need a host sync.
    if features.ndim != 2:
        raise ValueError(f"features must be (N, d), got shape {tuple(features.shape)}")
    n_rows, dim = features.shape
    n_clusters = centers.shape[0] if centers.ndim == 2 else -1
    expected = {
        "labels": (labels, (n_rows,)),
        "assignment": (assignment, (n_rows,)),
        "centers": (centers, (n_clusters, dim)),
        "M0": (M0, (dim, dim)),
        "dM": (dM, (n_clusters, dim, dim)),
    }
    for name, (tensor, shape) in expected.items():
        if tuple(tensor.shape) != shape or n_clusters < 1:
            raise ValueError(
                f"{name} must have shape {shape} for features of shape {(n_rows, dim)} and "
                f"centers of shape (K, {dim}); got {tuple(tensor.shape)}"
            )
    if assignment.dtype != torch.long:
        raise ValueError(f"assignment must be a long tensor, got {assignment.dtype}")
