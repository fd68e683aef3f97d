"""Per-epoch training diagnostics: how much each part of the objective steers training.

A flat sensitivity curve may mean that a hyperparameter does not matter, or that the part of
the model it controls never gets a say; these numbers tell the two apart. Every sum stays on the
training device and is read once, at the end of the epoch, so an accelerator never waits on the
host inside an epoch. Definitions (also in docs/model.md, section "Diagnostics"):

* Gradients are measured on the network's parameters (everything `clip` acts on; not M0 and
  dM), before clipping, on every `diagnostics_every`-th training step of the run, the first
  included. On such a step the gradient of eta * L_MMC comes from its own backward pass (the
  graph is kept), then the usual backward of the whole loss runs unchanged; L1's gradient is
  the difference, exact up to rounding because backpropagation is linear. L1 includes its path
  through PDLF's r into z. An epoch with no measured step repeats the latest measurement
  (`grad_steps` = 0 says so): that extra backward pass is the diagnostics' only real cost.
* Shares are part / (part + other) and are 0 when a part does not exist (eta = 0, gamma = 0).
* Cluster and hinge values are NaN when nothing is clustered (eta = gamma = 0) or no L_MMC is
  computed (eta = 0).
* The `state_*` values describe the epoch state (objective.cluster_epoch: k-means on every
  training row of z of the epoch, which evaluation and the next epoch use), not the steps: how
  many clusters it keeps, how large the largest is, and what it groups, as the normalised mutual
  information (scikit-learn's, arithmetic mean of the entropies) of its clusters with the rows'
  label bins and with the rows' modalities. NMI is 0 for clusters independent of the grouping and
  1 when they are the grouping. With one modality in z the modality NMI does not apply (NaN).
"""
from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import torch
from torch import Tensor

from mmrest.labels import label_bins
from mmrest.model.mmc import HingeActivity
from mmrest.training.objective import StepTerms

# Name -> meaning, in the order the CLI prints them. Values are over one epoch's training steps.
DIAGNOSTICS: dict[str, str] = {
    "grad_share_mmc": "|grad eta*L_MMC| / (|grad L1| + |grad eta*L_MMC|), network parameters, before clipping",
    "grad_norm_l1": "mean norm of L1's gradient on the network parameters (measured steps)",
    "grad_norm_mmc": "mean norm of eta*L_MMC's gradient on the network parameters (measured steps)",
    "grad_steps": "steps of this epoch that measured the gradients (0: the latest earlier measurement)",
    "clip_fraction": "fraction of steps on which clipping scaled the network's gradient",
    "clip_factor": "mean factor clip / norm on those steps (1 when clipping never acted)",
    "pdlf_share": "mean|gamma*r| / (mean|gamma*r| + mean|s|) over the training samples",
    "pdlf_mean_abs": "mean |gamma*r| over the training samples (0 before the first cluster state)",
    "score_mean_abs": "mean |s| over the training samples",
    "clusters_active": "mean number of clusters with at least one row in a batch",
    "cluster_size_min": "rows of the smallest non-empty cluster / rows of the batch, pooled over steps",
    "cluster_size_max": "rows of the largest cluster / rows of the batch, pooled over steps",
    "cluster_empty_fraction": "fraction of steps on which at least one of the k clusters was empty",
    "state_clusters_active": "non-empty clusters of the epoch state (k-means on every training row of the epoch)",
    "state_cluster_size_max": "rows of the epoch state's largest cluster / rows it clusters",
    "state_nmi_bins": "NMI of the epoch state's clusters with the rows' label bins (0: unrelated, 1: the bins)",
    "state_nmi_modality": "NMI of the epoch state's clusters with the rows' modalities (n/a with one modality)",
    "hinge_active_within": "fraction of within-cluster L_MMC hinges that are active",
    "hinge_active_between": "fraction of between-cluster L_MMC hinges that are active",
}
_GRADIENT_NAMES = ("grad_share_mmc", "grad_norm_l1", "grad_norm_mmc")
_STATE_NAMES = ("state_clusters_active", "state_cluster_size_max", "state_nmi_bins", "state_nmi_modality")

# torch.nn.utils.clip_grad_norm_ scales by clip / (norm + this) whenever that is below 1.
_CLIP_EPS = 1e-6


