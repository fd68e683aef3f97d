"""Torch k-means against scikit-learn, and its determinism, warm start and re-seeding of empty clusters."""
import numpy as np
import pytest
import torch
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs

from mmrest.model.kmeans import kmeans


def points(kind: str, n: int, k: int, seed: int) -> np.ndarray:
    """MOSI/MOSEI-batch-sized 64-d points: separated blobs, or shapes with no cluster structure."""
    rng = np.random.default_rng(seed)
    if kind == "blobs":
        x, _ = make_blobs(n, 64, centers=k, cluster_std=3.0, random_state=seed)
    elif kind == "gaussian":
        x = rng.standard_normal((n, 64))
    elif kind == "anisotropic":
        x = rng.standard_normal((n, 64)) * np.linspace(0.1, 3.0, 64)
    else:
        x = rng.uniform(size=(n, 64))
    return x.astype(np.float32)


@pytest.mark.parametrize("n,k", [(192, 7), (384, 10)])
@pytest.mark.parametrize("kind", ["blobs", "gaussian", "anisotropic", "uniform"])
@pytest.mark.parametrize("seed", [0, 1])
def test_inertia_within_one_percent_of_sklearn(n, k, kind, seed):
    torch.set_num_threads(1)
    x = points(kind, n, k, seed)
    reference = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(x).inertia_
    ours = kmeans(torch.from_numpy(x), k, seed=seed)
    assert ours.inertia.item() <= 1.01 * reference


def check_is_lloyd_fixed_point(x: torch.Tensor, result) -> None:
    """Each point sits with its nearest center; each non-empty center is its points' mean."""
    nearest = torch.cdist(x, result.centers).argmin(1)
    assert torch.equal(nearest, result.assignment)
    for i in result.assignment.unique():
        members = x[result.assignment == i]
        assert torch.allclose(result.centers[i], members.mean(0), atol=1e-5)
    exact = (x - result.centers[result.assignment]).pow(2).sum()
    assert result.inertia.item() == pytest.approx(exact.item(), rel=1e-6)


def test_result_is_a_converged_partition():
    x = torch.from_numpy(points("gaussian", 192, 7, 3))
    result = kmeans(x, 7, seed=3, iters=100)
    assert result.centers.shape == (7, 64) and result.assignment.shape == (192,)
    assert result.assignment.dtype == torch.long
    check_is_lloyd_fixed_point(x, result)


def test_same_seed_same_result_bitwise():
    x = torch.from_numpy(points("uniform", 192, 7, 4))
    first, second = kmeans(x, 7, seed=11), kmeans(x, 7, seed=11)
    assert torch.equal(first.centers, second.centers)
    assert torch.equal(first.assignment, second.assignment)
    assert torch.equal(first.inertia, second.inertia)
    # The seed is really used: one restart from different seeds lands in different optima.
    singles = {round(kmeans(x, 7, n_init=1, seed=s).inertia.item(), 3) for s in range(5)}
    assert len(singles) > 1


def test_warm_start_from_true_centers_recovers_the_partition():
    x, truth, true_centers = make_blobs(384, 64, centers=10, cluster_std=2.0, random_state=5, return_centers=True)
    x = torch.from_numpy(x.astype(np.float32))
    result = kmeans(x, 10, init=torch.from_numpy(true_centers.astype(np.float32)))
    assert torch.equal(result.assignment, torch.from_numpy(truth))  # identities follow the init order
    check_is_lloyd_fixed_point(x, result)


def test_warm_start_from_sklearn_centers_keeps_sklearn_partition():
    x = points("anisotropic", 192, 7, 6)
    reference = KMeans(n_clusters=7, n_init=10, random_state=6).fit(x)
    result = kmeans(torch.from_numpy(x), 7, init=torch.from_numpy(reference.cluster_centers_))
    assert torch.equal(result.assignment, torch.from_numpy(reference.labels_.astype(np.int64)))


def _sklearn_lloyd(x: np.ndarray, init: np.ndarray, iters: int):
    """scikit-learn's Lloyd from `init`, no tolerance: it stops where ours does (labels unchanged)."""
    return KMeans(n_clusters=len(init), init=init, n_init=1, max_iter=iters, tol=0.0, algorithm="lloyd").fit(x)


