"""`mmrest-study analyze` end to end on a tiny study with the real Ray runtime and Optuna journal:
the analysis stage in the trials table, the analysis file, recomputation without training, the
refusals that write nothing, --redo, and the report's three sections in a real Chromium. The
study's own trials are recorded through the engine's planning and recording code with made-up
results (tests/fixtures/simulated_study.py; `run` has its own end-to-end tests); the analysis
trains for real, on the test run's Ray head."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from report_browser import open_page
from simulated_study import gaussian_results, simulate_study
from study_helpers import run_on_head

from mmrest.analysis.outputs import OUTPUTS_FILE, load_outputs
from mmrest.analysis.stage import normal_config, plan_analysis
from mmrest.analysis.store import ANALYSIS_FILE, load_analysis
from mmrest.analysis.variants import FULL, NO_BIAS, NO_MMC, VARIANT_NAMES
from mmrest.cli import main
from mmrest.config import STUDY_HYPERPARAMETERS, make_config, study_values
from mmrest.metrics import METRIC_NAMES, msa_metrics
from mmrest.report.build import compute_report
from mmrest.study.folder import StudyFolder
from mmrest.study.results import StudyResults
from mmrest.study.spec import validate_spec
from mmrest.study.status import StageCounts
from mmrest.trial_table import StageFacts

pytestmark = pytest.mark.slow

SPEC = {
    "name": "tiny",
    "dataset": {"synthetic": "mosi", "seed": 0,
                "sizes": {"train": 64, "valid": 32, "test": 32, "text_len": 8, "text_dim": 16,
                          "audio_len": 8, "vision_len": 8}},
    "base": "mosi",
    # A large learning rate, so that two epochs move the variants apart.
    "train": {"max_epochs": 2, "patience": 2, "lr": 3e-3},
    "seeds": [1, 2],
    "objective": {"metric": "valid_mae", "mode": "min"},
    "stages": [{"name": "coarse", "design": "one_at_a_time", "params": {"gamma": [0.0, 0.5]}}],
    "resources": {"cpu": 1, "gpu": 0},
    "max_concurrent": 2,
}
CONFIG = {**normal_config(study_values(make_config("mosi"))), "gamma": 0.5, "xi": 2.0}


@pytest.fixture(scope="module")
def studied(tmp_path_factory, ray_head) -> Path:
    """The tiny study, its trials recorded with made-up results (gamma = 0 best, so that the
    report's choice is another configuration than CONFIG), then analysed through the CLI on the
    test run's Ray head for CONFIG (given as the report's YAML block)."""
    root = tmp_path_factory.mktemp("analyze")
    folder = StudyFolder(root / "studies" / "tiny")
    spec = validate_spec(SPEC, source="tiny.yaml")
    assert simulate_study(spec, folder, gaussian_results(lambda p: -10.0 * (p["gamma"] == 0.0), sd=0.1)) == 6
    config = root / "chosen.yaml"
    config.write_text(yaml.safe_dump({"base": "mosi", "train": CONFIG}))
    run = run_on_head("analyze", str(folder.root), "--config", str(config), "--ray-address", ray_head)
    assert run.returncode == 0, run.stdout + run.stderr
    return folder.root


def test_the_analysis_stage_is_recorded_like_any_stage(studied):
    trials = StudyResults.open(studied).trials
    rows = trials.loc[trials["stage"] == "analysis"]
    assert sorted(rows["key"]) == sorted(p.key for p in plan_analysis(CONFIG, [1, 2]))
    assert set(rows["design"]) == {"analysis"} and set(rows["state"]) == {"COMPLETE"}
    assert set(rows["varied"]) == set(VARIANT_NAMES)
    for row in rows.itertuples():
        planned = next(p for p in plan_analysis(CONFIG, [1, 2]) if p.key == row.key)
        assert {p: getattr(row, p) for p in STUDY_HYPERPARAMETERS} == pytest.approx(planned.point)
        outputs = load_outputs(studied / "trials" / row.key / OUTPUTS_FILE)
        # What Optuna recorded is what the saved outputs give.
        assert msa_metrics(outputs.pred, outputs.labels) == pytest.approx({m: getattr(row, f"test_{m}") for m in METRIC_NAMES})
        assert outputs.active.any() == (row.varied != NO_MMC)
    results = StudyResults.open(studied)
    facts = results.facts
    assert facts.stages[-1] == StageFacts("analysis", "analysis", {})
    assert (facts.planned, facts.done, facts.failed) == (12, 12, 0)
    assert results.status().stages["analysis"] == StageCounts(design="analysis", planned=6, done=6, running=0,
                                                             failed=0)
    # The report's tuning numbers leave the analysis stage out.
    assert compute_report(trials, facts).choices.items[0].candidates == 3


def test_the_analysis_file_holds_the_three_analyses(studied):
    a = load_analysis(studied / ANALYSIS_FILE)
    assert a.config == CONFIG and a.config_source.startswith("from ") and a.missing == () and a.notes == ()
    assert [r.variant for r in a.ablation] == list(VARIANT_NAMES) and all(r.seeds == 2 for r in a.ablation)
    trials = StudyResults.open(studied).trials
    full_mae = trials.loc[trials["key"].str.startswith("analysis/full/"), "test_mae"]
    assert a.ablation[0].cell("mae").value.mean == pytest.approx(full_mae.mean())
    by = {(r.variant, r.setting): r for r in a.variance}
    assert by[(NO_MMC, "local")].total is None and by[(NO_MMC, "global")].total is None
    for key in [(FULL, "local"), (FULL, "global"), (FULL, "euclidean"), (NO_BIAS, "local"), (NO_MMC, "euclidean")]:
        r = by[key]
        assert r.total.n == 2 and r.total.mean == pytest.approx(r.between.mean + r.within.mean, rel=1e-12)
    assert len(a.cases.cases) == 6 and a.cases.samples == 32
    full, no_bias, _ = a.cases.cases[0].predictions
    assert full.prediction.mean != no_bias.prediction.mean  # gamma 0.5 vs 0 changes the prediction
    assert all(c.text.startswith("synthetic test clip") for c in a.cases.cases)


def test_a_second_run_trains_nothing_and_recomputes_the_same(studied, capsys):
    before = load_analysis(studied / ANALYSIS_FILE)
    npz = studied / "trials" / "analysis" / "full" / "seed=1" / OUTPUTS_FILE
    stamp = npz.stat().st_mtime_ns
    (studied / ANALYSIS_FILE).unlink()
    config = studied.parent.parent / "chosen.yaml"
    assert main(["analyze", str(studied), "--config", str(config)]) == 0
    assert main(["analyze", str(studied), "--config", str(config), "--no-train"]) == 0
    out = capsys.readouterr().out
    assert "stage 'analysis'" not in out and "[analysis] start" not in out
    assert load_analysis(studied / ANALYSIS_FILE) == before and npz.stat().st_mtime_ns == stamp
    assert len(StudyResults.open(studied).trials.query("stage == 'analysis'")) == 6


def test_an_analysis_with_nothing_to_train_needs_no_ray(studied):
    # A trained study copied to a laptop: recomputing its analysis asks nothing of Ray.
    config = studied.parent.parent / "chosen.yaml"
    assert main(["analyze", str(studied), "--config", str(config), "--ray-address", "127.0.0.1:9"]) == 0


def _snapshot(study: Path) -> dict[str, bytes]:
    return {str(p.relative_to(study)): p.read_bytes() for p in sorted(study.rglob("*"))
            if p.is_file() and "ray" not in p.parts}


@pytest.mark.parametrize("extra, message", [
    (["--redo", "--no-train"], "--redo discards the analysis stage"),
    (["--config", "{missing}"], "no such file"),
    (["--config", "{bad}"], "unknown key(s) lr"),
    ([], "its analysis stage was trained for k=7, v1=0.8, v2=1, xi=2, alpha=1, gamma=0.5"),
])
def test_bad_input_is_refused_and_writes_nothing(studied, tmp_path, capsys, extra, message):
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: {k: 5, lr: 0.1}\n")
    extra = [e.format(missing=tmp_path / "absent.yaml", bad=bad) for e in extra]
    before = _snapshot(studied)
    assert main(["analyze", str(studied), *extra]) == 2
    assert message in capsys.readouterr().err
    assert _snapshot(studied) == before


def test_redo_trains_the_reports_choice_again(studied, tmp_path, ray_head):
    copy = tmp_path / "tiny"
    shutil.copytree(studied, copy, ignore=shutil.ignore_patterns("ray"))
    run = run_on_head("analyze", str(copy), "--redo", "--ray-address", ray_head)
    assert run.returncode == 0, run.stdout + run.stderr
    results = StudyResults.open(copy)
    chosen = normal_config(compute_report(results.trials, results.facts).choices.config)
    a = load_analysis(copy / ANALYSIS_FILE)
    assert a.config == chosen != CONFIG and a.config_source == "the report's choice, rule mean_rank"
    rows = StudyResults.open(copy).trials.query("stage == 'analysis'")
    assert len(rows) == 6 and rows["gamma"].max() == chosen["gamma"]
    # The original study is untouched.
    assert load_analysis(studied / ANALYSIS_FILE).config == CONFIG


def test_the_report_shows_the_three_sections(studied, tmp_path, browser):
    out = tmp_path / "tiny.html"
    assert main(["report", str(studied), "-o", str(out)]) == 0
    page_text = out.read_text(encoding="utf-8")
    for section in ("ablation", "variance", "cases"):
        assert f'<section id="{section}">' in page_text
    assert "another configuration than the one section" in page_text  # the report now picks another gamma
    page = open_page(browser, out, ready=(
        "['fig4-plot', 'ablation-plot', 'variance-plot'].every(id => "
        "document.getElementById(id).querySelector('.main-svg'))"))
    assert page.log.problems() == [] and page.log.external_requests(page.url) == []
    bars = page.evaluate("[...document.getElementById('variance-plot').querySelectorAll('.cartesianlayer > .subplot')]"
                         ".map(s => s.querySelectorAll('.barlayer .point path').length)")
    assert bars == [4, 4, 6]
    # The ablation forest: the two variants' differences to the full model, one point each.
    points = page.evaluate("document.querySelectorAll('#ablation-plot .scatterlayer .point').length")
    assert points == 2
    rows = page.evaluate("document.querySelectorAll('#case-table tr').length")
    assert rows == 1 + 6 * 3
    assert json.loads((studied / ANALYSIS_FILE).read_text())["study"] == "tiny"
    assert np.isfinite(load_analysis(studied / ANALYSIS_FILE).variance[0].total.mean)
