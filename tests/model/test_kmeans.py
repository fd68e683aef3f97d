"""Torch k-means against scikit-learn, and its determinism, warm start and empty-cluster rules."""
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


def test_empty_cluster_keeps_its_center_and_identity():
    x, truth, true_centers = make_blobs(192, 64, centers=6, cluster_std=1.0, random_state=7, return_centers=True)
    x = torch.from_numpy(x.astype(np.float32))
    true_centers = torch.from_numpy(true_centers.astype(np.float32))
    far = torch.full((1, 64), 1e3)
    init = torch.cat([true_centers[:3], far, true_centers[3:]])
    result = kmeans(x, 7, init=init)
    assert torch.equal(result.centers[3], far[0])
    assert not (result.assignment == 3).any()
    shifted = torch.from_numpy(truth) + (torch.from_numpy(truth) >= 3).long()
    assert torch.equal(result.assignment, shifted)


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


@pytest.mark.parametrize("kind", ["blobs", "gaussian"])
def test_running_every_iteration_equals_stopping_at_convergence(kind):
    """An accelerator skips the convergence check (a host sync) and runs all iterations; past
    the fixed point nothing moves, so its result is the CPU's early stop, bit for bit."""
    from mmrest.model.kmeans import _lloyd

    x = torch.from_numpy(points(kind, 192, 7, seed=3))
    starts = x[torch.randperm(192, generator=torch.Generator().manual_seed(0))[:7]].unsqueeze(0)
    stopped = _lloyd(x, starts, 50, check=True)
    full = _lloyd(x, starts, 50, check=False)
    assert torch.equal(stopped[0], full[0]) and torch.equal(stopped[1], full[1])