def _far_init(kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Points and a warm start that leaves clusters without a point in the first assignment: one
    or two centers far from every point, or two centers on one spot (the second loses every tie).
    At most two clusters are empty at once, where scikit-learn's order of the farthest rows is
    defined (argpartition fixes the last one and the one before it) and equals ours."""
    x, _, true_centers = make_blobs(192, 64, centers=6, cluster_std=1.5, random_state=7, return_centers=True)
    x, true_centers = x.astype(np.float32), true_centers.astype(np.float32)
    far = np.full((1, 64), 1e3, np.float32)
    if kind == "one far center":
        init = np.concatenate([true_centers[:3], far, true_centers[3:]])
    elif kind == "two far centers":
        init = np.concatenate([far, true_centers[:4], -far, true_centers[4:]])
    elif kind == "two centers on one spot":
        init = np.concatenate([true_centers[:2], true_centers[1:]])
    else:  # gaussian points, a random row of them as each center, then one moved far away
        x = points("gaussian", 192, 7, 8)
        init = x[np.random.default_rng(8).choice(192, 7, replace=False)].copy()
        init[5] = far
    return x, init


@pytest.mark.parametrize("iters", [1, 20])
@pytest.mark.parametrize("kind", ["one far center", "two far centers", "two centers on one spot", "gaussian"])
def test_empty_clusters_are_reseeded_as_sklearn_does(kind, iters):
    """After one iteration the centers show the update step itself (the moved row has left its
    old cluster's mean); after twenty, where Lloyd ends up."""
    x, init = _far_init(kind)
    k = len(init)
    first = torch.cdist(torch.from_numpy(x), torch.from_numpy(init)).argmin(1)
    assert first.unique().numel() < k  # the case really starts with an empty cluster
    reference = _sklearn_lloyd(x, init, iters=iters)
    result = kmeans(torch.from_numpy(x), k, init=torch.from_numpy(init), iters=iters)
    assert torch.equal(result.assignment, torch.from_numpy(reference.labels_.astype(np.int64)))
    torch.testing.assert_close(result.centers, torch.from_numpy(reference.cluster_centers_), rtol=1e-4, atol=1e-4)
    assert result.assignment.unique().numel() == k


def _one_dim(x: list[float], init: list[float], iters: int):
    x, init = torch.tensor(x, dtype=torch.float32).view(-1, 1), torch.tensor(init).view(-1, 1)
    return kmeans(x, len(init), init=init, iters=iters)


# In the three cases below the first update step reaches Lloyd's fixed point: one iteration and
# twenty give the same result, and the first shows that step alone.
@pytest.mark.parametrize("iters", [1, 20])
def test_reseeding_by_hand(iters):
    # Cluster 1 starts at 100, far from every point. Squared distances to the assigned centers
    # (1, -, 11): 1, 0, 4, 1, 0, 9; the farthest row, 14, moves to cluster 1 and leaves cluster
    # 2's sum: centers (0 + 1 + 3) / 3, 14, (10 + 11) / 2, where Lloyd then stays.
    result = _one_dim([0, 1, 3, 10, 11, 14], [1, 100, 11], iters)
    assert result.assignment.tolist() == [0, 0, 0, 2, 2, 1]
    torch.testing.assert_close(result.centers.view(-1), torch.tensor([4 / 3, 14.0, 10.5]))


@pytest.mark.parametrize("iters", [1, 20])
def test_reseeding_never_takes_the_last_distinct_value_of_a_cluster(iters):
    # The farthest row, 50, is all cluster 2 holds: it stays (scikit-learn moves it to cluster 1,
    # so the cluster at 50 changes its index, and cluster 2 restarts at the origin). Next are 0
    # and 2, both at squared distance 1 from center 1: the tie goes to the lower row, 0.
    result = _one_dim([0, 1, 2, 50], [1, 100, 30], iters)
    assert result.assignment.tolist() == [1, 0, 0, 2]
    torch.testing.assert_close(result.centers.view(-1), torch.tensor([1.5, 0.0, 50.0]))


@pytest.mark.parametrize("iters", [1, 20])
def test_reseeding_skips_copies(iters):
    # The two farthest rows are copies of 10 and all of cluster 0: neither moves (scikit-learn
    # moves one, and the two clusters on 10 end with one of them empty). The next farthest, 0,
    # re-seeds cluster 1, and 1 stays with cluster 2: all three clusters hold a point.
    result = _one_dim([10, 10, 0, 1], [7, 100, 0.5], iters)
    assert result.assignment.tolist() == [0, 0, 1, 2]
    torch.testing.assert_close(result.centers.view(-1), torch.tensor([10.0, 0.0, 1.0]))


def test_reseeding_center_sets_at_once_equals_one_at_a_time():
    """Restarts re-seed as one batch: each set as it would alone, and a set with no empty
    cluster comes back unchanged (what an accelerator relies on, re-seeding every time)."""
    from mmrest.model.kmeans import _nearest, _reseed

    x = torch.from_numpy(points("gaussian", 192, 7, seed=9))
    far = x[:7].clone()
    far[[1, 4]] = 1e3
    starts = torch.stack([far, x[10:17], torch.zeros(7, 64)])  # 2, 0 and 6 empty clusters
    assignment = _nearest(x.expand(3, -1, -1), starts)
    clusters = torch.arange(7)
    together = _reseed(x, assignment, starts, clusters)
    for s in range(3):
        assert torch.equal(together[s], _reseed(x, assignment[s : s + 1], starts[s : s + 1], clusters)[0])
    assert torch.equal(together[1], assignment[1])
    assert all(together[s].unique().numel() == 7 for s in range(3))


@pytest.mark.parametrize("n", [96, 5])
@pytest.mark.parametrize("seed", range(5))
def test_the_cpu_reseeding_moves_the_rows_the_fixed_shape_one_does(seed, n):
    """The CPU reads which clusters are empty and walks the farthest rows in numpy; an
    accelerator decides every row with fixed shapes. Same rows, same clusters: with copies,
    centers on them, far centers, several sets, and (n = 5) fewer rows than empty clusters."""
    from mmrest.model.kmeans import _nearest, _one_hot, _reseed, _reseed_reading_values

    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 8, generator=g)
    x[: n // 4] = x[0]  # copies of one row
    x[n // 2 : n // 2 + 3] = x[-1]  # and of another
    starts = torch.randn(4, 7, 8, generator=g) * (1 + 10 * torch.rand(4, 7, 1, generator=g))
    starts[0, :3] = x[0]  # three centers on the copies: two lose every tie
    assignment = _nearest(x.expand(4, -1, -1), starts)
    clusters = torch.arange(7)
    assert not _one_hot(assignment, clusters).any(1).all()  # some cluster starts empty
    expected = _reseed(x, assignment, starts, clusters)
    assert torch.equal(_reseed_reading_values(x, assignment, starts, clusters), expected)
    assert not torch.equal(expected, assignment)


@pytest.mark.parametrize("k", [7, 10])
@pytest.mark.parametrize("start", ["one spot", "far away"])
@pytest.mark.parametrize("copies", [0, 64])
def test_a_warm_start_keeps_every_cluster_alive(k, start, copies):
    """A MOSI-sized batch with at least k distinct rows (a third of them one repeated row, as an
    encoder's output for an absent modality, or none) gets k non-empty clusters from any start."""
    x = torch.from_numpy(points("anisotropic", 192, k, seed=k + copies))
    x[:copies] = x[0]
    init = torch.zeros(k, 64) if start == "one spot" else 1e3 * torch.randn(k, 64, generator=torch.Generator().manual_seed(k))
    result = kmeans(x, k, init=init)
    assert result.assignment.unique().numel() == k
    check_is_lloyd_fixed_point(x, result)


def test_fewer_points_than_clusters():
    x = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
    result = kmeans(x, 5, seed=0)
    assert result.inertia.item() == 0.0
    assert result.assignment.unique().numel() == 3  # every point its own cluster, two empty
    assert torch.equal(result.centers[result.assignment], x)


def test_fewer_distinct_points_than_clusters():
    x = torch.tensor([[1.0, 1.0]] * 6 + [[-1.0, 2.0]] * 4)
    result = kmeans(x, 4, seed=2)
    assert result.inertia.item() == 0.0
    assert result.assignment.unique().numel() == 2


def test_gradients_are_stopped():
    x = torch.randn(50, 4, requires_grad=True)
    result = kmeans(x, 3)
    assert not result.centers.requires_grad and not result.inertia.requires_grad


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(k=0), "k must be"),
        (dict(k=3, n_init=0), "n_init"),
        (dict(k=3, init=torch.zeros(2, 4)), "init must have shape"),
    ],
)
def test_bad_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        kmeans(torch.randn(10, 4), **kwargs)


@pytest.mark.parametrize("kind", ["blobs", "gaussian", "two far centers"])
def test_running_every_iteration_equals_stopping_at_convergence(kind):
    """An accelerator skips the convergence check (a host sync) and runs all iterations, the
    re-seeding included; past the fixed point nothing moves, so its result is the CPU's early
    stop, bit for bit."""
    from mmrest.model.kmeans import _lloyd

    if kind == "two far centers":
        x, init = (torch.from_numpy(a) for a in _far_init(kind))
        starts = init.unsqueeze(0)
    else:
        x = torch.from_numpy(points(kind, 192, 7, seed=3))
        starts = x[torch.randperm(192, generator=torch.Generator().manual_seed(0))[:7]].unsqueeze(0)
    stopped = _lloyd(x, starts, 50, check=True)
    full = _lloyd(x, starts, 50, check=False)
    assert torch.equal(stopped[0], full[0]) and torch.equal(stopped[1], full[1])
