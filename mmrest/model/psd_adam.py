"""The metric optimiser of spec section 3: Adam, then a projection onto the PSD cone."""
from __future__ import annotations

from collections import defaultdict

import torch
from torch import Tensor

# A Cholesky factorisation of M + jitter * I succeeds when M's smallest eigenvalue is above
# about -jitter. The jitter is a few rounding errors of the matrix's scale, so the output of an
# eigendecomposition-based projection (whose zero eigenvalues come back as tiny negatives)
# passes the check, and a PSD matrix is recognised as PSD on the next step.
_JITTER_EPS = 4
# Newton-Schulz steps x -> 1.5 x - 0.5 x^3 that take the eigenvalues of S / ||S||_F to their
# signs (accelerator path). An eigenvalue at a fraction f of the norm grows by 1.5 per step until
# it is near 1, then converges quadratically: 60 steps settle every f above 1e-9 to float64
# precision, and an eigenvalue below that moves the projection by less than 1e-9 ||S||_F.
_SIGN_STEPS = 60


def project_psd(matrices: Tensor, *, sync_free: bool | None = None) -> Tensor:
    """Nearest symmetric PSD matrix (Frobenius) of each matrix in a (..., d, d) batch.

    Symmetrise. A matrix proven PSD (diagonally dominant with a non-negative diagonal, which is
    cheap to check, or else passing a Cholesky test) is returned symmetrised but otherwise
    untouched, so a symmetric PSD matrix is its own image; matrices whose smallest eigenvalue is
    within a few float rounding errors of zero (relative to max(1, largest |diagonal entry|))
    count as PSD. The others have their negative eigenvalues clamped to zero.

    On the CPU, where reading a value is free, only the matrices that fail both tests are
    eigendecomposed (one batched call). On an accelerator, reading a test result costs a host
    sync and so does `torch.linalg.eigh` (it checks its convergence flags on the host): there the
    clamp is computed for every matrix from a Newton-Schulz sign iteration (matrix products only,
    in float64) and the tests choose per matrix on the device, so the step never waits.
    `sync_free` forces one path (None: by device); the two agree to float rounding (tested).
    """
    if matrices.ndim < 2 or matrices.shape[-1] != matrices.shape[-2]:
        raise ValueError(f"project_psd needs (..., d, d) matrices, got shape {tuple(matrices.shape)}")
    dim = matrices.shape[-1]
    sym = 0.5 * (matrices + matrices.mT)
    flat = sym.reshape(-1, dim, dim)
    if flat.shape[0] == 0:
        return sym
    if sync_free is None:
        sync_free = flat.device.type != "cpu"
    projected = _project_without_sync(flat) if sync_free else _project_reading_tests(flat)
    return projected.reshape(sym.shape)


def _project_reading_tests(sym: Tensor) -> Tensor:
    unproven = ~_diagonally_dominant(sym)
    if not bool(unproven.any()):
        return sym
    candidates = unproven.nonzero()[:, 0]
    outside = candidates[~_passes_cholesky(sym[candidates])]
    if outside.numel() == 0:
        return sym
    projected = sym.clone()
    projected[outside] = _clamp_eigenvalues(sym[outside])
    return projected


def _project_without_sync(sym: Tensor) -> Tensor:
    keep = _diagonally_dominant(sym) | _passes_cholesky(sym)
    return torch.where(keep.view(-1, 1, 1), sym, _clamp_by_sign_iteration(sym))


def _diagonally_dominant(sym: Tensor) -> Tensor:
    """(n,) bool: every Gershgorin disc lies in [0, inf), so every eigenvalue is >= 0. The margin
    must beat the rounding error of the row sums, so a True is a proof."""
    abs_rows = sym.abs().sum(-1)
    margin = 2 * sym.diagonal(dim1=-2, dim2=-1) - abs_rows
    return (margin >= sym.shape[-1] * torch.finfo(sym.dtype).eps * abs_rows).all(-1)


def _passes_cholesky(sym: Tensor) -> Tensor:
    shifted = sym.clone()
    diagonal = shifted.diagonal(dim1=-2, dim2=-1)
    diagonal += _JITTER_EPS * torch.finfo(sym.dtype).eps * diagonal.abs().amax(-1, keepdim=True).clamp_min(1.0)
    # cholesky_ex reports failure in `info` instead of raising: no host sync.
    return torch.linalg.cholesky_ex(shifted, upper=True).info == 0


def _clamp_eigenvalues(sym: Tensor) -> Tensor:
    eigenvalues, eigenvectors = torch.linalg.eigh(sym)
    recomposed = (eigenvectors * eigenvalues.clamp_min(0).unsqueeze(-2)) @ eigenvectors.mT
    # Recomposition rounds the two triangles differently; symmetrise so outputs are exactly symmetric.
    return 0.5 * (recomposed + recomposed.mT)


def _clamp_by_sign_iteration(sym: Tensor) -> Tensor:
    """(S + S sign(S)) / 2, which is S with its negative eigenvalues set to zero.

    sign(S) comes from the Newton-Schulz iteration on S / ||S||_F (eigenvalues in [-1, 1], where
    the iteration keeps them). Every iterate is a polynomial in S, so S sign(S) has S's
    eigenvectors and the eigenvalue lambda * s with s in [-1, 1]: an unconverged s leaves an
    eigenvalue between lambda and 0, never a new negative one (see _SIGN_STEPS for its size).
    """
    s = sym.double()
    scale = torch.linalg.matrix_norm(s).clamp_min(torch.finfo(s.dtype).tiny).view(-1, 1, 1)
    sign = s / scale
    for _ in range(_SIGN_STEPS):
        sign = torch.baddbmm(sign, sign, sign @ sign, beta=1.5, alpha=-0.5)
    projected = 0.5 * (s + s @ sign)
    return (0.5 * (projected + projected.mT)).to(sym.dtype)


class PSDAdam(torch.optim.Adam):
    """Adam whose every square-matrix parameter (shape (..., d, d)) is projected onto the PSD
    cone after each step; other parameters are plain Adam. weight_decay is Adam's L2 term.

    All matrices of one size, dtype and device (M0 and every dM) are projected in one batched call.
    """

    def __init__(
        self,
        params,
        lr: float = 1e-4,
        weight_decay: float = 1e-4,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        fused: bool = True,
    ):
        # fused: one kernel for the whole update instead of a dozen per parameter, which is most
        # of Adam's cost at these sizes. Set False for a device or dtype it does not support.
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, fused=fused)

    @torch.no_grad()
    def step(self, closure=None):
        loss = super().step(closure)
        self.project()
        return loss

    @torch.no_grad()
    def project(self) -> None:
        """Project every square-matrix parameter that has a gradient onto the PSD cone, in place
        (step() does this after Adam's update). Adam leaves a parameter without a gradient as it
        was, that is as the last projection left it."""
        for matrices in self._square_parameters().values():
            dim = matrices[0].shape[-1]
            projected = project_psd(torch.cat([p.reshape(-1, dim, dim) for p in matrices]))
            for param, part in zip(matrices, projected.split([p.numel() // (dim * dim) for p in matrices])):
                param.copy_(part.view_as(param))

    def _square_parameters(self) -> dict[tuple, list[Tensor]]:
        kinds = defaultdict(list)
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is not None and param.ndim >= 2 and param.shape[-1] == param.shape[-2]:
                    kinds[(param.shape[-1], param.dtype, param.device)].append(param)
        return kinds
