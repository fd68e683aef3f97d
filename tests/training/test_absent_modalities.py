"""Absent modalities stay out of z: clustering, L_MMC, PDLF and the saved test features see the
present modalities' rows alone (spec 1), computed here again from the full model's rows."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from mmrest.analysis.outputs import OUTPUTS_FILE, load_outputs
from mmrest.analysis.variance import variance_settings
from mmrest.config import make_config
from mmrest.errors import InputError
from mmrest.model.kmeans import kmeans
from mmrest.model.mmc import mmc_loss
from mmrest.model.network import MetricState, MMRestNet, pdlf_bias
from mmrest.training import train, trainer
from mmrest.training.objective import batch_loss

CPU = torch.device("cpu")
B = 32


def _language_only(make_tiny, seed: int, sizes=(64, 16, 16)):
    return dataclasses.replace(make_tiny(seed=seed, sizes=sizes), absent_modalities=("audio", "vision"))


def test_a_step_clusters_measures_and_projects_the_text_rows_alone(make_tiny):
    data = _language_only(make_tiny, seed=4)
    cfg = make_config("mosi", {"batch_size": B, "eta": 1.0, "gamma": 0.5, "seed": 6})
    run = trainer._build(cfg, data, CPU)
    assert run.model.modalities == ("text",)
    batches = trainer.to_tensors(data, cfg, CPU)["train"]
    # The same weights with all three modalities in z: its first B rows are the text rows.
    full = MMRestNet(cfg, text_dim=data.text_dim, audio_dim=data.audio_dim, vision_dim=data.vision_dim)
    full.load_state_dict(run.model.state_dict())

    batch, labels = batches.take(torch.arange(B))
    text_rows = full(batch).z[:B].detach()
    terms = batch_loss(run.model, run.state, batch, labels, cfg, has_state=False, seed=11)
    assert torch.equal(terms.z, text_rows)
    clusters = kmeans(text_rows, cfg.k, n_init=cfg.kmeans_restarts, iters=cfg.kmeans_iters, seed=11)
    assert torch.equal(terms.assignment, clusters.assignment)
    fresh = MetricState(cfg.k, cfg.d1)
    l_mmc = mmc_loss(text_rows, labels, clusters.assignment, clusters.centers, fresh.M0, fresh.dM, v1=cfg.v1,
                     v2=cfg.v2, xi=cfg.xi, alpha=cfg.alpha, beta=cfg.beta, max_pairs=cfg.max_pairs, seed=11)
    assert terms.mmc.item() == pytest.approx(cfg.eta * l_mmc.item(), rel=1e-6)

    # The next batch's PDLF reads the state the text rows left, one row per sample.
    batch, labels = batches.take(torch.arange(B, 2 * B))
    expected = cfg.gamma * pdlf_bias(full(batch).z[:B], run.state, cfg.beta, modalities=1)
    terms = batch_loss(run.model, run.state, batch, labels, cfg, has_state=True, seed=12)
    torch.testing.assert_close(terms.bias, expected.detach(), rtol=1e-6, atol=1e-7)


def test_the_saved_test_features_and_the_variance_analysis_hold_the_text_rows(make_tiny, tmp_path):
    data = _language_only(make_tiny, seed=5, sizes=(64, 16, 20))
    cfg = make_config("mosi", {"batch_size": B, "max_epochs": 2, "lr": 1e-3, "seed": 3})
    train(cfg, data, out_dir=tmp_path)
    with np.load(tmp_path / OUTPUTS_FILE) as saved:
        assert saved["modalities"].tolist() == ["text"]
    outputs = load_outputs(tmp_path / OUTPUTS_FILE)
    assert outputs.z.shape == (20, 1, cfg.d1)
    for setting in variance_settings(outputs.z, outputs.labels, M0=outputs.M0, dM=outputs.dM,
                                     centers=outputs.centers, active=outputs.active, beta=cfg.beta):
        assert setting.decomposition.rows == 20


def test_every_modality_absent_is_an_input_error(make_tiny):
    data = dataclasses.replace(make_tiny(seed=1, sizes=(8, 4, 4)), absent_modalities=("text", "audio", "vision"))
    with pytest.raises(InputError, match="every modality as absent"):
        train(make_config("mosi", {"batch_size": 4, "max_epochs": 1}), data)
