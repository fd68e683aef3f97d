"""Training diagnostics: a hand-computed step, an independent autograd check on a 4-sample
batch, the values that must be exactly 0 or NaN, empty clusters, what the epoch state groups, and
no effect on training."""
import math

import pytest
import torch
from torch.nn import functional as F

from mmrest.config import make_config
from mmrest.labels import label_bins
from mmrest.model.kmeans import kmeans
from mmrest.model.mmc import HingeActivity, mmc_loss
from mmrest.training import train, trainer
from mmrest.training.diagnostics import DIAGNOSTICS, EpochDiagnostics
from mmrest.training.objective import StepTerms

FAST = {"batch_size": 32, "max_epochs": 3, "patience": 10, "lr": 1e-3}
STATE_NAMES = ("state_clusters_active", "state_cluster_size_max", "state_nmi_bins", "state_nmi_modality")
CLUSTER_NAMES = ("clusters_active", "cluster_size_min", "cluster_size_max", "cluster_empty_fraction", *STATE_NAMES)
HINGE_NAMES = ("hinge_active_within", "hinge_active_between")


THIRDS = -(2 / 3 * math.log(2 / 3) + 1 / 3 * math.log(1 / 3))  # entropy of a 2/3, 1/3 split


def _step_terms(w: torch.nn.Parameter, *, l1_grad, mmc_grad, score, bias, assignment, hinges) -> StepTerms:
    """A step whose L1 and eta * L_MMC are linear in w with the given gradients."""
    l1 = (torch.tensor(l1_grad) * w).sum()
    mmc = (torch.tensor(mmc_grad) * w).sum()
    return StepTerms(l1 + mmc, mmc, torch.tensor(score), torch.tensor(bias), torch.tensor(assignment), hinges, torch.zeros(0))


def test_hand_computed_two_steps():
    w = torch.nn.Parameter(torch.zeros(2))
    diag = EpochDiagnostics([w], k=3, clip=1.0, every=64)
    # Step 0 (measured): grad L1 = (3, 4), |.| = 5; grad eta*L_MMC = (0.6, 0.8), |.| = 1, so the
    # L_MMC share is 1 / (5 + 1). The total (3.6, 4.8) has norm 6 > clip 1: factor 1 / 6.
    # Rows: clusters 0, 0, 0, 0, 1, 1 of k = 3: 2 active, sizes 4/6 and 2/6, cluster 2 empty.
    hinges = HingeActivity(
        within=torch.tensor([1.0, 0.0, 0.0]), within_terms=torch.tensor([1.0, 1.0, 0.0]),
        between=torch.tensor([[0.0, 1.0, 0.0]] * 4 + [[0.0, 0.0, 0.0]] * 2),
        between_terms=torch.tensor([[0.0, 1.0, 0.0]] * 4 + [[1.0, 0.0, 0.0]] * 2),
    )
    terms = _step_terms(w, l1_grad=[3.0, 4.0], mmc_grad=[0.6, 0.8], score=[1.0, -2.0], bias=[0.5, -0.5],
                        assignment=[0, 0, 0, 0, 1, 1], hinges=hinges)
    diag.backward(terms, step=0)
    torch.testing.assert_close(w.grad, torch.tensor([3.6, 4.8]))  # the plain backward's gradient
    diag.record(terms, clip_norm=w.grad.norm())
    # Step 1 (not measured): norm 0.5 < clip; clusters 0, 1, 2 with 3, 2, 1 rows; no hinge left active.
    w.grad = None
    hinges = HingeActivity(torch.zeros(3), torch.tensor([1.0, 1.0, 0.0]), torch.zeros(6, 3), torch.ones(6, 3))
    terms = _step_terms(w, l1_grad=[0.3, 0.4], mmc_grad=[0.0, 0.0], score=[3.0, 0.0], bias=[0.0, 1.0],
                        assignment=[0, 0, 0, 1, 1, 2], hinges=hinges)
    diag.backward(terms, step=1)
    diag.record(terms, clip_norm=w.grad.norm())
    # The epoch state: 3 samples labelled -3, 0, 2.9 (bins 0, 3, 6), two modalities, so rows are
    # (sample, modality) = (0, 0), (1, 0), (2, 0), (0, 1), (1, 1), (2, 1); clusters 0, 0, 1, 0, 0, 1.
    # The clusters are a function of the bins: MI = H(clusters) = H(2/3, 1/3), H(bins) = ln 3, so
    # NMI = H / ((ln 3 + H) / 2). Each modality holds the same mix of clusters: MI = 0.
    diag.record_state(torch.tensor([0, 0, 1, 0, 0, 1]), labels=torch.tensor([-3.0, 0.0, 2.9]), modalities=2)

    got = diag.summary()
    assert list(got) == list(DIAGNOSTICS)
    expected = {
        "grad_share_mmc": 1 / 6, "grad_norm_l1": 5.0, "grad_norm_mmc": 1.0, "grad_steps": 1,
        "clip_fraction": 0.5, "clip_factor": 1 / (6 + 1e-6),
        # mean |gamma r| = (0.5 + 0.5 + 0 + 1) / 4 = 0.5; mean |s| = (1 + 2 + 3 + 0) / 4 = 1.5
        "pdlf_share": 0.25, "pdlf_mean_abs": 0.5, "score_mean_abs": 1.5,
        "clusters_active": 2.5, "cluster_size_min": (2 + 1) / 12, "cluster_size_max": (4 + 3) / 12,
        "cluster_empty_fraction": 0.5,
        "state_clusters_active": 2, "state_cluster_size_max": 4 / 6,
        "state_nmi_bins": 2 * THIRDS / (math.log(3) + THIRDS), "state_nmi_modality": 0.0,
        "hinge_active_within": 1 / 4, "hinge_active_between": 4 / (6 + 18),
    }
    assert got == pytest.approx(expected, rel=1e-6, abs=1e-12)


