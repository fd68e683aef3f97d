"""The three analyses together, their JSON file, and reading what a trial saved: hand-made outputs
for the numbers, one real training run for the file contract between trainer and analysis."""
import json

from dataclasses import asdict

import numpy as np
import pytest
import torch

from mmrest.analysis.ablation import REFERENCE
from mmrest.analysis.outputs import OUTPUTS_FILE, ModelOutputs, load_outputs
from mmrest.analysis.store import load_analysis, load_analysis_if_any, save_analysis
from mmrest.analysis.summary import CaseOptions, Run, compute_analysis
from mmrest.analysis.variance import EUCLIDEAN, LOCAL, NO_CLUSTERS, variance_settings
from mmrest.analysis.variants import FULL, NO_BIAS, NO_MMC, VARIANT_NAMES
from mmrest.config import make_config, study_values
from mmrest.data.synthetic import synthetic_dataset
from mmrest.errors import InputError
from mmrest.metrics import msa_metrics
from mmrest.training import train

PAPER = {p: float(v) for p, v in study_values(make_config("mosi")).items()}


def outputs(seed: int, *, clusters: bool, n: int = 12, d: int = 4, k: int = 3) -> ModelOutputs:
    labels = np.round(np.random.default_rng(0).uniform(-3, 3, n), 1)  # one test set for every model
    rng = np.random.default_rng(seed)
    return ModelOutputs(
        ids=tuple(f"clip{i}" for i in range(n)), labels=labels, pred=labels + rng.normal(0, 0.5, n),
        z=rng.normal(size=(n, 3, d)), M0=np.eye(d) * 1.5, dM=np.stack([np.eye(d) * (i + 1) for i in range(k)]),
        centers=rng.normal(size=(k, d)), active=np.array([clusters, clusters, False]),
    )


def runs() -> list[Run]:
    return [
        Run(FULL, 1, outputs(1, clusters=True)), Run(FULL, 2, outputs(2, clusters=True)),
        Run(NO_BIAS, 1, outputs(3, clusters=True)), Run(NO_BIAS, 2, outputs(4, clusters=True)),
        Run(NO_MMC, 2, outputs(5, clusters=False)),  # seed 1 of this variant failed
    ]


def analyse(config=PAPER, **kw):
    return compute_analysis(runs(), study="hand", config=config, config_source="paper", beta=0.01,
                            seeds=(1, 2), texts={"clip3": "hello"}, cases=CaseOptions(1, 1, 1, 0), **kw)


def test_the_three_analyses_from_hand_made_outputs():
    a = analyse()
    assert a.missing == ("no_mmc_no_bias, seed 1",)
    assert [r.variant for r in a.ablation] == list(VARIANT_NAMES)
    full = a.ablation[0]
    expected = [msa_metrics(o.pred, o.labels)["mae"] for o in (outputs(1, clusters=True), outputs(2, clusters=True))]
    assert full.cell("mae").value.mean == pytest.approx(np.mean(expected)) and full.cell("mae").verdict == REFERENCE
    no_mmc_local = next(r for r in a.variance if r.variant == NO_MMC and r.setting == LOCAL)
    assert no_mmc_local.total is None and no_mmc_local.reason == NO_CLUSTERS
    full_local = next(r for r in a.variance if r.variant == FULL and r.setting == LOCAL)
    one = variance_settings(**{k: getattr(outputs(1, clusters=True), k) for k in ("z", "labels", "M0", "dM", "centers", "active")}, beta=0.01)
    two = variance_settings(**{k: getattr(outputs(2, clusters=True), k) for k in ("z", "labels", "M0", "dM", "centers", "active")}, beta=0.01)
    assert full_local.total.mean == pytest.approx((one[0].decomposition.total + two[0].decomposition.total) / 2)
    assert next(r for r in a.variance if r.variant == NO_MMC and r.setting == EUCLIDEAN).total.n == 1
    assert len(a.cases.cases) == 3 and [p.variant for p in a.cases.cases[0].predictions] == list(VARIANT_NAMES)
    assert a.notes == ()


def test_a_configuration_without_bias_says_which_variants_coincide():
    notes = analyse(config={**PAPER, "gamma": 0.0}).notes
    assert len(notes) == 1 and "w/ L_MMC, w/o bias" in notes[0] and "gamma = 0" in notes[0]


def test_no_full_model_no_analysis():
    with pytest.raises(ValueError, match="no full-model run"):
        compute_analysis([Run(NO_BIAS, 1, outputs(1, clusters=True))], study="x", config=PAPER,
                         config_source="paper", beta=0.01, seeds=(1,))


