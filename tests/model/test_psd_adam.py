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


def adversarial_matrices(dim: int, dtype: torch.dtype) -> torch.Tensor:
    """Cases where a projection goes wrong: indefinite, a hair outside the cone, repeated and tiny
    eigenvalues, zero, a large norm, and matrices that are PSD already."""
    g = torch.Generator().manual_seed(5)
    q, _ = torch.linalg.qr(torch.randn(dim, dim, generator=g, dtype=torch.float64))

    def with_eigenvalues(values):
        return (q * values) @ q.T

    cases = [
        torch.randn(dim, dim, generator=g, dtype=torch.float64),
        with_eigenvalues(torch.linspace(-1e-3, 1.0, dim, dtype=torch.float64)),
        with_eigenvalues(torch.cat([torch.full((dim // 2,), -0.5), torch.full((dim - dim // 2,), 2.0)]).double()),
        with_eigenvalues(torch.linspace(-1e-6, 1e-6, dim, dtype=torch.float64)),
        torch.zeros(dim, dim, dtype=torch.float64),
        40 * torch.randn(dim, dim, generator=g, dtype=torch.float64),
        with_eigenvalues(torch.linspace(0.1, 3.0, dim, dtype=torch.float64)),  # PSD, not diagonally dominant
        torch.eye(dim, dtype=torch.float64),
    ]
    stacked = torch.stack(cases)
    return (0.5 * (stacked + stacked.mT)).to(dtype)


@pytest.mark.parametrize("dtype,atol", [(torch.float64, 1e-10), (torch.float32, 1e-5)])
def test_sync_free_projection_matches_the_eigendecomposition(dtype, atol):
    """The accelerator path (Newton-Schulz sign iteration, tests chosen on the device) against the
    loop oracle, run here on the CPU; the matrices proven PSD come back bitwise."""
    matrices = adversarial_matrices(24, dtype)
    projected = project_psd(matrices, sync_free=True)
    scale = torch.linalg.matrix_norm(matrices.double()).clamp_min(1.0).view(-1, 1, 1)
    assert torch.allclose(projected.double() / scale, loop_oracle(matrices) / scale, atol=atol)
    assert torch.equal(projected[-2:], matrices[-2:])
    assert min_eigenvalue(projected) >= -1e-6 * scale.max().item()


def test_both_paths_agree_and_only_unproven_matrices_change():
    matrices = adversarial_matrices(16, torch.float32)
    cpu_path, sync_free = project_psd(matrices, sync_free=False), project_psd(matrices, sync_free=True)
    torch.testing.assert_close(cpu_path, sync_free, rtol=0, atol=2e-5 * matrices.abs().max().item())
    inside = torch.linalg.eigvalsh(matrices.double()).min(-1).values >= 0
    assert torch.equal(cpu_path[inside], matrices[inside])


@pytest.mark.parametrize("sync_free", [False, True])
def test_the_diagonal_dominance_shortcut_keeps_psd_and_projects_the_rest(sync_free):
    # Eigenvalues 0.001 and 1.999: dominant and PSD, kept as is. Eigenvalues -0.001 and 2.001:
    # one hair less dominant, indefinite, projected. A negative diagonal entry is never dominant.
    matrices = torch.tensor([[[1.0, -0.999], [-0.999, 1.0]],
                             [[1.0, -1.001], [-1.001, 1.0]],
                             [[-1e-3, 0.0], [0.0, 1.0]]], dtype=torch.float64)
    projected = project_psd(matrices, sync_free=sync_free)
    assert torch.equal(projected[0], matrices[0])
    assert torch.allclose(projected[1:], loop_oracle(matrices[1:]), atol=1e-10)
    assert min_eigenvalue(projected) >= 0


@pytest.mark.parametrize("sync_free", [False, True])
def test_every_projected_step_of_a_64_wide_metric_stack_stays_psd(sync_free):
    """The training shape (M0 and 7 local metrics of 64 x 64, float32) driven to the boundary."""
    g = torch.Generator().manual_seed(3)
    stack = torch.eye(64).repeat(8, 1, 1)
    for step in range(60):
        v = torch.randn(8, 64, 2, generator=g)
        stack = project_psd(stack - 0.05 * (v @ v.mT) - 0.01 * torch.randn(8, 64, 64, generator=g), sync_free=sync_free)
        assert torch.equal(stack, stack.mT), f"asymmetric after step {step}"
        assert min_eigenvalue(stack) >= -1e-6, f"negative eigenvalue after step {step}"
    assert min_eigenvalue(stack) < 1e-3  # the boundary was reached


def test_matrices_of_every_parameter_are_projected_together_as_separately():
    g = torch.Generator().manual_seed(4)
    start = [torch.randn(5, 5, generator=g), torch.randn(3, 5, 5, generator=g), torch.randn(4, 4, generator=g)]
    grads = [torch.randn_like(s) for s in start]
    params = [torch.nn.Parameter(s.clone()) for s in start]
    plain = [torch.nn.Parameter(s.clone()) for s in start]
    for p, q, grad in zip(params, plain, grads):
        p.grad, q.grad = grad.clone(), grad.clone()
    PSDAdam(params, lr=0.1).step()
    torch.optim.Adam(plain, lr=0.1, weight_decay=1e-4).step()
    for p, q in zip(params, plain):
        assert torch.allclose(p.detach().double(), loop_oracle(q.detach()), atol=2e-6)


def test_a_matrix_without_gradient_is_left_as_it_is():
    # Adam skips a parameter whose gradient is None (the "w/o L_MMC, w/o bias" ablation never
    # gives the metrics one); so does the projection, even for a matrix outside the cone.
    outside = torch.tensor([[1.0, 2.0], [2.0, 1.0]])
    idle, used = torch.nn.Parameter(outside.clone()), torch.nn.Parameter(outside.clone())
    used.grad = torch.zeros(2, 2)
    PSDAdam([idle, used], lr=0.1).step()
    assert torch.equal(idle.detach(), outside)
    assert min_eigenvalue(used.detach()) >= -1e-6
