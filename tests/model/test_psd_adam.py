"""PSD projection and PSDAdam: invariants after every step, fixed points, a hand case, a loop oracle."""
import pytest
import torch

from mmrest.model.psd_adam import PSDAdam, project_psd


def loop_oracle(matrices: torch.Tensor) -> torch.Tensor:
    """One float64 eigendecomposition per matrix, as the public release does it."""
    out = []
    for m in matrices.reshape(-1, *matrices.shape[-2:]).double():
        w, v = torch.linalg.eigh(0.5 * (m + m.T))
        out.append(v @ torch.diag(w.clamp(min=0)) @ v.T)
    return torch.stack(out).reshape(matrices.shape)


def min_eigenvalue(matrices: torch.Tensor) -> float:
    return torch.linalg.eigvalsh(matrices.double().reshape(-1, *matrices.shape[-2:])).min().item()


def test_hand_computed_2x2():
    # [[1, 2], [2, 1]] has eigenvalues 3 (vector (1, 1)/sqrt2) and -1 (vector (1, -1)/sqrt2).
    # Dropping the -1 leaves 3 * (1, 1)(1, 1)^T / 2 = [[1.5, 1.5], [1.5, 1.5]].
    projected = project_psd(torch.tensor([[1.0, 2.0], [2.0, 1.0]], dtype=torch.float64))
    assert torch.allclose(projected, torch.full((2, 2), 1.5, dtype=torch.float64), atol=1e-12)
    # The symmetric part comes first: [[1, 3], [1, 1]] symmetrises to the matrix above.
    asymmetric = torch.tensor([[1.0, 3.0], [1.0, 1.0]], dtype=torch.float64)
    assert torch.allclose(project_psd(asymmetric), projected, atol=1e-12)


def test_psd_matrix_is_unchanged_bitwise():
    a = torch.randn(5, 16, 16)
    psd = a @ a.mT + torch.eye(16)
    psd = 0.5 * (psd + psd.mT)
    singular = torch.zeros(16, 16)
    singular[:3, :3] = 1.0  # rank one, eigenvalues 3 and 0
    batch = torch.cat([psd, singular.unsqueeze(0)])
    assert torch.equal(project_psd(batch), batch)


@pytest.mark.parametrize("dtype,atol", [(torch.float64, 1e-10), (torch.float32, 2e-5)])
def test_batched_projection_matches_loop_oracle(dtype, atol):
    g = torch.Generator().manual_seed(0)
    mixed = torch.randn(3, 4, 12, 12, generator=g, dtype=dtype)  # (..., d, d), most indefinite
    mixed[0, 0] = mixed[0, 0] @ mixed[0, 0].T  # one already PSD (but not symmetric-exact)
    projected = project_psd(mixed)
    assert projected.shape == mixed.shape and projected.dtype == dtype
    assert torch.allclose(projected.double(), loop_oracle(mixed), atol=atol)


def test_non_square_is_refused():
    with pytest.raises(ValueError, match=r"\(\.\.\., d, d\)"):
        project_psd(torch.zeros(3, 4))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_every_step_keeps_every_matrix_symmetric_psd(dtype):
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(1)
    dim, k = 16, 7
    M0 = torch.nn.Parameter(torch.eye(dim, dtype=dtype))
    dM = torch.nn.Parameter(torch.eye(dim, dtype=dtype).repeat(k, 1, 1))
    bias = torch.nn.Parameter(torch.zeros(dim, dtype=dtype))
    opt = PSDAdam([M0, dM, bias], lr=1e-2)
    for step in range(300):
        # Adversarial: a rank-one push that shrinks eigenvalues along a random direction (so
        # the boundary is hit within ~100 steps), plus asymmetric noise.
        v = torch.randn(k + 1, dim, 1, generator=g, dtype=dtype)
        grad = v @ v.mT + 0.5 * torch.randn(k + 1, dim, dim, generator=g, dtype=dtype)
        M0.grad, dM.grad = grad[0].clone(), grad[1:].clone()
        bias.grad = torch.randn(dim, generator=g, dtype=dtype)
        opt.step()
        for m in (M0.detach(), dM.detach()):
            assert torch.equal(m, m.mT), f"asymmetric after step {step}"
            assert min_eigenvalue(m) >= -1e-6, f"negative eigenvalue after step {step}"
    # The run really reached the boundary, and plain parameters were not projected.
    assert min_eigenvalue(dM.detach()) < 1e-3
    assert bias.detach().abs().sum() > 0


def test_step_equals_adam_then_projection():
    g = torch.Generator().manual_seed(2)
    start = torch.randn(3, 6, 6, generator=g, dtype=torch.float64)
    grad = torch.randn(3, 6, 6, generator=g, dtype=torch.float64)
    ours, plain = torch.nn.Parameter(start.clone()), torch.nn.Parameter(start.clone())
    ours.grad, plain.grad = grad.clone(), grad.clone()
    PSDAdam([ours], lr=0.1).step()
    torch.optim.Adam([plain], lr=0.1, weight_decay=1e-4).step()
    assert torch.allclose(ours.detach(), loop_oracle(plain.detach()), atol=1e-10)
