"""mmc_loss against a plain-loop oracle, a hand-computed case, gradcheck, sampling and empty clusters."""
import numpy as np
import pytest
import torch
from label_oracle import oracle_bin

import mmrest
from mmrest.labels import label_bins
from mmrest.model.mmc import (
    _cap_may_bind,
    _pair_weights_reading_counts,
    _pair_weights_without_sync,
    mmc_loss,
    pair_weights,
)

HYPER = dict(v1=0.8, v2=1.0, xi=3.0, alpha=1.0)


def oracle_loss(x, labels, assignment, centers, M0, dM, *, v1, v2, xi, alpha, beta=0.01, kept=None, counts=None):
    """Spec 2 with loops over clusters, pairs and rows, in float64 numpy.

    `kept(a, b)` says whether pair (a, b), a < b, takes part (all pairs when None). Returns the
    loss and the smallest |hinge argument| seen, so tests can keep gradcheck away from kinks.
    A `counts` dict receives the number of within and between hinge terms and of active ones.
    """
    tally = counts if counts is not None else {}
    tally.update(within_active=0, within_terms=0, between_active=0, between_terms=0)
    x, centers, M0, dM = (np.asarray(t.detach().double()) for t in (x, centers, M0, dM))
    labels, assignment = labels.tolist(), assignment.tolist()
    n_rows, dim = x.shape
    n_clusters = centers.shape[0]
    bins = [oracle_bin(y) for y in labels]
    rows = {i: [n for n in range(n_rows) if assignment[n] == i] for i in range(n_clusters)}
    present = [i for i in range(n_clusters) if rows[i]]
    metric = [M0 + dM[i] + beta * np.eye(dim) for i in range(n_clusters)]

    def dist(i, u, v):
        return float((u - v) @ metric[i] @ (u - v))

    total, closest_kink = 0.0, np.inf
    for i in present:
        if len(rows[i]) >= 2:
            signed = 0.0
            for pos, a in enumerate(rows[i]):
                for b in rows[i][pos + 1 :]:
                    if kept is not None and not kept(a, b):
                        continue
                    d = dist(i, x[a], x[b])
                    signed += d if bins[a] == bins[b] else -d
            total += max(0.0, signed + xi)
            closest_kink = min(closest_kink, abs(signed + xi))
            tally["within_terms"] += 1
            tally["within_active"] += signed + xi > 0
        for j in present:
            if j == i:
                continue
            gap = float(((centers[i] - centers[j]) ** 2).sum())
            for n in rows[i]:
                arg = dist(i, x[n], centers[i]) + alpha * gap - dist(j, x[n], centers[j])
                total += v1 * max(0.0, arg)
                closest_kink = min(closest_kink, abs(arg))
                tally["between_terms"] += 1
                tally["between_active"] += arg > 0
    total += v2 * float((M0**2).sum())
    return total / n_rows, closest_kink


def autograd_reference(x, labels, assignment, centers, M0, dM, *, v1, v2, xi, alpha, beta=0.01, kept=None):
    """Spec 2 in plain torch with loops over clusters and cluster pairs, for autograd to
    differentiate: the independent check of mmc_loss's hand-written backward."""
    bins = [oracle_bin(y) for y in labels.tolist()]
    eye = torch.eye(x.shape[1], dtype=x.dtype)
    present = sorted(set(assignment.tolist()))
    rows = {i: (assignment == i).nonzero().flatten().tolist() for i in present}
    total = v2 * (M0**2).sum()
    for i in present:
        metric_i = M0 + dM[i] + beta * eye
        pairs = [(a, b) for pos, a in enumerate(rows[i]) for b in rows[i][pos + 1 :] if kept is None or kept(a, b)]
        if len(rows[i]) >= 2:
            signed = torch.zeros((), dtype=x.dtype)
            if pairs:
                first, second = (list(t) for t in zip(*pairs))
                diffs = x[first] - x[second]
                sign = torch.tensor([1.0 if bins[a] == bins[b] else -1.0 for a, b in pairs], dtype=x.dtype)
                signed = (sign * ((diffs @ metric_i) * diffs).sum(1)).sum()
            total = total + torch.relu(signed + xi)
        own_diff = x[rows[i]] - centers[i]
        own = ((own_diff @ metric_i) * own_diff).sum(1)
        for j in present:
            if j != i:
                other_diff = x[rows[i]] - centers[j]
                other = ((other_diff @ (M0 + dM[j] + beta * eye)) * other_diff).sum(1)
                gap = (centers[i] - centers[j]).pow(2).sum()
                total = total + v1 * torch.relu(own + alpha * gap - other).sum()
    return total / x.shape[0]


