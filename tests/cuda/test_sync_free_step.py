"""A training step on CUDA never waits for the host: no value is read back, no shape depends on data."""
import numpy as np
import pytest
import torch

from mmrest.config import make_config
from mmrest.data.dataset import MSADataset, Split
from mmrest.training import trainer


def split(rng, n):
    lengths = rng.integers(0, 9, n)
    return Split(ids=[str(i) for i in range(n)], labels=rng.uniform(-3, 3, n).astype(np.float32),
                 audio=rng.normal(size=(n, 8, 5)).astype(np.float32), audio_lengths=lengths,
                 vision=rng.normal(size=(n, 8, 20)).astype(np.float32), vision_lengths=lengths.copy(),
                 text=rng.normal(size=(n, 4, 16)).astype(np.float32))


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return MSADataset(source="tiny", format="mmsa", train=split(rng, 128), valid=split(rng, 32), test=split(rng, 32))


@pytest.mark.parametrize("overrides", [{}, {"kmeans_mode": "restart"}, {"gamma": 0.0, "eta": 0.0}],
                         ids=["full model", "k-means restarts", "no MMC"])
def test_training_steps_make_no_host_synchronisation(data, overrides):
    cfg = make_config("mosi", {"batch_size": 64, **overrides})
    device = torch.device("cuda")
    run = trainer._build(cfg, data, device)
    train = trainer.to_tensors(data, cfg, device)["train"]
    order = torch.randperm(len(train))
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        # The first step clusters from scratch (k-means++), the second warm-starts; both run the
        # re-seeding of empty clusters (on CUDA always: asking whether one is empty would sync),
        # and the pair draw (192 rows hold more than max_pairs pairs).
        for start in (0, 64):
            trainer._train_step(run, train, order[start : start + 64])
    finally:
        torch.cuda.set_sync_debug_mode(0)
    assert run.step == 2