def test_gradients_measured_on_every_nth_step():
    w = torch.nn.Parameter(torch.zeros(1))
    diag = EpochDiagnostics([w], k=2, clip=1.0, every=4)
    # Steps 0, 4 and 8 are measured: L1's gradient there is 1, 3 and 5; elsewhere 100.
    for step in range(10):
        w.grad = None
        slope = {0: 1.0, 4: 3.0, 8: 5.0}.get(step, 100.0)
        terms = StepTerms((slope * w).sum(), None, torch.zeros(1), None, None, None, torch.zeros(0))
        diag.backward(terms, step=step)
        diag.record(terms, clip_norm=w.grad.norm())
    got = diag.summary()
    assert got["grad_norm_l1"] == pytest.approx(3.0) and got["grad_steps"] == 3
    assert got["grad_share_mmc"] == 0.0 and got["grad_norm_mmc"] == 0.0


def test_epoch_without_measured_step_repeats_the_latest(tiny):
    # 96 samples in batches of 32: 3 steps an epoch; run steps 0, 4, 8 are measured, so epoch 4
    # (steps 9 to 11) has none and repeats epoch 3's values.
    history = train(make_config("mosi", {**FAST, "max_epochs": 4, "diagnostics_every": 4}), tiny).history
    assert [r.diagnostics["grad_steps"] for r in history] == [1, 1, 1, 0]
    names = ("grad_share_mmc", "grad_norm_l1", "grad_norm_mmc")
    assert [history[3].diagnostics[n] for n in names] == [history[2].diagnostics[n] for n in names]
    assert history[1].diagnostics["grad_norm_l1"] != history[2].diagnostics["grad_norm_l1"]
    every_step = train(make_config("mosi", {**FAST, "max_epochs": 2, "diagnostics_every": 1}), tiny).history
    assert [r.diagnostics["grad_steps"] for r in every_step] == [3, 3]


def _four_samples(make_tiny):
    return make_tiny(seed=5, sizes=(4, 8, 8))


