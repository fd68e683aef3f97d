
import numpy as np
import pytest
import torch

from mmrest.config import make_config
from mmrest.metrics import METRIC_NAMES
from mmrest.training import TrainingDiverged, train

FAST = {"batch_size": 32, "max_epochs": 4, "patience": 10, "lr": 1e-3}


def test_same_seed_same_metrics_to_the_last_digit(tiny):
    cfg = make_config("mosi", {**FAST, "seed": 3})
    a, b = train(cfg, tiny), train(cfg, tiny)
    assert a.valid == b.valid and a.test == b.test
    assert [r.train_loss for r in a.history] == [r.train_loss for r in b.history]
    other = train(make_config("mosi", {**FAST, "seed": 4}), tiny)
    assert other.test != a.test


def test_epoch_is_selected_on_validation_loss_only(tiny):
    seen = []
    result = train(make_config("mosi", {**FAST, "max_epochs": 6}), tiny, on_epoch=seen.append)
    assert [r.epoch for r in seen] == list(range(1, 7))
    losses = [r.valid_loss for r in result.history]
    assert result.best_epoch == int(np.argmin(losses)) + 1
    assert result.valid == result.history[result.best_epoch - 1].valid
    assert result.valid["mae"] == pytest.approx(min(losses))
    assert set(result.test) == set(METRIC_NAMES)


def test_early_stopping_after_patience(tiny):
    # With a vanishing learning rate the validation loss stalls, so training stops exactly
    # `patience` epochs after the best one, long before max_epochs.
    cfg = make_config("mosi", {**FAST, "max_epochs": 50, "patience": 3, "lr": 1e-12, "metric_lr": 1e-12})
    result = train(cfg, tiny)
    assert result.stopped_early and len(result.history) == result.best_epoch + 3 < 50
    losses = [r.valid_loss for r in result.history]
    assert all(loss >= losses[result.best_epoch - 1] for loss in losses[result.best_epoch :])


def test_learns_the_planted_signal(tiny):
    result = train(make_config("mosi", {**FAST, "max_epochs": 15}), tiny)
    baseline = float(np.mean(np.abs(tiny.test.labels - np.median(tiny.train.labels))))
    assert result.test["mae"] < 0.9 * baseline


def test_ablations_run_and_differ(tiny):
    full = train(make_config("mosi", FAST), tiny)
    no_bias = train(make_config("mosi", {**FAST, "gamma": 0.0}), tiny)
    plain = train(make_config("mosi", {**FAST, "gamma": 0.0, "eta": 0.0}), tiny)
    assert len({full.test["mae"], no_bias.test["mae"], plain.test["mae"]}) == 3


def test_metric_matrices_stay_psd_through_training(tiny):
    from mmrest.training import trainer

    cfg = make_config("mosi", {**FAST, "max_epochs": 2, "metric_lr": 0.05})
    run = trainer._build(cfg, tiny, torch.device("cpu"))
    tensors = trainer.to_tensors(tiny, cfg, torch.device("cpu"))
    trainer._train_epoch(run, tensors["train"])
    mats = torch.cat([run.state.M0.detach()[None], run.state.dM.detach()])
    torch.testing.assert_close(mats, mats.transpose(1, 2))
    assert torch.linalg.eigvalsh(mats.double()).min() >= -1e-6


def test_divergence_is_a_clear_error(tiny):
    with pytest.raises(TrainingDiverged, match="became"):
        train(make_config("mosi", {**FAST, "lr": 1e30, "xi": 1e30, "eta": 1e30}), tiny)


def test_parameter_count_covers_only_what_is_used(tiny):
    result = train(make_config("mosi", {**FAST, "max_epochs": 1}), tiny)
    cfg = make_config("mosi")
    # text 16 -> 64 metric and -> 50 fusion layers; the rest is fixed by spec section 1
    from mmrest.model.network import MMRestNet

    net = MMRestNet(cfg, text_dim=16, audio_dim=5, vision_dim=20)
    expected = sum(p.numel() for p in net.parameters()) + 64 * 64 * 8
    assert result.params == expected


def test_checkpoint_is_the_best_epoch(tiny, tmp_path):
    result = train(make_config("mosi", FAST), tiny, out_dir=tmp_path)
    ckpt = torch.load(tmp_path / "best.pt", weights_only=False)
    assert ckpt["epoch"] == result.best_epoch and ckpt["config"]["k"] == 7


def test_training_leaves_the_callers_generator_alone(tiny):
    cfg = make_config("mosi", {**FAST, "max_epochs": 2, "seed": 5})
    torch.manual_seed(123)
    expected = torch.rand(4)
    torch.manual_seed(123)
    first = train(cfg, tiny)
    assert torch.equal(torch.rand(4), expected)  # the caller's stream goes on as if no run happened
    torch.manual_seed(999)
    assert train(cfg, tiny).test == first.test  # and the caller's seed does not reach the run
