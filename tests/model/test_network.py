import math

import pytest
import torch

from mmrest.config import make_config
from mmrest.model.network import Z_MODALITIES, Inputs, MetricState, MMRestNet, pdlf_bias


def _state(centers, M0, active=None):
    k, d = len(centers), len(centers[0])
    state = MetricState(k, d)
    with torch.no_grad():
        state.M0.copy_(torch.tensor(M0, dtype=torch.float32))
        state.dM.zero_()
        state.centers.copy_(torch.tensor(centers, dtype=torch.float32))
        state.active.copy_(torch.tensor(active or [True] * k))
    return state


def test_pdlf_by_hand_identity_metric():
    state = _state([[0.0, 0.0], [2.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]])
    # One sample: its text, visual, acoustic rows.
    z = torch.tensor([[0.5, 1.0], [1.8, 0.0], [-1.0, 0.0]])
    # nearest/second: (c0, c1) -> 0.5*2/2 = 0.5; (c1, c0) -> (-0.2)(-2)/2 = 0.2; (c0, c1) -> -1
    assert pdlf_bias(z, state, beta=0.0, modalities=3).item() == pytest.approx((0.5 + 0.2 - 1.0) / 3)


def test_pdlf_by_hand_weighted_metric():
    state = _state([[0.0, 0.0], [2.0, 0.0]], [[2.0, 0.0], [0.0, 1.0]])
    z = torch.tensor([[0.5, 1.0]] * 3)
    # (x - c0)^T M0 (c1 - c0) = 0.5*2*2 = 2; sqrt((c1-c0)^T M0 (c1-c0)) = sqrt(8)
    assert pdlf_bias(z, state, beta=0.0, modalities=3).item() == pytest.approx(2 / math.sqrt(8), rel=1e-6)


def test_pdlf_ignores_clusters_empty_in_the_last_step():
    # The inactive center at (0.4, 1) is nearest to every row but must not be used.
    state = _state([[0.0, 0.0], [2.0, 0.0], [0.4, 1.0]], [[1.0, 0.0], [0.0, 1.0]], active=[True, True, False])
    z = torch.tensor([[0.5, 1.0]] * 3)
    assert pdlf_bias(z, state, beta=0.0, modalities=3).item() == pytest.approx(0.5)


def test_pdlf_with_one_modality_by_hand():
    # Language alone: z holds one row per sample, and r_b is that row's projection value.
    state = _state([[0.0, 0.0], [2.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]])
    z = torch.tensor([[0.5, 1.0], [1.8, 0.0]])  # samples 0 and 1
    torch.testing.assert_close(pdlf_bias(z, state, beta=0.0, modalities=1), torch.tensor([0.5, 0.2]))


def test_pdlf_gradients_reach_z_and_M0_not_centers():
    state = _state([[0.0, 0.0], [2.0, 0.0]], [[1.0, 0.2], [0.2, 1.0]])
    z = torch.randn(6, 2, requires_grad=True)
    pdlf_bias(z, state, beta=0.01, modalities=3).sum().backward()
    assert z.grad is not None and z.grad.abs().sum() > 0
    assert state.M0.grad is not None and state.M0.grad.abs().sum() > 0
    assert not state.centers.requires_grad


def test_parameter_count_matches_the_spec():
    cfg = make_config("mosi")
    net = MMRestNet(cfg, text_dim=768, audio_dim=5, vision_dim=20)
    used = sum(p.numel() for p in net.parameters())
    metrics = sum(p.numel() for p in MetricState(cfg.k, cfg.d1).parameters())
    # Spec section 1 / 7.4: about 0.37M outside BERT and about 0.03M of metric matrices.
    assert 0.35e6 < used < 0.39e6
    assert metrics == 64 * 64 * (1 + cfg.k)


def test_forward_shapes_and_padding_invariance():
    torch.manual_seed(0)
    cfg = make_config("mosi", {"dropout": 0.0})
    net = MMRestNet(cfg, text_dim=16, audio_dim=5, vision_dim=20).eval()
    audio, vision = torch.randn(4, 7, 5), torch.randn(4, 9, 20)
    lengths_a, lengths_v = torch.tensor([7, 3, 1, 5]), torch.tensor([9, 2, 4, 9])
    batch = Inputs(torch.randn(4, 16), None, audio, lengths_a, vision, lengths_v)
    out = net(batch)
    assert out.score.shape == (4,) and out.z.shape == (12, 64)
    # Steps beyond a sequence's length are padding and must not change anything.
    audio2, vision2 = audio.clone(), vision.clone()
    audio2[1, 3:] = 99.0
    vision2[1, 2:] = -99.0
    out2 = net(Inputs(batch.text, None, audio2, lengths_a, vision2, lengths_v))
    torch.testing.assert_close(out.score, out2.score)
    torch.testing.assert_close(out.z, out2.z)


def _batch(n: int = 4) -> Inputs:
    g = torch.Generator().manual_seed(1)
    lengths = torch.tensor([7, 3, 1, 5])[:n]
    return Inputs(torch.randn(n, 16, generator=g), None, torch.randn(n, 7, 5, generator=g), lengths,
                  torch.randn(n, 7, 20, generator=g), lengths.clone())


@pytest.mark.parametrize("present", [("text",), ("text", "audio"), ("vision", "audio")])
def test_z_stacks_only_the_present_modalities(present):
    """The same weights give the full model's rows of the present modalities, in z's order, and
    the same score: absent modalities still feed the fusion layers, only not z."""
    cfg = make_config("mosi", {"dropout": 0.0})
    full = MMRestNet(cfg, text_dim=16, audio_dim=5, vision_dim=20).eval()
    part = MMRestNet(cfg, text_dim=16, audio_dim=5, vision_dim=20, modalities=present).eval()
    part.load_state_dict(full.state_dict())
    batch = _batch()
    want, got = full(batch), part(batch)
    blocks = dict(zip(Z_MODALITIES, want.z.view(3, 4, -1)))
    torch.testing.assert_close(got.z, torch.cat([blocks[m] for m in present]), rtol=0, atol=0)
    torch.testing.assert_close(got.score, want.score, rtol=0, atol=0)


@pytest.mark.parametrize("bad", [(), ("audio", "text"), ("text", "sound")])
def test_modalities_must_be_present_ones_in_z_order(bad):
    with pytest.raises(ValueError, match="non-empty subsequence"):
        MMRestNet(make_config("mosi"), text_dim=16, audio_dim=5, vision_dim=20, modalities=bad)
