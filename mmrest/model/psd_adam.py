"""The metric optimiser of spec section 3: Adam, then a projection onto the PSD cone."""
from __future__ import annotations

import torch
from torch import Tensor

# A Cholesky factorisation of M + jitter * I succeeds when M's smallest eigenvalue is above
# about -jitter. The jitter is a few rounding errors of the matrix's scale, so the output of an
# eigendecomposition-based projection (whose zero eigenvalues come back as tiny negatives)
# passes the check, and a PSD matrix is recognised as PSD on the next step.
_JITTER_EPS = 4


def project_psd(matrices: Tensor) -> Tensor:
    """Nearest symmetric PSD matrix (Frobenius) of each matrix in a (..., d, d) batch.

    Symmetrise, then for the matrices that fail a Cholesky test, eigendecompose (one batched
    call), clamp negative eigenvalues to zero and recompose. A matrix that passes the test is
    returned symmetrised but otherwise untouched, so a symmetric PSD matrix is its own image.
    Matrices whose smallest eigenvalue is within a few float rounding errors of zero (relative
    to max(1, largest |diagonal entry|)) count as PSD.
    """
    if matrices.ndim < 2 or matrices.shape[-1] != matrices.shape[-2]:
        raise ValueError(f"project_psd needs (..., d, d) matrices, got shape {tuple(matrices.shape)}")
    dim = matrices.shape[-1]
    sym = 0.5 * (matrices + matrices.mT)
    flat = sym.reshape(-1, dim, dim)
    if flat.shape[0] == 0:
        return sym
    shifted = flat.clone()
    diagonal = shifted.diagonal(dim1=-2, dim2=-1)
    diagonal += _JITTER_EPS * torch.finfo(flat.dtype).eps * diagonal.abs().amax(-1, keepdim=True).clamp_min(1.0)
    _, info = torch.linalg.cholesky_ex(shifted, upper=True)
    failed = info != 0
    # The one host sync of the projection: it decides whether any eigendecomposition is needed.
    if not bool(failed.any()):
        return sym
    projected = flat.clone()
    projected[failed] = _clamp_eigenvalues(flat[failed])
    return projected.reshape(sym.shape)


def _clamp_eigenvalues(sym: Tensor) -> Tensor:
    eigenvalues, eigenvectors = torch.linalg.eigh(sym)
    recomposed = (eigenvectors * eigenvalues.clamp_min(0).unsqueeze(-2)) @ eigenvectors.mT
    # Recomposition rounds the two triangles differently; symmetrise so outputs are exactly symmetric.
    return 0.5 * (recomposed + recomposed.mT)


class PSDAdam(torch.optim.Adam):
    """Adam whose every square-matrix parameter (shape (..., d, d)) is projected onto the PSD
    cone after each step; other parameters are plain Adam. weight_decay is Adam's L2 term.

    A stack of matrices (dM) is projected in one batched call.
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
        for group in self.param_groups:
            for param in group["params"]:
                if param.ndim >= 2 and param.shape[-1] == param.shape[-2]:
                    param.copy_(project_psd(param))
        return loss
