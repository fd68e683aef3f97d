"""mmc_loss, k-means and PSDAdam on CUDA give their CPU results (float32, to rounding)."""
import torch

from mmrest.model.kmeans import kmeans
from mmrest.model.mmc import label_bins, mmc_loss, pair_weights
from mmrest.model.psd_adam import PSDAdam

CUDA = torch.device("cuda")
HYPER = dict(v1=0.8, v2=1.0, xi=3.0, alpha=1.0, beta=0.01)


def batch(n_rows=192, n_clusters=7, dim=64, seed=0):
    """Blobs around n_clusters centers, labels in [-3, 3], metrics near the identity."""
    g = torch.Generator().manual_seed(seed)
    centers = 2 * torch.randn(n_clusters, dim, generator=g)
    assignment = torch.arange(n_rows) % n_clusters
    x = centers[assignment] + torch.randn(n_rows, dim, generator=g)
    labels = torch.rand(n_rows, generator=g) * 6 - 3
    M0 = torch.eye(dim) + 0.01 * torch.randn(dim, dim, generator=g)
    dM = torch.eye(dim).repeat(n_clusters, 1, 1) + 0.01 * torch.randn(n_clusters, dim, dim, generator=g)
    return x, labels, assignment, centers, M0, dM


def loss_and_gradients(device, x, labels, assignment, centers, M0, dM, max_pairs):
    x, M0, dM = (t.to(device).requires_grad_() for t in (x, M0, dM))
    loss = mmc_loss(x, labels.to(device), assignment.to(device), centers.to(device), M0, dM, **HYPER,
                    max_pairs=max_pairs, seed=3)
    loss.backward()
    return [t.detach().cpu() for t in (loss, x.grad, M0.grad, dM.grad)]


def assert_close_all(ours, reference, rtol=1e-4):
    for a, b in zip(ours, reference, strict=True):
        torch.testing.assert_close(a, b, rtol=rtol, atol=rtol * b.abs().max().item())


def test_mmc_loss_all_pairs_equals_cpu():
    case = batch()
    assert_close_all(loss_and_gradients(CUDA, *case, max_pairs=10**6), loss_and_gradients("cpu", *case, max_pairs=10**6))


def test_mmc_loss_draw_path_keeping_every_pair_equals_cpu():
    # 28 rows per cluster: 378 pairs, under a cap of 400, but N(N-1)/2 is over it, so CUDA (which
    # cannot read cluster sizes without a sync) takes the draw path and must keep every pair,
    # while the CPU sums all pairs by groups: two formulas, one value.
    case = batch(n_rows=196)
    assert_close_all(loss_and_gradients(CUDA, *case, max_pairs=400), loss_and_gradients("cpu", *case, max_pairs=400))


def test_cuda_pair_draw_caps_every_cluster_and_kind():
    x, labels, assignment, *_ = batch(n_rows=192, n_clusters=2)
    bins, cap = label_bins(labels), 500
    drawn = pair_weights(bins.to(CUDA), assignment.to(CUDA), max_pairs=cap, seed=1).cpu()
    full = pair_weights(bins, assignment, max_pairs=10**6, seed=1)
    assert torch.equal(drawn, drawn.T) and ((drawn != 0) <= (drawn == full)).all()
    for cluster in range(2):
        rows = assignment == cluster
        for sign in (1, -1):
            available = int((full[rows][:, rows] == sign).sum()) // 2
            assert int((drawn[rows][:, rows] == sign).sum()) // 2 == min(available, cap)


def test_kmeans_warm_start_equals_cpu():
    x, _, _, centers, *_ = batch()
    start = centers + 0.5 * torch.randn(centers.shape, generator=torch.Generator().manual_seed(1))
    ours = kmeans(x.to(CUDA), 7, init=start.to(CUDA), iters=20)
    reference = kmeans(x, 7, init=start, iters=20)
    assert torch.equal(ours.assignment.cpu(), reference.assignment)
    torch.testing.assert_close(ours.centers.cpu(), reference.centers, rtol=1e-5, atol=1e-5)


def test_kmeans_reseeding_equals_cpu():
    # Two centers far from every point: the first update re-seeds them (on CUDA without asking
    # whether any cluster is empty), as the CPU does after asking.
    x, _, _, centers, *_ = batch()
    start = centers.clone()
    start[[2, 5]] = 1e3
    ours = kmeans(x.to(CUDA), 7, init=start.to(CUDA), iters=20)
    reference = kmeans(x, 7, init=start, iters=20)
    assert reference.assignment.unique().numel() == 7
    assert torch.equal(ours.assignment.cpu(), reference.assignment)
    torch.testing.assert_close(ours.centers.cpu(), reference.centers, rtol=1e-5, atol=1e-5)


def test_kmeans_cold_start_is_as_good_as_cpu():
    # The generators differ by device, so the seeds differ; the quality must not.
    x = batch()[0]
    ours = kmeans(x.to(CUDA), 7, seed=0).inertia.item()
    reference = kmeans(x, 7, seed=0).inertia.item()
    assert ours <= 1.01 * reference


def test_psd_adam_equals_cpu_inside_and_across_the_boundary():
    start = [torch.eye(32), torch.eye(32).repeat(7, 1, 1)]
    runs = {}
    for device in ("cpu", CUDA):
        params = [torch.nn.Parameter(s.clone().to(device)) for s in start]
        opt = PSDAdam(params, lr=0.05)
        gen = torch.Generator().manual_seed(2)
        for _ in range(40):  # rank-one pushes: the boundary is reached within the run
            for p in params:
                v = torch.randn(*p.shape[:-1], 1, generator=gen)
                p.grad = (v @ v.mT + 0.1 * torch.randn(p.shape, generator=gen)).to(device)
            opt.step()
        runs[str(device)] = [p.detach().cpu() for p in params]
    for ours, reference in zip(runs["cuda"], runs["cpu"], strict=True):
        torch.testing.assert_close(ours, reference, rtol=1e-4, atol=1e-4)
    assert torch.linalg.eigvalsh(runs["cuda"][1].double()).min() < 1e-3  # the boundary was reached
    assert torch.linalg.eigvalsh(runs["cuda"][1].double()).min() >= -1e-6
