"""The training loop: select the epoch on validation loss only, score test at that epoch."""
from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from mmrest.config import TrainConfig
from mmrest.data.dataset import MSADataset
from mmrest.metrics import msa_metrics
from mmrest.errors import InputError
from mmrest.model.network import Z_MODALITIES, MetricState, MMRestNet
from mmrest.model.psd_adam import PSDAdam
from mmrest.training.batches import SplitTensors, to_tensors
from mmrest.training.diagnostics import EpochDiagnostics, with_latest_gradients
from mmrest.training.objective import StepTerms, batch_loss, cluster_epoch, needs_clustering, predict
from mmrest.training.result import EpochRecord, TrainResult

EVAL_BATCH = 256


class TrainingDiverged(RuntimeError):
    """The loss or the predictions became NaN or infinite."""


@dataclass
class _Run:
    cfg: TrainConfig
    model: MMRestNet
    state: MetricState
    main_opt: torch.optim.Optimizer
    metric_opt: PSDAdam
    scheduler: torch.optim.lr_scheduler.ReduceLROnPlateau
    shuffle: torch.Generator
    step: int = 0
    has_state: bool = False


def metric_modalities(data: MSADataset) -> tuple[str, ...]:
    """The modalities whose rows enter z, in z's order: those the dataset does not record as
    absent (an absent one's encoder output is the same vector for every sample; spec 1)."""
    present = tuple(m for m in Z_MODALITIES if m not in data.absent_modalities)
    if not present:
        raise InputError(f"{data.source}: the dataset records every modality as absent; there is nothing to train on")
    return present


def _build(cfg: TrainConfig, data: MSADataset, device: torch.device) -> _Run:
    torch.manual_seed(cfg.seed)
    model = MMRestNet(
        cfg, text_dim=data.text_dim or 0, audio_dim=data.audio_dim, vision_dim=data.vision_dim,
        modalities=metric_modalities(data),
    ).to(device)
    state = MetricState(cfg.k, cfg.d1).to(device)
    bert = [p for n, p in model.named_parameters() if n.startswith("bert.")]
    rest = [p for n, p in model.named_parameters() if not n.startswith("bert.")]
    groups = [{"params": rest, "lr": cfg.lr}] + ([{"params": bert, "lr": cfg.bert_lr}] if bert else [])
    # fused: one kernel per step instead of a loop of small ones per parameter (a fifth of a demo step).
    main_opt = torch.optim.Adam(groups, weight_decay=cfg.weight_decay, fused=True)
    metric_opt = PSDAdam(state.parameters(), lr=cfg.metric_lr, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        main_opt, mode="min", factor=cfg.plateau_factor, patience=cfg.plateau_patience
    )
    return _Run(cfg, model, state, main_opt, metric_opt, scheduler, torch.Generator().manual_seed(cfg.seed))


def _train_epoch(run: _Run, data: SplitTensors) -> tuple[float, dict[str, float]]:
    """One pass over the training split: the mean training loss and the epoch's diagnostics
    (empty when the config turns them off)."""
    run.model.train()
    order = torch.randperm(len(data), generator=run.shuffle)
    total = torch.zeros((), device=data.labels.device)
    diagnostics = _diagnostics(run)
    features = _EpochFeatures(run, len(data)) if needs_clustering(run.cfg) else None
    for start in range(0, len(data), run.cfg.batch_size):
        index = order[start : start + run.cfg.batch_size]
        terms, clip_norm = _train_step(run, data, index, diagnostics)
        total += terms.loss.detach() * len(index)
        if diagnostics is not None:
            diagnostics.record(terms, clip_norm=clip_norm)
        if features is not None:
            features.add(run, index, terms.z)
    mean = float(total) / len(data)
    if not np.isfinite(mean):
        raise TrainingDiverged(f"training loss became {mean} in step {run.step}; lower lr, eta or xi")
    if features is not None:
        assignment = features.cluster(run)
        if diagnostics is not None:
            diagnostics.record_state(assignment, labels=data.labels, modalities=len(run.model.modalities))
    return mean, {} if diagnostics is None else diagnostics.summary()


