"""The shipped specs in search_spaces/ load, validate and plan; the MOSI and MOSEI grids bracket
the paper's value of every one of the seven hyperparameters."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mmrest.config import PRESETS, STUDY_HYPERPARAMETERS
from mmrest.study.planner import plan_stage
from mmrest.study.spec import load_spec

SPACES = Path(__file__).resolve().parents[2] / "search_spaces"


@pytest.mark.parametrize("name, preset, data", [("mosi_grid", "mosi", "data/MOSI/unaligned_50.pkl"),
                                                ("mosei_grid", "mosei", "data/MOSEI/unaligned_50.pkl")])
def test_grid_specs_bracket_the_paper_values(name, preset, data):
    assert yaml.safe_load((SPACES / f"{name}.yaml").read_text())["dataset"] == {"path": data}
    # The dataset file is not in the repository; the rest of the spec is checked as is.
    spec = load_spec(SPACES / f"{name}.yaml", [f"dataset={{synthetic: {preset}}}"])
    assert spec.name == name and spec.base == preset and len(spec.seeds) == 3
    assert (spec.objective.metric, spec.objective.mode) == ("valid_mae", "min")
    coarse, fine = spec.stages
    assert set(coarse.params) == set(STUDY_HYPERPARAMETERS)
    for param, values in coarse.params.items():
        assert min(values) < PRESETS[preset][param] < max(values), param
    assert fine.refine.source == "coarse" and fine.refine.points >= 2
    # One-at-a-time: the base point once plus every listed value (none is the paper's).
    points = 1 + sum(len(v) for v in coarse.params.values())
    assert len(plan_stage(spec, coarse)) == points * 3


def test_demo_runs_on_synthetic_data_two_at_a_time():
    spec = load_spec(SPACES / "demo.yaml")
    assert spec.dataset.synthetic == "mosi" and spec.max_concurrent == 2
    assert spec.stages[1].refine is not None
    gamma = spec.stages[0].params["gamma"]
    assert max(gamma) / PRESETS["mosi"]["gamma"] >= 20  # wide enough for the curve to move
    assert len(plan_stage(spec, spec.stages[0])) == 33
