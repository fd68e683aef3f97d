"""One training batch's objective: PDLF prediction, clustering, L1 + eta * L_MMC (spec 2, 4, 5)."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn import functional as F

from mmrest.config import TrainConfig
from mmrest.model.kmeans import kmeans
from mmrest.model.mmc import HingeActivity, mmc_loss
from mmrest.model.network import Inputs, MetricState, MMRestNet, pdlf_bias


@dataclass(frozen=True)
class StepTerms:
    """One batch's objective and the parts of it that the training diagnostics read."""

    loss: torch.Tensor  # L1(y_hat, y) + eta * L_MMC: what the step minimises
    mmc: torch.Tensor | None  # eta * L_MMC; None when eta = 0
    score: torch.Tensor  # s, (B,)
    bias: torch.Tensor | None  # gamma * r, (B,); None when PDLF is off or has no cluster state yet
    assignment: torch.Tensor | None  # (P B,) cluster of each row of z; None when nothing is clustered
    hinges: HingeActivity | None  # None when eta = 0
    z: torch.Tensor  # (P B, d) detached metric features (P present modalities), for the epoch's cluster state


def _prediction_parts(model: MMRestNet, state: MetricState, batch: Inputs, cfg: TrainConfig, *, has_state: bool):
    """s, gamma * r (None when PDLF does not apply) and z."""
    out = model(batch)
    if cfg.gamma == 0.0 or not has_state:
        return out.score, None, out.z
    return out.score, cfg.gamma * pdlf_bias(out.z, state, cfg.beta, modalities=len(model.modalities)), out.z


def predict(model: MMRestNet, state: MetricState, batch: Inputs, cfg: TrainConfig, *, has_state: bool):
    """y_hat = s + gamma * r (spec 4), identical in training and evaluation; also returns z."""
    score, bias, z = _prediction_parts(model, state, batch, cfg, has_state=has_state)
    return (score if bias is None else score + bias), z


def needs_clustering(cfg: TrainConfig) -> bool:
    # The "w/o L_MMC, w/o bias" ablation uses neither the loss nor the cluster state.
    return cfg.eta > 0.0 or cfg.gamma != 0.0


def cluster(z: torch.Tensor, state: MetricState, cfg: TrainConfig, *, warm: bool, seed: int) -> torch.Tensor:
    """k-means on the detached metric features; updates the cluster state; returns assignments."""
    x = z.detach()
    if warm and cfg.kmeans_mode == "warm":
        result = kmeans(x, cfg.k, init=state.centers, iters=cfg.kmeans_iters, seed=seed)
    else:
        result = kmeans(x, cfg.k, n_init=cfg.kmeans_restarts, iters=cfg.kmeans_iters, seed=seed)
    state.update(result.centers, result.assignment)
    return result.assignment


def cluster_epoch(z: torch.Tensor, state: MetricState, cfg: TrainConfig, *, init: torch.Tensor) -> torch.Tensor:
    """The state evaluation and the next epoch use: k-means on every row of the epoch's detached
    z, warm-started from `init`, so that no cluster is dropped because the epoch's last, partial
    batch had no row in it. Returns each row's cluster."""
    result = kmeans(z, cfg.k, init=init, iters=cfg.kmeans_iters)
    state.update(result.centers, result.assignment)
    return result.assignment


def batch_loss(
    model: MMRestNet,
    state: MetricState,
    batch: Inputs,
    labels: torch.Tensor,
    cfg: TrainConfig,
    *,
    has_state: bool,
    seed: int,
) -> StepTerms:
    """L = L1(y_hat, y) + eta * L_MMC, with its parts and the batch's detached z. PDLF uses the cluster state of the
    previous MMC step (spec 4), so the clustering of this batch happens after the prediction."""
    score, bias, z = _prediction_parts(model, state, batch, cfg, has_state=has_state)
    loss = F.l1_loss(score if bias is None else score + bias, labels)
    if not needs_clustering(cfg):
        return StepTerms(loss, None, score, bias, None, None, z.detach())
    assignment = cluster(z, state, cfg, warm=has_state, seed=seed)
    if cfg.eta == 0.0:
        return StepTerms(loss, None, score, bias, assignment, None, z.detach())
    row_labels = labels.repeat(len(model.modalities))  # z stacks one block of rows per present modality
    l_mmc, hinges = mmc_loss(
        z, row_labels, assignment, state.centers, state.M0, state.dM,
        v1=cfg.v1, v2=cfg.v2, xi=cfg.xi, alpha=cfg.alpha, beta=cfg.beta,
        max_pairs=cfg.max_pairs, seed=seed, return_activity=True,
    )
    mmc = cfg.eta * l_mmc
    return StepTerms(loss + mmc, mmc, score, bias, assignment, hinges, z.detach())
