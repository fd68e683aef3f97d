"""The cluster state evaluation uses comes from the whole epoch, not from its last, partial batch."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from mmrest.config import make_config
from mmrest.training import train, trainer

CPU = torch.device("cpu")
# 65 training samples at batch 32: the epoch ends on a batch of one sample (three rows of z).
SIZES = (65, 24, 24)
# Learning rates this small leave every weight as it was, so z depends on the sample only.
FROZEN = {"batch_size": 32, "max_epochs": 1, "lr": 1e-12, "metric_lr": 1e-12, "k": 7}


@pytest.fixture
def last_step_states(monkeypatch):
    """The state each epoch's last step left, as evaluation used it before the epoch state."""
    seen = []
    original = trainer.cluster_epoch

    def spy(z, state, cfg, *, init):
        seen.append({"active": state.active.clone(), "centers": state.centers.clone()})
        return original(z, state, cfg, init=init)

    monkeypatch.setattr(trainer, "cluster_epoch", spy)
    return seen


def _epoch(data, cfg):
    run = trainer._build(cfg, data, CPU)
    tensors = trainer.to_tensors(data, cfg, CPU)
    trainer._train_epoch(run, tensors["train"])
    return run, tensors


def test_a_one_sample_last_batch_no_longer_decides_the_active_clusters(make_tiny, last_step_states):
    data = make_tiny(seed=0, sizes=SIZES)
    cfg = make_config("mosi", {**FROZEN, "seed": 7})
    run, tensors = _epoch(data, cfg)

    # The old state: one sample's three rows, so at most three of the seven clusters.
    assert int(last_step_states[0]["active"].sum()) <= 3
    # Oracle: every training row of z (unchanged by the frozen step) against the final centers;
    # every cluster with a row nearest to it is active, and no other.
    _, z = trainer.evaluate(run, tensors["train"])
    rows = torch.from_numpy(z.reshape(-1, z.shape[-1]))
    nearest = torch.cdist(rows, run.state.centers).argmin(1)
    assert run.state.active.nonzero().flatten().tolist() == sorted(set(nearest.tolist()))
    assert int(run.state.active.sum()) >= 5


def _swap_train(data, i: int, j: int):
    """The dataset with training samples i and j exchanged."""
    train_split = data.train
    perm = np.arange(len(train_split))
    perm[[i, j]] = perm[[j, i]]
    fields = {}
    for f in dataclasses.fields(train_split):
        value = getattr(train_split, f.name)
        if isinstance(value, np.ndarray):
            fields[f.name] = value[perm]
        elif isinstance(value, list):
            fields[f.name] = [value[p] for p in perm]
    return dataclasses.replace(data, train=dataclasses.replace(train_split, **fields))


def test_evaluation_is_the_same_whichever_sample_ends_the_epoch(make_tiny, last_step_states):
    data = make_tiny(seed=1, sizes=SIZES)
    cfg = make_config("mosi", {**FROZEN, "seed": 2})
    # Where the epoch's shuffle puts samples: position 63 closes the second batch, 64 is alone
    # in the last. Swapping those two samples changes only which one ends the epoch.
    order = torch.randperm(SIZES[0], generator=torch.Generator().manual_seed(cfg.seed))
    swapped = _swap_train(data, int(order[63]), int(order[64]))

    a, b = train(cfg, data), train(cfg, swapped)

    # The old state did depend on it: other PDLF candidates (two or more: PDLF was on) at other
    # centers.
    old_a, old_b = last_step_states
    assert min(old_a["active"].sum(), old_b["active"].sum()) >= 2
    assert not torch.allclose(old_a["centers"][old_a["active"]], old_b["centers"][old_a["active"]])
    for split in ("valid", "test"):
        got, want = getattr(b, split), getattr(a, split)
        assert got == pytest.approx(want, abs=1e-5)


def test_the_saved_state_is_the_one_that_scored_test(make_tiny, tmp_path):
    data = make_tiny(seed=2, sizes=(70, 30, 30))
    cfg = make_config("mosi", {"batch_size": 32, "max_epochs": 3, "lr": 1e-3, "seed": 5})
    train(cfg, data, out_dir=tmp_path)
    saved = np.load(tmp_path / "test_outputs.npz")
    ckpt = torch.load(tmp_path / "best.pt", weights_only=False)
    np.testing.assert_array_equal(saved["centers"], ckpt["metric"]["centers"].numpy())
    np.testing.assert_array_equal(saved["active"], ckpt["metric"]["active"].numpy())

    run = trainer._build(cfg, data, CPU)
    trainer._restore(run, ckpt)
    pred, _ = trainer.evaluate(run, trainer.to_tensors(data, cfg, CPU)["test"])
    np.testing.assert_allclose(pred, saved["pred"], rtol=0, atol=1e-6)
    assert saved["active"].sum() >= 2