class EpochDiagnostics:
    """Accumulates one epoch's diagnostics. Call `backward` instead of `terms.loss.backward()`
    and `record` after clipping, on every step; `record_state` with the epoch state, if any;
    `summary` once at the end of the epoch.

    A step only keeps references to tensors it computed anyway (detached); all reductions run
    batched over the epoch's steps in `summary`, so a step pays a few list appends instead of a
    few dozen small tensor operations."""

    def __init__(self, params: Iterable[torch.nn.Parameter], *, k: int, clip: float, every: int):
        self._params = [p for p in params if p.requires_grad]
        self._k, self._clip, self._every = k, clip, every
        self._grad_l1: list[Tensor] = []  # per measured step
        self._grad_mmc: list[Tensor] = []
        self._clip_norms: list[Tensor] = []  # per step
        self._scores: list[Tensor] = []
        self._biases: list[Tensor] = []  # per step with PDLF
        self._assignments: list[Tensor] = []  # per step with clustering
        self._hinges: list[HingeActivity] = []  # per step with L_MMC
        self._state: tuple[Tensor, Tensor, int] | None = None  # assignment, labels, modalities

    def backward(self, terms: StepTerms, *, step: int) -> None:
        """`terms.loss.backward()`, and on a measured step (`step`, the run's step counted from
        0, a multiple of `every`) the norms of each term's gradient. The parameters' gradients
        are exactly those of the plain backward either way."""
        if step % self._every:
            terms.loss.backward()
            return
        mmc = [None] * len(self._params)
        if terms.mmc is not None:
            mmc = torch.autograd.grad(terms.mmc, self._params, retain_graph=True, allow_unused=True)
            self._grad_mmc.append(torch.nn.utils.get_total_norm([g for g in mmc if g is not None]))
        terms.loss.backward()
        l1 = [p.grad if g is None else p.grad - g for p, g in zip(self._params, mmc) if p.grad is not None]
        self._grad_l1.append(torch.nn.utils.get_total_norm(l1))

    def record(self, terms: StepTerms, *, clip_norm: Tensor) -> None:
        """The step's clipping (`clip_norm`: the norm clip_grad_norm_ returned for the network),
        PDLF, clusters and hinges."""
        self._clip_norms.append(clip_norm)
        self._scores.append(terms.score.detach())
        if terms.bias is not None:
            self._biases.append(terms.bias.detach())
        if terms.assignment is not None:
            self._assignments.append(terms.assignment)
        if terms.hinges is not None:
            self._hinges.append(terms.hinges)

    def record_state(self, assignment: Tensor, *, labels: Tensor, modalities: int) -> None:
        """The epoch state's cluster of every row it clustered: `modalities` blocks of the
        training samples, in the order of `labels` (one per sample), as z stacks them."""
        self._state = (assignment, labels, modalities)

    def summary(self) -> dict[str, float]:
        """Every name of DIAGNOSTICS with its value for the epoch; one device-to-host copy of the
        steps' sums, and one of the epoch state's assignment."""
        sums = {**self._gradient_sums(), **self._step_sums(), **self._cluster_sums(), **self._hinge_sums()}
        read = dict(zip(sums, torch.stack([v.float() for v in sums.values()]).tolist()))
        measured, steps, clustered = len(self._grad_l1), len(self._clip_norms), len(self._assignments)
        # No measured step: NaN here, the latest measurement once with_latest_gradients has run.
        grad_l1 = read["grad_l1"] / measured if measured else math.nan
        grad_mmc = read.get("grad_mmc", 0.0) / measured if measured else math.nan
        samples = sum(len(s) for s in self._scores) or 1
        bias_abs, score_abs = read.get("bias_abs", 0.0) / samples, read["score_abs"] / samples
        rows = sum(len(a) for a in self._assignments)
        return {
            "grad_share_mmc": _share(grad_mmc, grad_l1) if measured else math.nan,
            "grad_norm_l1": grad_l1,
            "grad_norm_mmc": grad_mmc,
            "grad_steps": float(measured),
            "clip_fraction": read["clipped"] / steps,
            "clip_factor": read["clip_factor"] / read["clipped"] if read["clipped"] else 1.0,
            "pdlf_share": _share(bias_abs, score_abs),
            "pdlf_mean_abs": bias_abs,
            "score_mean_abs": score_abs,
            "clusters_active": _ratio(read.get("clusters_active", 0.0), clustered),
            "cluster_size_min": _ratio(read.get("cluster_rows_min", 0.0), rows),
            "cluster_size_max": _ratio(read.get("cluster_rows_max", 0.0), rows),
            "cluster_empty_fraction": _ratio(read.get("cluster_empty", 0.0), clustered),
            **self._state_values(),
            "hinge_active_within": _ratio(read.get("within_active", 0.0), read.get("within_terms", 0.0)),
            "hinge_active_between": _ratio(read.get("between_active", 0.0), read.get("between_terms", 0.0)),
        }

    def _gradient_sums(self) -> dict[str, Tensor]:
        norms = {"grad_l1": self._grad_l1, "grad_mmc": self._grad_mmc}
        return {name: torch.stack(values).sum() for name, values in norms.items() if values}

    def _step_sums(self) -> dict[str, Tensor]:
        factor = self._clip / (torch.stack(self._clip_norms) + _CLIP_EPS)
        clipped = factor < 1
        sums = {
            "clipped": clipped.sum(),
            "clip_factor": torch.where(clipped, factor, 0).sum(),
            "score_abs": torch.cat(self._scores).abs().sum(),
        }
        if self._biases:
            sums["bias_abs"] = torch.cat(self._biases).abs().sum()
        return sums

    def _cluster_sums(self) -> dict[str, Tensor]:
        if not self._assignments:
            return {}
        # Steps as rows, padded with cluster index k (counted in no cluster); counts by a
        # one-hot sum, not bincount, whose data-dependent size would cost a host sync.
        padded = torch.nn.utils.rnn.pad_sequence(self._assignments, batch_first=True, padding_value=self._k)
        clusters = torch.arange(self._k, device=padded.device)
        counts = (padded.unsqueeze(2) == clusters).sum(1)  # (steps, k)
        present = counts > 0
        return {
            "clusters_active": present.sum(),
            "cluster_rows_min": torch.where(present, counts, padded.shape[1]).min(1).values.sum(),
            "cluster_rows_max": counts.max(1).values.sum(),
            "cluster_empty": (~present.all(1)).sum(),
        }

    def _state_values(self) -> dict[str, float]:
        if self._state is None:
            return dict.fromkeys(_STATE_NAMES, math.nan)
        assignment, labels, modalities = self._state
        bins = label_bins(labels.cpu().numpy())
        return cluster_grouping(assignment.cpu().numpy(), bins=np.tile(bins, modalities),
                                modality=np.repeat(np.arange(modalities), len(bins)), k=self._k)

    def _hinge_sums(self) -> dict[str, Tensor]:
        if not self._hinges:
            return {}
        return {
            name: torch.cat([mask.reshape(-1) for mask in masks]).sum()
            for name, masks in zip(("within_active", "within_terms", "between_active", "between_terms"),
                                   zip(*self._hinges))
        }