def random_case(seed, n_rows, n_clusters, dim, dtype=torch.float64, n_empty=0):
    """Blobbed features with nearest-center assignment, PSD-ish metrics, some clusters left empty."""
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(n_clusters, dim, generator=g, dtype=dtype) * 1.5
    used = n_clusters - n_empty
    assignment = torch.randint(0, used, (n_rows,), generator=g)
    assignment = torch.randperm(n_clusters, generator=g)[:used][assignment]  # empties anywhere
    x = centers[assignment] + torch.randn(n_rows, dim, generator=g, dtype=dtype)
    labels = (torch.rand(n_rows, generator=g, dtype=dtype) * 6 - 3).round(decimals=1)
    a = torch.randn(dim, dim, generator=g, dtype=dtype) / dim**0.5
    M0 = torch.eye(dim, dtype=dtype) + 0.3 * a @ a.T
    b = torch.randn(n_clusters, dim, dim, generator=g, dtype=dtype) / dim**0.5
    dM = 0.2 * b @ b.transpose(1, 2)
    return x, labels, assignment, centers, M0, dM


@pytest.mark.parametrize(
    "seed,n_rows,n_clusters,n_empty,xi,alpha",
    [(0, 24, 2, 0, 3.0, 1.0), (1, 96, 5, 1, 3.0, 0.1), (2, 192, 7, 0, 70.0, 0.7), (3, 192, 10, 2, 3.0, 0.3),
     (4, 150, 10, 0, 300.0, 0.05)],
)
def test_matches_loop_oracle(seed, n_rows, n_clusters, n_empty, xi, alpha):
    x, labels, assignment, centers, M0, dM = random_case(seed, n_rows, n_clusters, 16, n_empty=n_empty)
    hyper = dict(v1=0.8, v2=0.5, xi=xi, alpha=alpha)
    # max_pairs above any cluster's pair count: no sampling, every pair counts.
    ours = mmc_loss(x, labels, assignment, centers, M0, dM, **hyper, max_pairs=n_rows * n_rows)
    expected, _ = oracle_loss(x, labels, assignment, centers, M0, dM, **hyper)
    assert ours.item() == pytest.approx(expected, rel=1e-5)
    # float32 inputs, as in training, stay close to the float64 oracle.
    as_float32 = (t.float() if t.is_floating_point() else t for t in (x, labels, assignment, centers, M0, dM))
    ours32 = mmc_loss(*as_float32, **hyper, max_pairs=n_rows * n_rows)
    assert ours32.item() == pytest.approx(expected, rel=1e-4)


def test_oracle_cases_exercise_both_sides_of_every_hinge():
    # Guard for the oracle test: its inputs must make some hinges active and some not, or a
    # loss that ignores a term could still agree.
    x, labels, assignment, centers, M0, dM = random_case(3, 192, 10, 16, n_empty=2)
    parts = dict(v1=0.8, v2=0.0, xi=3.0, alpha=0.3)
    between_only, _ = oracle_loss(x, labels, assignment, centers, M0, dM, **parts)
    no_margin, _ = oracle_loss(x, labels, assignment, centers, M0, dM, **{**parts, "alpha": 0.0})
    huge_margin, _ = oracle_loss(x, labels, assignment, centers, M0, dM, **{**parts, "alpha": 100.0})
    assert 0 < no_margin < between_only < huge_margin


