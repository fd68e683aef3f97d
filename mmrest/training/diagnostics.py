"""Per-epoch training diagnostics: how much each part of the objective steers training.

A flat sensitivity curve may mean that a hyperparameter does not matter, or that the part of
the model it controls never gets a say; these numbers tell the two apart. Every sum stays on the
training device and is read once, at the end of the epoch, so an accelerator never waits on the
host inside an epoch. Definitions (also in docs/model.md, section "Diagnostics"):

* Gradients are measured on the network's parameters (everything `clip` acts on; not M0 and
  dM), before clipping, on the first step of each epoch and every `GRADIENT_EVERY`-th after it.
  On such a step the gradient of eta * L_MMC comes from its own backward pass (the graph is
  kept), then the usual backward of the whole loss runs unchanged; L1's gradient is the
  difference, exact up to rounding because backpropagation is linear. L1 includes its path
  through PDLF's r into z.
* Shares are part / (part + other) and are 0 when a part does not exist (eta = 0, gamma = 0).
* Cluster and hinge values are NaN when nothing is clustered (eta = gamma = 0) or no L_MMC is
  computed (eta = 0).
"""
from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import Tensor

from mmrest.model.mmc import HingeActivity
from mmrest.training.objective import StepTerms

# The term gradients cost one extra backward pass of eta * L_MMC through the network on the
# steps where they are measured; one step in 32 (and the first of each epoch) keeps that within
# the 3 % budget that benchmarks/bench_epoch.py checks.
GRADIENT_EVERY = 32

# Name -> meaning, in the order the CLI prints them. Values are over one epoch's training steps.
DIAGNOSTICS: dict[str, str] = {
    "grad_share_mmc": "|grad eta*L_MMC| / (|grad L1| + |grad eta*L_MMC|), network parameters, before clipping",
    "grad_norm_l1": "mean norm of L1's gradient on the network parameters (sampled steps)",
    "grad_norm_mmc": "mean norm of eta*L_MMC's gradient on the network parameters (sampled steps)",
    "clip_fraction": "fraction of steps on which clipping scaled the network's gradient",
    "clip_factor": "mean factor clip / norm on those steps (1 when clipping never acted)",
    "pdlf_share": "mean|gamma*r| / (mean|gamma*r| + mean|s|) over the training samples",
    "pdlf_mean_abs": "mean |gamma*r| over the training samples (0 before the first cluster state)",
    "score_mean_abs": "mean |s| over the training samples",
    "clusters_active": "mean number of clusters with at least one row in a batch",
    "cluster_size_min": "rows of the smallest non-empty cluster / rows of the batch, pooled over steps",
    "cluster_size_max": "rows of the largest cluster / rows of the batch, pooled over steps",
    "cluster_empty_fraction": "fraction of steps on which at least one of the k clusters was empty",
    "hinge_active_within": "fraction of within-cluster L_MMC hinges that are active",
    "hinge_active_between": "fraction of between-cluster L_MMC hinges that are active",
}

# torch.nn.utils.clip_grad_norm_ scales by clip / (norm + this) whenever that is below 1.
_CLIP_EPS = 1e-6