def test_gradient_share_matches_separate_autograd_on_four_samples(make_tiny):
    # One epoch of one step on 4 samples (12 rows of z). Independently of the diagnostics'
    # retained-graph difference, rebuild the same first step and differentiate each term alone.
    # A large xi keeps the within-cluster hinge active, so that L_MMC reaches the network.
    data = _four_samples(make_tiny)
    cfg = make_config("mosi", {"batch_size": 4, "max_epochs": 1, "eta": 0.1, "xi": 1e4, "k": 2, "dropout": 0.0,
                               "seed": 9})
    recorded = train(cfg, data).diagnostics

    cpu = torch.device("cpu")
    tensors = trainer.to_tensors(data, cfg, cpu)
    run = trainer._build(cfg, data, cpu)  # seeds and initialises exactly as train() does
    order = torch.randperm(4, generator=torch.Generator().manual_seed(cfg.seed))
    batch, labels = tensors["train"].take(order)
    out = run.model(batch)
    l1 = F.l1_loss(out.score, labels)  # the first step has no cluster state: y_hat = s
    clusters = kmeans(out.z.detach(), cfg.k, n_init=cfg.kmeans_restarts, iters=cfg.kmeans_iters,
                      seed=cfg.seed * 1_000_003)
    l_mmc = mmc_loss(out.z, labels.repeat(3), clusters.assignment, clusters.centers, run.state.M0, run.state.dM,
                     v1=cfg.v1, v2=cfg.v2, xi=cfg.xi, alpha=cfg.alpha, beta=cfg.beta, max_pairs=cfg.max_pairs,
                     seed=cfg.seed * 1_000_003)
    params = list(run.model.parameters())

    def norm(term):
        grads = torch.autograd.grad(term, params, retain_graph=True, allow_unused=True)
        return math.sqrt(sum(float(g.double().pow(2).sum()) for g in grads if g is not None))

    norm_l1, norm_mmc = norm(l1), norm(cfg.eta * l_mmc)
    assert 0.05 < norm_mmc / (norm_l1 + norm_mmc) < 0.95  # both terms matter in this case
    assert recorded["grad_norm_l1"] == pytest.approx(norm_l1, rel=1e-4)
    assert recorded["grad_norm_mmc"] == pytest.approx(norm_mmc, rel=1e-4)
    assert recorded["grad_share_mmc"] == pytest.approx(norm_mmc / (norm_l1 + norm_mmc), rel=1e-4)


def test_no_mmc_means_zero_share_and_no_hinges(tiny):
    result = train(make_config("mosi", {**FAST, "eta": 0.0}), tiny)
    for record in result.history:
        assert record.diagnostics["grad_share_mmc"] == 0.0 and record.diagnostics["grad_norm_mmc"] == 0.0
        assert record.diagnostics["grad_norm_l1"] > 0
        assert all(math.isnan(record.diagnostics[n]) for n in HINGE_NAMES)
        assert all(math.isfinite(record.diagnostics[n]) for n in CLUSTER_NAMES)  # PDLF still clusters


def test_no_bias_means_zero_pdlf_share(tiny):
    result = train(make_config("mosi", {**FAST, "gamma": 0.0}), tiny)
    for record in result.history:
        assert record.diagnostics["pdlf_share"] == 0.0 and record.diagnostics["pdlf_mean_abs"] == 0.0
        assert record.diagnostics["score_mean_abs"] > 0 and record.diagnostics["grad_share_mmc"] > 0
        assert 0 <= record.diagnostics["hinge_active_within"] <= 1


def test_nothing_clustered_gives_nan_cluster_values(tiny):
    result = train(make_config("mosi", {**FAST, "gamma": 0.0, "eta": 0.0}), tiny)
    assert all(math.isnan(result.diagnostics[n]) for n in CLUSTER_NAMES + HINGE_NAMES)
    assert result.diagnostics["grad_share_mmc"] == 0.0 and result.diagnostics["pdlf_share"] == 0.0


def test_empty_clusters_show_in_the_counts(make_tiny):
    # 12 rows of z per step and k = 16: every row gets its own cluster, 4 clusters stay empty.
    cfg = make_config("mosi", {"batch_size": 4, "max_epochs": 2, "k": 16})
    result = train(cfg, _four_samples(make_tiny))
    for record in result.history:
        assert record.diagnostics["clusters_active"] == 12
        assert record.diagnostics["cluster_empty_fraction"] == 1.0
        assert record.diagnostics["cluster_size_min"] == pytest.approx(1 / 12)
        assert record.diagnostics["cluster_size_max"] == pytest.approx(1 / 12)
        # every cluster has a single row: no within-cluster term exists
        assert math.isnan(record.diagnostics["hinge_active_within"])