def test_json_round_trip_keeps_every_number(tmp_path):
    a = analyse()
    path = save_analysis(a, tmp_path / "analysis.json")
    # assert_equal: NaN equals NaN (a paired interval with one seed is undefined)
    np.testing.assert_equal(asdict(load_analysis(path)), asdict(a))
    np.testing.assert_equal(asdict(load_analysis_if_any(tmp_path)), asdict(a))
    assert load_analysis_if_any(tmp_path / "elsewhere") is None


def test_undefined_metrics_survive_as_nan(tmp_path):
    flat = [Run(FULL, 1, outputs(1, clusters=True))]
    o = flat[0].outputs
    flat = [Run(FULL, 1, ModelOutputs(**{**o.__dict__, "labels": np.zeros(12), "pred": np.zeros(12)}))]
    a = compute_analysis(flat, study="x", config=PAPER, config_source="paper", beta=0.01, seeds=(1,))
    assert np.isnan(a.ablation[0].cell("acc2_non0").value.mean)  # no non-zero label
    back = load_analysis(save_analysis(a, tmp_path / "a.json"))
    assert np.isnan(back.ablation[0].cell("acc2_non0").value.mean)


def test_a_damaged_analysis_file_is_an_input_error_naming_the_key(tmp_path):
    path = save_analysis(analyse(), tmp_path / "analysis.json")
    raw = json.loads(path.read_text())
    raw["ablation"][0]["cells"][0]["value"]["mean"] = "many"
    path.write_text(json.dumps(raw))
    with pytest.raises(InputError, match=r"analysis.json: key 'ablation.0.cells.0.value.mean'.*analyze --no-train"):
        load_analysis(path)
    path.write_text("{not json")
    with pytest.raises(InputError, match="cannot read it"):
        load_analysis(path)


def test_bad_outputs_files_are_input_errors_naming_the_file(tmp_path):
    with pytest.raises(InputError, match="missing; the trial"):
        load_outputs(tmp_path / OUTPUTS_FILE)
    o = outputs(1, clusters=True)
    np.savez(tmp_path / "short.npz", ids=np.asarray(o.ids), labels=o.labels)
    with pytest.raises(InputError, match=r"short.npz: lacks pred, z, M0, dM, centers, active"):
        load_outputs(tmp_path / "short.npz")
    np.savez(tmp_path / "shape.npz", **{**o.__dict__, "ids": np.asarray(o.ids), "pred": o.pred[:5]})
    with pytest.raises(InputError, match=r"shape.npz: inconsistent arrays \(pred has shape \(5,\), expected \(12,\)\)"):
        load_outputs(tmp_path / "shape.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(InputError, match="junk.npz: not a readable .npz file"):
        load_outputs(tmp_path / "junk.npz")


def test_outputs_name_the_modalities_of_their_rows(tmp_path):
    o = outputs(1, clusters=True)
    arrays = {**o.__dict__, "ids": np.asarray(o.ids)}
    np.savez(tmp_path / "text.npz", **{**arrays, "z": o.z[:, :1], "modalities": np.asarray(["text"])})
    assert load_outputs(tmp_path / "text.npz").z.shape == (12, 1, 4)
    # Files from before absent modalities were left out of z have no names: all three rows.
    np.savez(tmp_path / "old.npz", **arrays)
    assert load_outputs(tmp_path / "old.npz").z.shape == (12, 3, 4)
    np.savez(tmp_path / "wrong.npz", **{**arrays, "modalities": np.asarray(["text"])})
    with pytest.raises(InputError, match=r"wrong.npz: inconsistent arrays \(z has shape \(12, 3, 4\), expected \(12, 1, 4\)\)"):
        load_outputs(tmp_path / "wrong.npz")


@pytest.mark.slow
def test_what_the_trainer_saves_is_what_the_analysis_reads(tmp_path):
    torch.set_num_threads(1)
    data = synthetic_dataset("mosi", seed=0, cache_dir=tmp_path, train=64, valid=32, test=24, text_len=4,
                             text_dim=16, audio_len=5, vision_len=5)
    cfg = make_config("mosi", {"batch_size": 32, "max_epochs": 2, "lr": 1e-3, "seed": 5})
    result = train(cfg, data, out_dir=tmp_path / "trial")
    o = load_outputs(tmp_path / "trial" / OUTPUTS_FILE)
    assert o.ids == tuple(data.test.ids) and o.z.shape == (24, 3, cfg.d1) and o.dM.shape == (cfg.k, cfg.d1, cfg.d1)
    assert o.active.any() and msa_metrics(o.pred, o.labels) == result.test
    for s in variance_settings(o.z, o.labels, M0=o.M0, dM=o.dM, centers=o.centers, active=o.active, beta=cfg.beta):
        d = s.decomposition
        assert d.rows == 72 and d.total == pytest.approx(d.between + d.within, rel=1e-12)