class EpochDiagnostics:
    """Accumulates one epoch's diagnostics. Call `backward` instead of `terms.loss.backward()`
    and `record` after clipping, on every step; `summary` once at the end of the epoch."""

    def __init__(self, params: Iterable[torch.nn.Parameter], *, k: int):
        self._params = [p for p in params if p.requires_grad]
        self._k = k
        self._sums: dict[str, Tensor] = {}  # device scalars; a name never added is "does not apply"
        self._steps = self._samples = self._gradient_steps = self._cluster_rows = 0

    def backward(self, terms: StepTerms, *, step: int) -> None:
        """`terms.loss.backward()`, and on a sampled step (`step` counts from 0 in the epoch)
        the norms of each term's gradient. The parameters' gradients are exactly those of the
        plain backward either way."""
        if step % GRADIENT_EVERY:
            terms.loss.backward()
            return
        mmc = [None] * len(self._params)
        if terms.mmc is not None:
            mmc = torch.autograd.grad(terms.mmc, self._params, retain_graph=True, allow_unused=True)
            self._add("grad_mmc", torch.nn.utils.get_total_norm([g for g in mmc if g is not None]))
        terms.loss.backward()
        l1 = [p.grad if g is None else p.grad - g for p, g in zip(self._params, mmc) if p.grad is not None]
        self._add("grad_l1", torch.nn.utils.get_total_norm(l1))
        self._gradient_steps += 1

    def record(self, terms: StepTerms, *, clip_norm: Tensor, clip: float) -> None:
        """The step's clipping (`clip_norm`: the norm clip_grad_norm_ returned), PDLF, clusters
        and hinges."""
        self._steps += 1
        factor = clip / (clip_norm + _CLIP_EPS)
        clipped = factor < 1
        self._add("clipped", clipped)
        self._add("clip_factor", torch.where(clipped, factor, 0))
        self._samples += terms.score.shape[0]
        self._add("score_abs", terms.score.detach().abs().sum())
        if terms.bias is not None:
            self._add("bias_abs", terms.bias.detach().abs().sum())
        if terms.assignment is not None:
            self._record_clusters(terms.assignment)
        if terms.hinges is not None:
            self._record_hinges(terms.hinges)

    def summary(self) -> dict[str, float]:
        """Every name of DIAGNOSTICS with its value for the epoch; one device-to-host copy."""
        names = list(self._sums)
        read = dict(zip(names, torch.stack([self._sums[n] for n in names]).tolist())) if names else {}
        total = lambda name: read.get(name, 0.0)  # noqa: E731
        grad_l1, grad_mmc = (total(n) / max(self._gradient_steps, 1) for n in ("grad_l1", "grad_mmc"))
        bias_abs, score_abs = (total(n) / max(self._samples, 1) for n in ("bias_abs", "score_abs"))
        clipped = total("clipped")
        clustered = "clusters_active" in read
        cluster_steps = self._steps if clustered else 0
        return {
            "grad_share_mmc": _share(grad_mmc, grad_l1),
            "grad_norm_l1": grad_l1,
            "grad_norm_mmc": grad_mmc,
            "clip_fraction": clipped / max(self._steps, 1),
            "clip_factor": total("clip_factor") / clipped if clipped else 1.0,
            "pdlf_share": _share(bias_abs, score_abs),
            "pdlf_mean_abs": bias_abs,
            "score_mean_abs": score_abs,
            "clusters_active": _ratio(total("clusters_active"), cluster_steps),
            "cluster_size_min": _ratio(total("cluster_rows_min"), self._cluster_rows),
            "cluster_size_max": _ratio(total("cluster_rows_max"), self._cluster_rows),
            "cluster_empty_fraction": _ratio(total("cluster_empty"), cluster_steps),
            "hinge_active_within": _ratio(total("within_active"), total("within_terms")),
            "hinge_active_between": _ratio(total("between_active"), total("between_terms")),
        }

    def _record_clusters(self, assignment: Tensor) -> None:
        # A one-hot sum, not bincount, whose data-dependent size would cost a host sync.
        counts = (assignment.unsqueeze(1) == torch.arange(self._k, device=assignment.device)).sum(0)
        present = counts > 0
        self._cluster_rows += assignment.shape[0]
        self._add("clusters_active", present.sum())
        self._add("cluster_rows_min", torch.where(present, counts, assignment.shape[0]).min())
        self._add("cluster_rows_max", counts.max())
        self._add("cluster_empty", ~present.all())

    def _record_hinges(self, hinges: HingeActivity) -> None:
        for name, mask in zip(("within_active", "within_terms", "between_active", "between_terms"), hinges):
            self._add(name, mask.sum())

    def _add(self, name: str, value: Tensor) -> None:
        value = value.detach().to(torch.float32)
        self._sums[name] = self._sums[name] + value if name in self._sums else value


def _share(part: float, other: float) -> float:
    return part / (part + other) if part + other > 0 else 0.0


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else math.nan