def cluster_grouping(assignment: np.ndarray, *, bins: np.ndarray, modality: np.ndarray, k: int) -> dict[str, float]:
    """The `state_*` diagnostics of one clustering: `assignment` (n,) cluster in [0, k) of each
    row, `bins` (n,) its label bin and `modality` (n,) its modality, as integers."""
    from sklearn.metrics import normalized_mutual_info_score as nmi  # a second to import; only here

    counts = np.bincount(assignment, minlength=k)
    return {
        "state_clusters_active": float((counts > 0).sum()),
        "state_cluster_size_max": float(counts.max() / len(assignment)),
        "state_nmi_bins": float(nmi(bins, assignment)),
        "state_nmi_modality": float(nmi(modality, assignment)) if len(np.unique(modality)) > 1 else math.nan,
    }


def with_latest_gradients(current: dict[str, float], previous: dict[str, float]) -> dict[str, float]:
    """An epoch's diagnostics with the gradient values of the previous epoch's when none of its
    steps measured them (the first step of a run always does)."""
    if not previous or current["grad_steps"]:  # diagnostics off: both are empty
        return current
    return {**current, **{name: previous[name] for name in _GRADIENT_NAMES}}


def _share(part: float, other: float) -> float:
    return part / (part + other) if part + other > 0 else 0.0


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else math.nan