def test_hand_computed_four_points():
    # Two clusters in 2-d, M0 = I, dM = 0, beta = 0, so every d_i is the squared Euclidean distance.
    #   cluster 0: x1 = (0, 0) y = 0.0 (bin 3), x2 = (1, 0) y = 0.2 (bin 3)  -> one similar pair, d = 1
    #   cluster 1: x3 = (3, 0) y = 2.0 (bin 5), x4 = (3, 2) y = -2.0 (bin 1) -> one dissimilar pair, d = 4
    #   centers c0 = (0.5, 0), c1 = (3, 1); ||c0 - c1||^2 = 6.25 + 1 = 7.25; alpha = 1 -> margin 7.25
    # within (xi = 1): cluster 0: max(0, 1 - 0 + 1) = 2; cluster 1: max(0, 0 - 4 + 1) = 0
    # between, d_own + 7.25 - d_other:
    #   x1: 0.25 + 7.25 - 10    = -2.5 -> 0      x2: 0.25 + 7.25 - 5     = 2.5
    #   x3: 1    + 7.25 - 6.25  =  2            x4: 1    + 7.25 - 10.25 = -2 -> 0
    #   v1 = 0.5 -> 0.5 * 4.5 = 2.25
    # regulariser v2 = 0.25: 0.25 * ||I_2||_F^2 = 0.5
    # L = (2 + 0 + 2.25 + 0.5) / 4 = 1.1875
    x = torch.tensor([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0], [3.0, 2.0]])
    labels = torch.tensor([0.0, 0.2, 2.0, -2.0])
    assignment = torch.tensor([0, 0, 1, 1])
    centers = torch.tensor([[0.5, 0.0], [3.0, 1.0]])
    hyper = dict(v1=0.5, v2=0.25, xi=1.0, alpha=1.0, beta=0.0)
    loss = mmc_loss(x, labels, assignment, centers, torch.eye(2), torch.zeros(2, 2, 2), **hyper)
    assert loss.item() == pytest.approx(1.1875, rel=1e-6)

    # An empty third cluster, whose center sits where it would change every between term if it
    # took part, is dropped.
    centers3 = torch.cat([centers, torch.tensor([[0.9, 0.1]])])
    loss3 = mmc_loss(x, labels, assignment, centers3, torch.eye(2), torch.zeros(3, 2, 2), **hyper)
    assert loss3.item() == pytest.approx(1.1875, rel=1e-6)


# All pairs, or drawn pairs under a binding cap; xi puts within hinges on both sides.
@pytest.mark.parametrize("max_pairs,xi", [(10**6, 4000.0), (60, 200.0)])
def test_hinge_activity_counts_match_oracle(max_pairs, xi):
    x, labels, assignment, centers, M0, dM = random_case(13, 96, 5, 6, n_empty=1)
    hyper = dict(v1=0.8, v2=0.5, xi=xi, alpha=0.3)
    drawn = pair_weights(label_bins(labels), assignment, max_pairs=max_pairs, seed=3)
    loss, activity = mmc_loss(x, labels, assignment, centers, M0, dM, **hyper, max_pairs=max_pairs, seed=3,
                              return_activity=True)
    counts = {}
    expected, _ = oracle_loss(x, labels, assignment, centers, M0, dM, **hyper, kept=lambda a, b: drawn[a, b] != 0,
                              counts=counts)
    assert loss.item() == pytest.approx(expected, rel=1e-9)
    ours = dict(zip(("within_active", "within_terms", "between_active", "between_terms"),
                    (int(mask.sum()) for mask in activity)))
    assert ours == counts
    assert 0 < counts["within_active"] < counts["within_terms"]
    assert 0 < counts["between_active"] < counts["between_terms"]
    # Asking for the activity does not change the loss.
    plain = mmc_loss(x, labels, assignment, centers, M0, dM, **hyper, max_pairs=max_pairs, seed=3)
    assert torch.equal(plain, loss)


def test_lazy_reexport():
    assert mmrest.mmc_loss is mmc_loss