def _diagnostics(run: _Run) -> EpochDiagnostics | None:
    if not run.cfg.diagnostics:
        return None
    return EpochDiagnostics(run.model.parameters(), k=run.cfg.k, clip=run.cfg.clip, every=run.cfg.diagnostics_every)


class _EpochFeatures:
    """Every training sample's z of one epoch, in dataset order, for the cluster state that
    evaluation and the next epoch use (objective.cluster_epoch)."""

    def __init__(self, run: _Run, n_samples: int):
        self._z = torch.empty(len(run.model.modalities), n_samples, run.cfg.d1, device=run.state.centers.device)
        self._init = run.state.centers.clone() if run.has_state else None

    def add(self, run: _Run, index: torch.Tensor, z: torch.Tensor) -> None:
        self._z[:, index.to(self._z.device)] = z.view(self._z.shape[0], len(index), -1)
        # The first epoch starts from the centers of its first step, the first there are.
        if self._init is None:
            self._init = run.state.centers.clone()

    def cluster(self, run: _Run) -> torch.Tensor:
        """The epoch state; returns the cluster of each row (modality blocks of the samples in
        dataset order)."""
        return cluster_epoch(self._z.view(-1, run.cfg.d1), run.state, run.cfg, init=self._init)


def _train_step(
    run: _Run, data: SplitTensors, index: torch.Tensor, diagnostics: EpochDiagnostics | None
) -> tuple[StepTerms, torch.Tensor]:
    """One optimisation step on the rows `index`; returns the batch's objective and its parts, and
    the network's gradient norm before clipping, both on the device (reading them on the host
    would make the device wait every step)."""
    batch, labels = data.take(index)
    # One seed per step keeps clustering and pair sampling reproducible and different per step.
    seed = run.cfg.seed * 1_000_003 + run.step
    terms = batch_loss(run.model, run.state, batch, labels, run.cfg, has_state=run.has_state, seed=seed)
    run.main_opt.zero_grad(set_to_none=True)
    run.metric_opt.zero_grad(set_to_none=True)
    if diagnostics is None:
        terms.loss.backward()
    else:
        diagnostics.backward(terms, step=run.step)
    clip_norm = nn.utils.clip_grad_norm_(run.model.parameters(), run.cfg.clip)
    nn.utils.clip_grad_norm_(run.state.parameters(), run.cfg.clip)
    run.main_opt.step()
    run.metric_opt.step()
    run.has_state = run.has_state or needs_clustering(run.cfg)
    run.step += 1
    return terms, clip_norm


@torch.no_grad()
def evaluate(run: _Run, data: SplitTensors) -> tuple[np.ndarray, np.ndarray]:
    """Predictions and metric features z (P N, d1: a block per present modality per batch,
    regrouped to (N, P, d1)) for a whole split."""
    run.model.eval()
    preds, feats = [], []
    for start in range(0, len(data), EVAL_BATCH):
        index = torch.arange(start, min(start + EVAL_BATCH, len(data)))
        batch, _ = data.take(index)
        y_hat, z = predict(run.model, run.state, batch, run.cfg, has_state=run.has_state)
        preds.append(y_hat.cpu())
        feats.append(z.view(len(run.model.modalities), len(index), -1).transpose(0, 1).cpu())
    pred = torch.cat(preds).numpy().astype(np.float64)
    if not np.isfinite(pred).all():
        raise TrainingDiverged("predictions became NaN or infinite; lower lr, eta or xi")
    return pred, torch.cat(feats).numpy()


def _snapshot(run: _Run) -> dict:
    return {
        "model": copy.deepcopy(run.model.state_dict()),
        "metric": copy.deepcopy(run.state.state_dict()),
        "has_state": run.has_state,
    }


def _restore(run: _Run, snap: dict) -> None:
    run.model.load_state_dict(snap["model"])
    run.state.load_state_dict(snap["metric"])
    run.has_state = snap["has_state"]