def test_one_modality_has_no_modality_nmi():
    diag = EpochDiagnostics([], k=2, clip=1.0, every=64)
    w = torch.nn.Parameter(torch.zeros(1))
    terms = StepTerms((w * 1.0).sum(), None, torch.ones(2), None, torch.tensor([0, 1]), None, torch.zeros(0))
    diag.backward(terms, step=1)
    diag.record(terms, clip_norm=torch.tensor(0.5))
    # Two samples in bins 3 and 6, each in its own cluster: the clusters are the bins.
    diag.record_state(torch.tensor([1, 0]), labels=torch.tensor([0.1, 2.7]), modalities=1)
    got = diag.summary()
    assert got["state_nmi_bins"] == pytest.approx(1.0) and math.isnan(got["state_nmi_modality"])
    assert (got["state_clusters_active"], got["state_cluster_size_max"]) == (2, 0.5)


@pytest.mark.parametrize("grouping", ["modality", "bins"])
def test_epoch_state_values_line_each_row_up_with_its_sample_and_modality(tiny, monkeypatch, grouping):
    """An epoch state whose clusters are exactly the rows' modalities (or their label bins) has
    NMI 1 with that grouping and 0 with the other (every modality holds the same samples): the
    rows are matched with the right labels and modalities, in z's order."""
    original, n = trainer.cluster_epoch, len(tiny.train)
    bins = label_bins(torch.from_numpy(tiny.train.labels))

    def grouped(z, state, cfg, *, init):
        original(z, state, cfg, init=init)
        return torch.arange(3).repeat_interleave(n) if grouping == "modality" else bins.repeat(3)

    monkeypatch.setattr(trainer, "cluster_epoch", grouped)
    got = train(make_config("mosi", {**FAST, "max_epochs": 1}), tiny).diagnostics
    other = "bins" if grouping == "modality" else "modality"
    assert got[f"state_nmi_{grouping}"] == pytest.approx(1.0) and got[f"state_nmi_{other}"] == pytest.approx(0.0, abs=1e-12)
    expected_active = 3 if grouping == "modality" else len(bins.unique())
    assert got["state_clusters_active"] == expected_active


def test_epoch_state_count_is_the_state_evaluation_uses(tiny):
    cfg = make_config("mosi", {**FAST, "k": 5})
    run = trainer._build(cfg, tiny, torch.device("cpu"))
    tensors = trainer.to_tensors(tiny, cfg, torch.device("cpu"))
    for _ in range(2):
        _, diagnostics = trainer._train_epoch(run, tensors["train"])
        assert diagnostics["state_clusters_active"] == int(run.state.active.sum())
        assert 1 / 5 <= diagnostics["state_cluster_size_max"] <= 1


def test_diagnostics_change_no_metric(tiny):
    # eta = 1 and a large gamma make both MMC and PDLF matter, and every step measures the
    # gradients, so any effect would show.
    cfg = make_config("mosi", {**FAST, "max_epochs": 4, "eta": 1.0, "gamma": 0.5, "seed": 21,
                               "diagnostics_every": 1})
    on = train(cfg, tiny)
    off = train(cfg.model_copy(update={"diagnostics": False}), tiny)
    assert (on.best_epoch, on.valid, on.test) == (off.best_epoch, off.valid, off.test)
    strip = lambda records: [(r.epoch, r.train_loss, r.valid_loss, r.valid) for r in records]  # noqa: E731
    assert strip(on.history) == strip(off.history)
    assert off.diagnostics == {} and all(r.diagnostics == {} for r in off.history)
    assert list(on.diagnostics) == list(DIAGNOSTICS)
    assert on.diagnostics == on.history[on.best_epoch - 1].diagnostics


def test_the_trial_table_carries_every_diagnostic_in_the_printed_order():
    from mmrest.trial_table import DIAGNOSTIC_COLUMNS

    assert tuple(DIAGNOSTICS) == DIAGNOSTIC_COLUMNS