@pytest.mark.parametrize("max_pairs", [100, 4])  # every pair (group sums), or a binding cap (drawn pairs)
def test_gradcheck_away_from_kinks(max_pairs):
    x, labels, assignment, centers, M0, dM = random_case(5, 10, 3, 3)
    # dM not symmetric: the loss must use its symmetric part
    dM = dM + 0.1 * torch.randn(3, 3, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    hyper = dict(v1=0.8, v2=1.0, xi=3.0, alpha=0.5)
    bins = label_bins(labels)
    drawn = pair_weights(bins, assignment, max_pairs=max_pairs, seed=0)
    _, closest_kink = oracle_loss(x, labels, assignment, centers, M0, dM, **hyper, kept=lambda a, b: drawn[a, b] != 0)
    assert closest_kink > 1e-3  # finite differences of size 1e-6 cannot cross a hinge
    assert _cap_may_bind(assignment, max_pairs) == (max_pairs == 4)
    inputs = tuple(t.clone().requires_grad_() for t in (x, M0, dM))

    def f(xx, m0, dm):
        return mmc_loss(xx, labels, assignment, centers, m0, dm, **hyper, max_pairs=max_pairs)

    assert torch.autograd.gradcheck(f, inputs)


# Group sums with no cap, or drawn pairs with a binding cap; xi puts some within hinges on each side.
@pytest.mark.parametrize("max_pairs,xi", [(10**6, 4000.0), (60, 200.0)])
def test_gradients_match_autograd_through_loops(max_pairs, xi):
    x, labels, assignment, centers, M0, dM = random_case(13, 96, 5, 6, n_empty=1)
    dM = dM + 0.05 * torch.randn(5, 6, 6, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    hyper = dict(v1=0.8, v2=0.5, xi=xi, alpha=0.3)
    drawn = pair_weights(label_bins(labels), assignment, max_pairs=max_pairs, seed=3)
    assert _cap_may_bind(assignment, max_pairs) == (max_pairs == 60)
    kept = lambda a, b: drawn[a, b] != 0  # noqa: E731
    with torch.no_grad():  # raising xi by 1 adds 1/N per active within hinge: some, not all
        active = (autograd_reference(x, labels, assignment, centers, M0, dM, **{**hyper, "xi": xi + 1}, kept=kept)
                  - autograd_reference(x, labels, assignment, centers, M0, dM, **hyper, kept=kept)) * 96
    assert 0.5 < active.item() < 3.5  # 4 clusters have pairs
    ours_in = [t.clone().requires_grad_() for t in (x, M0, dM)]
    ref_in = [t.clone().requires_grad_() for t in (x, M0, dM)]
    ours = mmc_loss(ours_in[0], labels, assignment, centers, ours_in[1], ours_in[2], **hyper, max_pairs=max_pairs, seed=3)
    ref = autograd_reference(ref_in[0], labels, assignment, centers, ref_in[1], ref_in[2], **hyper, kept=kept)
    ours.backward()
    ref.backward()
    assert ours.item() == pytest.approx(ref.item(), rel=1e-10)
    for mine, theirs in zip(ours_in, ref_in):
        assert torch.allclose(mine.grad, theirs.grad, rtol=1e-9, atol=1e-12)


def test_gradients_reach_features_and_metrics_not_centers():
    x, labels, assignment, centers, M0, dM = random_case(6, 64, 5, 8, dtype=torch.float32, n_empty=1)
    x, M0, dM, centers = (t.clone().requires_grad_() for t in (x, M0, dM, centers))
    mmc_loss(x, labels, assignment, centers, M0, dM, **HYPER).backward()
    assert x.grad.abs().sum() > 0 and M0.grad.abs().sum() > 0
    assert centers.grad is None
    present = torch.zeros(5, dtype=torch.bool)
    present[assignment] = True
    per_cluster = dM.grad.abs().sum((1, 2))
    assert (per_cluster[present] > 0).all()
    assert (per_cluster[~present] == 0).all()  # an empty cluster's offset gets no gradient


def test_singleton_and_empty_clusters_match_oracle():
    # Cluster 2 has one row (no pairs, still in between terms), clusters 1 and 4 are empty.
    x, labels, _, centers, M0, dM = random_case(7, 12, 5, 4)
    assignment = torch.tensor([0, 0, 0, 2, 3, 3, 3, 0, 3, 0, 3, 3])
    ours = mmc_loss(x, labels, assignment, centers, M0, dM, **HYPER)
    expected, _ = oracle_loss(x, labels, assignment, centers, M0, dM, **HYPER)
    assert ours.item() == pytest.approx(expected, rel=1e-5)
    # Moving an empty cluster's center or offset changes nothing.
    centers2, dM2 = centers.clone(), dM.clone()
    centers2[1] = x[0]
    dM2[4] += 5.0
    assert mmc_loss(x, labels, assignment, centers2, M0, dM2, **HYPER).item() == pytest.approx(ours.item(), rel=1e-12)


def _counts(weights, assignment, n_clusters):
    upper = torch.triu(weights, 1)
    return [((upper == sign) & (assignment[:, None] == i)).sum().item() for i in range(n_clusters) for sign in (1, -1)]


def loop_weights(bins, assignment):
    """Every pair, by loops: +1 same cluster and bin, -1 same cluster other bin."""
    n = len(assignment)
    w = torch.zeros(n, n, dtype=torch.long)
    for a in range(n):
        for b in range(n):
            if a != b and assignment[a] == assignment[b]:
                w[a, b] = 1 if bins[a] == bins[b] else -1
    return w


# The CPU reads group sizes and draws only from groups over the cap; accelerators draw with
# shapes fixed by N. Both run here on the CPU, called directly.
DRAWS = {
    "reading_counts": _pair_weights_reading_counts,
    "without_sync": _pair_weights_without_sync,
}


def draw_with(name, bins, assignment, cap, seed):
    return DRAWS[name](bins, assignment, cap, torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("name", DRAWS)
def test_draw_caps_each_cluster_and_kind_and_is_seeded(name):
    _, labels, assignment, *_ = random_case(8, 60, 3, 4)
    bins = label_bins(labels)
    full = loop_weights(bins, assignment)
    assert torch.equal(draw_with(name, bins, assignment, 10**6, 0), full)  # no cap binds: every pair
    cap = 40
    drawn = draw_with(name, bins, assignment, cap, 0)
    full_counts = _counts(full, assignment, 3)
    assert max(full_counts) > cap and min(full_counts) < cap  # some groups capped, some not
    assert _counts(drawn, assignment, 3) == [min(c, cap) for c in full_counts]
    assert torch.equal(drawn, drawn.T)
    assert ((drawn != 0) <= (drawn == full)).all()  # kept pairs are real pairs of the right kind
    assert torch.equal(drawn, draw_with(name, bins, assignment, cap, 0))
    assert not torch.equal(drawn, draw_with(name, bins, assignment, cap, 1))


@pytest.mark.parametrize("name", DRAWS)
def test_draw_is_uniform(name):
    # Cluster 0: 6 rows in one bin (15 similar pairs, keep 5, so each is kept with p = 1/3);
    # cluster 1: 3 rows (3 pairs, under the cap, always kept). Binomial sd over 1500 seeds: 0.012.
    bins = torch.zeros(9, dtype=torch.long)
    assignment = torch.tensor([0] * 6 + [1] * 3)
    rows, cols = torch.triu_indices(6, 6, 1)
    hits = torch.zeros(15)
    for seed in range(1500):
        drawn = draw_with(name, bins, assignment, 5, seed)
        hits += drawn[rows, cols].float()
        assert drawn[6:, 6:].sum() == 6
    assert ((hits / 1500 - 1 / 3).abs() < 0.05).all()


def test_loss_uses_exactly_the_drawn_pairs():
    x, labels, assignment, centers, M0, dM = random_case(8, 60, 3, 4)
    cap = 40
    drawn = pair_weights(label_bins(labels), assignment, max_pairs=cap, seed=0)
    # A margin large enough to keep every within hinge active, so the pair draw shows in the loss.
    hyper = {**HYPER, "xi": 1e4}

    def loss(seed):
        return mmc_loss(x, labels, assignment, centers, M0, dM, **hyper, max_pairs=cap, seed=seed).item()

    assert loss(0) == loss(0) and loss(0) != loss(1)
    expected, _ = oracle_loss(x, labels, assignment, centers, M0, dM, **hyper, kept=lambda a, b: drawn[a, b] != 0)
    assert loss(0) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("seed", [10, 11])
def test_undrawn_and_drawn_paths_agree(seed):
    # With no binding cap the CPU computes pair sums from group means; an accelerator always
    # goes through the drawn weight matrix. A cap equal to the largest kind count makes the CPU
    # take the drawn path while keeping every pair, so both paths see the same pairs.
    x, labels, assignment, centers, M0, dM = random_case(seed, 120, 4, 8, n_empty=1)
    upper = torch.triu(loop_weights(label_bins(labels), assignment), 1)
    largest = max(((upper == s) & (assignment[:, None] == i)).sum().item() for i in range(4) for s in (1, -1))
    hyper = dict(v1=0.8, v2=1.0, xi=1e3, alpha=0.5)
    assert _cap_may_bind(assignment, largest)  # the drawn path really runs
    drawn = mmc_loss(x, labels, assignment, centers, M0, dM, **hyper, max_pairs=largest)
    undrawn = mmc_loss(x, labels, assignment, centers, M0, dM, **hyper, max_pairs=10**6)
    assert drawn.item() == pytest.approx(undrawn.item(), rel=1e-9)


def test_binding_cap_is_detected_on_cpu():
    assignment = torch.tensor([0] * 10 + [1] * 5)  # 45 and 10 pairs; 105 in all
    assert _cap_may_bind(assignment, 44) and not _cap_may_bind(assignment, 45)
    assert not _cap_may_bind(assignment, 105)  # no batch of 15 rows can exceed it