def _save(run: _Run, snap: dict, epoch: int, out_dir: Path, pred, z, labels, ids) -> None:
    """The best checkpoint, and what analyses need without retraining: test predictions, test
    metric features (N, P, d1: the present modalities, named in `modalities`) and the learned
    metrics."""
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.save({**snap, "config": run.cfg.model_dump(), "epoch": epoch}, out_dir / "best.pt")
    np.savez_compressed(
        out_dir / "test_outputs.npz",
        ids=np.asarray(ids), labels=labels, pred=pred, z=z, modalities=np.asarray(run.model.modalities),
        M0=run.state.M0.detach().cpu().numpy(), dM=run.state.dM.detach().cpu().numpy(),
        centers=run.state.centers.cpu().numpy(), active=run.state.active.cpu().numpy(),
    )


def count_parameters(run: _Run) -> int:
    """Everything the forward pass uses: the network (BERT included when used) and the metrics."""
    return sum(p.numel() for p in run.model.parameters()) + sum(p.numel() for p in run.state.parameters())


def train(
    config: TrainConfig,
    data: MSADataset,
    *,
    device: str | torch.device = "cpu",
    on_epoch: Callable[[EpochRecord], None] | None = None,
    out_dir: Path | None = None,
) -> TrainResult:
    """Train MMRest on `data` under `config` and return validation and test metrics at the
    epoch with the lowest validation loss. `on_epoch` sees every epoch's record as it ends;
    `out_dir`, if given, receives the best checkpoint (`best.pt`) and the test outputs at that
    epoch (`test_outputs.npz`: ids, labels, pred, z and the modalities of its rows, M0, dM, and
    the cluster state evaluation used: centers, active). z holds the rows of the modalities the
    dataset does not record as absent (`metric_modalities`).

    The run seeds torch's global generator (initial weights, dropout) from `config.seed`, inside
    a fork of it: the caller's generator is left as it was."""
    device = torch.device(device)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else [], device_type=device.type):
        return _train(config, data, device, on_epoch, out_dir)


def _train(config: TrainConfig, data: MSADataset, device: torch.device,
           on_epoch: Callable[[EpochRecord], None] | None, out_dir: Path | None) -> TrainResult:
    started = time.perf_counter()
    tensors = to_tensors(data, config, device)
    run = _build(config, data, device)
    valid_labels = data.valid.labels.astype(np.float64)
    history: list[EpochRecord] = []
    best_loss, best_snap, best_epoch, bad_epochs = float("inf"), None, 0, 0
    for epoch in range(1, config.max_epochs + 1):
        t0 = time.perf_counter()
        train_loss, diagnostics = _train_epoch(run, tensors["train"])
        if history:
            diagnostics = with_latest_gradients(diagnostics, history[-1].diagnostics)
        pred, _ = evaluate(run, tensors["valid"])
        valid_loss = float(np.mean(np.abs(pred - valid_labels)))
        record = EpochRecord(
            epoch, train_loss, valid_loss, msa_metrics(pred, valid_labels), time.perf_counter() - t0, diagnostics
        )
        history.append(record)
        if on_epoch is not None:
            on_epoch(record)
        if valid_loss < best_loss:
            best_loss, best_snap, best_epoch, bad_epochs = valid_loss, _snapshot(run), epoch, 0
        else:
            bad_epochs += 1
        run.scheduler.step(valid_loss)
        if bad_epochs >= config.patience:
            break
    _restore(run, best_snap)
    test_pred, test_z = evaluate(run, tensors["test"])
    test_labels = tensors["test"].labels.cpu().numpy()
    test = msa_metrics(test_pred, test_labels)
    if out_dir is not None:
        _save(run, best_snap, best_epoch, Path(out_dir), test_pred, test_z, test_labels, data.test.ids)
    return TrainResult(
        best_epoch=best_epoch,
        valid=history[best_epoch - 1].valid,
        test=test,
        params=count_parameters(run),
        seconds=time.perf_counter() - started,
        history=history,
        stopped_early=len(history) < config.max_epochs,
        diagnostics=history[best_epoch - 1].diagnostics,
    )
