"""The shipped specs in search_spaces/ load, validate and plan: the MOSI and MOSEI grids in the
paper's setting (fine-tuned BERT from a local folder) and on frozen features bracket the paper's
value of every one of the seven hyperparameters and race their seeds; the demo races on synthetic
data. Without a BERT folder the paper-setting grids are refused, naming bert_path."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mmrest.cli import main
from mmrest.config import PRESETS, STUDY_HYPERPARAMETERS
from mmrest.study.planner import base_point, plan_stage
from mmrest.study.spec import load_spec

SPACES = Path(__file__).resolve().parents[2] / "search_spaces"
GRIDS = [("mosi_grid", "mosi", "bert"), ("mosei_grid", "mosei", "bert"),
         ("mosi_grid_frozen", "mosi_frozen", "features"), ("mosei_grid_frozen", "mosei", "features")]


@pytest.mark.parametrize("name, preset, backend", GRIDS)
def test_grid_specs_bracket_the_paper_values_and_race(name, preset, backend, tiny_bert_dir):
    raw = yaml.safe_load((SPACES / f"{name}.yaml").read_text())
    data = "data/MOSEI/unaligned_50.pkl" if "mosei" in name else "data/MOSI/unaligned_50.pkl"
    assert raw["dataset"] == {"path": data} and raw["train"]["text_backend"] == backend
    # The dataset file is not in the repository; the rest of the spec is checked as is.
    sets = [f"dataset={{synthetic: {preset.removesuffix('_frozen')}}}"]
    if backend == "bert":
        assert raw["train"]["bert_path"] == "models/bert-base-uncased" and raw["train"]["bert_lr"] == 5e-5
        sets.append(f"train.bert_path={tiny_bert_dir}")
    spec = load_spec(SPACES / f"{name}.yaml", sets)
    assert spec.name == name and spec.base == preset
    assert (spec.racing.start, spec.racing.max, len(spec.seed_list)) == (3, 10, 10)
    assert (spec.objective.metric, spec.objective.mode) == ("valid_mae", "min")
    coarse, fine = spec.stages
    assert set(coarse.params) == set(STUDY_HYPERPARAMETERS)
    # The seven hyperparameters bracket the paper's values; the k-means mode compares the release's
    # per-batch restarts (1) with ours (the base's warm start, 0).
    assert coarse.params["kmeans_mode"] == [1] and base_point(spec)["kmeans_mode"] == 0
    for param, values in coarse.params.items():
        if param != "kmeans_mode":
            assert min(values) < PRESETS[preset][param] < max(values), param
    assert fine.refine.source == "coarse" and fine.refine.points >= 2
    # One-at-a-time: the base point once plus every listed value (none is the paper's), 3 seeds to start.
    points = 1 + sum(len(v) for v in coarse.params.values())
    assert len(plan_stage(spec, coarse)) == points * 3


@pytest.mark.parametrize("name", ["mosi_grid", "mosei_grid"])
def test_the_paper_setting_without_a_bert_folder_is_refused(name, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no models/bert-base-uncased here
    code = main(["run", str(SPACES / f"{name}.yaml"), "--dry-run", "--set", "dataset={synthetic: mosi}"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"bert_path = '{tmp_path / 'models' / 'bert-base-uncased'}' is not a model folder" in err
    assert "on a machine with internet" in err and "save_pretrained" in err
    assert not (tmp_path / "studies").exists()


def test_demo_races_on_synthetic_data_two_at_a_time():
    spec = load_spec(SPACES / "demo.yaml")
    assert spec.dataset.synthetic == "mosi" and spec.max_concurrent == 2
    assert spec.racing is not None and spec.racing.start == 3 and spec.racing.max > spec.racing.start
    assert spec.stages[1].refine is not None
    gamma = spec.stages[0].params["gamma"]
    assert max(gamma) / PRESETS["mosi"]["gamma"] >= 20  # wide enough for the curve to move
    assert len(plan_stage(spec, spec.stages[0])) == 11 * 3
