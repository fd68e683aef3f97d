"""Where a study's model stands against its floor, and the sentence that says a flat curve cannot
tell whether a part of the model would help when that part carried almost none of the gradient."""
from html import unescape

import pytest
from trial_tables import PAPER, facts, oat_stage, table, trial

from mmrest.metrics import METRIC_NAMES
from mmrest.report.build import build_report, compute_report
from mmrest.training.floor import MEAN, RIDGE_ALL, Floor, FloorEntry


def _floor(mae: float) -> Floor:
    metrics = {m: 50.0 for m in METRIC_NAMES} | {"mae": mae}
    return Floor("cls", (1.0,), (FloorEntry(MEAN, (), None, metrics, metrics),
                                 FloorEntry(RIDGE_ALL, ("text",), 1.0, metrics, metrics)))


def _study(share: float):
    shares = {"grad_share_mmc": share, "pdlf_share": 0.2}
    rows = [trial(varied="base", seed=s, valid={"mae": 0.75 + 0.001 * s}, diagnostics=shares) for s in (1, 2, 3)]
    rows += [trial(varied="eta", eta=0.1, seed=s, valid={"mae": 0.75 + 0.001 * (4 - s)}, diagnostics=shares)
             for s in (1, 2, 3)]
    trials = table(rows)
    return trials, facts([oat_stage(eta=[0.01, 0.1])], trials, seeds=(1, 2, 3))


def test_a_model_below_its_floor_says_so_at_the_top(tmp_path):
    trials, raw = _study(0.3)
    page = build_report(trials, raw, tmp_path / "r.html", floor=_floor(0.70)).read_text(encoding="utf-8")
    assert '<p class="partial" id="below-floor"><b>This model does not beat its floor.</b>' in page
    assert page.index('id="below-floor"') < page.index("<nav>")
    report = compute_report(trials, raw, floor=_floor(0.70))
    assert report.standing.beats_floor is False and report.standing.floor_name == RIDGE_ALL
    assert report.standing.best_mean == pytest.approx(0.752)  # both points average 0.752
    assert 'id="floor-gap"' in page and "a gap of 0.052" in unescape(page)


def test_a_model_above_its_floor_has_no_banner(tmp_path):
    trials, raw = _study(0.3)
    page = build_report(trials, raw, tmp_path / "r.html", floor=_floor(0.90)).read_text(encoding="utf-8")
    assert 'id="below-floor"' not in page
    assert compute_report(trials, raw, floor=_floor(0.90)).standing.beats_floor is True
    assert compute_report(trials, raw).standing.beats_floor is None  # no floor, no verdict


def test_a_flat_curve_whose_part_carried_little_gradient_says_it_cannot_tell(tmp_path):
    trials, raw = _study(0.008)
    report = compute_report(trials, raw)
    assert report.verdicts.curve("eta", "mae").verdict != "differs"
    (note,) = report.standing.notes
    assert "L_MMC carries 0.8 % of the gradient at the base point: the curve cannot tell whether L_MMC would help" in note
    page = build_report(trials, raw, tmp_path / "r.html").read_text(encoding="utf-8")
    assert note in unescape(page)
    # The chosen configuration ran as one point: its diagnostics are stated in the facts.
    assert report.standing.chosen_diagnostics["grad_share_mmc"] == pytest.approx(0.008)


def test_enough_gradient_and_no_sentence():
    trials, raw = _study(0.3)
    assert compute_report(trials, raw).standing.notes == ()
    assert PAPER["eta"] == 0.01


def _k_curve(diagnostics_at):
    """A k curve (base k = 7, levels 3 and 12) whose trials carry the given cluster diagnostics."""
    rows = []
    for k in (7, 3, 12):
        varied = "base" if k == 7 else "k"
        rows += [trial(varied=varied, k=k, seed=s, valid={"mae": 0.75 + 0.001 * s}, diagnostics=diagnostics_at(k))
                 for s in (1, 2, 3)]
    trials = table(rows)
    return compute_report(trials, facts([oat_stage(k=[3, 7, 12])], trials, seeds=(1, 2, 3)))


def test_a_curve_over_clusters_that_hold_nothing_says_it_cannot_tell(tmp_path):
    blob = {"state_cluster_size_max": 0.95, "state_nmi_bins": 0.02, "state_nmi_modality": 0.3}
    by_modality = {"state_cluster_size_max": 0.4, "state_nmi_bins": 0.02, "state_nmi_modality": 0.3}
    healthy = {"state_cluster_size_max": 0.4, "state_nmi_bins": 0.2, "state_nmi_modality": 0.05}
    report = _k_curve(lambda k: blob if k == 7 else by_modality if k == 3 else healthy)
    notes = [n for n in report.standing.notes if n.startswith("The k curve")]
    assert notes == ["The k curve (coarse): at 2 of its 3 points the clusters were one blob (the largest held 95 % "
                     "of the rows): the curve cannot tell what the local metrics would do."]
    assert _k_curve(lambda k: healthy).standing.notes == ()
    # Language-only data has no modality NMI: only a blob speaks then.
    one_modality = {**by_modality, "state_nmi_modality": float("nan")}
    assert _k_curve(lambda k: one_modality).standing.notes == ()


def test_the_ablations_say_so_when_the_full_models_clusters_were_one_blob():
    from mmrest.report.standing import _ablation_notes

    blob = {"state_cluster_size_max": 0.97, "state_nmi_bins": 0.01, "state_nmi_modality": float("nan"),
            "grad_share_mmc": 0.3, "pdlf_share": 0.2}
    rows = [trial(stage="analysis", design="analysis", varied="full", seed=s, diagnostics=blob) for s in (1, 2)]
    (note,) = _ablation_notes(table(rows))
    assert note == ("In the full model the clusters were one blob (the largest held 97 % of the rows) (mean over its "
                    "seeds): the variant without L_MMC cannot tell what the local metrics would do.")
