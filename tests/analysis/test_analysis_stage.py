"""The analysis stage's plan, the --config file, the guard against mixing configurations, and
reading the trained models back from the trials table and trial folders."""
import numpy as np
import pandas as pd
import pytest

from mmrest.analysis.outputs import OUTPUTS_FILE
from mmrest.analysis.stage import (
    check_same_config, completed_runs, normal_config, plan_analysis, read_config_file, recorded_config,
)
from mmrest.config import STUDY_HYPERPARAMETERS, make_config, study_values
from mmrest.errors import InputError

PAPER = normal_config(study_values(make_config("mosi")))


def test_plan_every_variant_once_per_seed_seed_major():
    plan = plan_analysis({**PAPER, "gamma": 0.1}, [11, 12])
    assert [p.key for p in plan] == [
        "analysis/full/seed=11", "analysis/no_bias/seed=11", "analysis/no_mmc_no_bias/seed=11",
        "analysis/full/seed=12", "analysis/no_bias/seed=12", "analysis/no_mmc_no_bias/seed=12"]
    assert {(p.stage, p.design) for p in plan} == {("analysis", "analysis")}
    assert [p.varied for p in plan[:3]] == ["full", "no_bias", "no_mmc_no_bias"]
    full, no_bias, no_mmc = (p.point for p in plan[:3])
    assert full == {**PAPER, "gamma": 0.1}
    assert no_bias == {**PAPER, "gamma": 0.0}
    assert no_mmc == {**PAPER, "gamma": 0.0, "eta": 0.0}


def test_config_file_in_the_reports_format_or_plain(tmp_path):
    block = tmp_path / "chosen.yaml"
    block.write_text("# chosen by rule 'mean_rank'\nbase: mosi\ntrain:\n  k: 5\n  xi: 2.5\n")
    config, filled = read_config_file(block, PAPER)
    assert config == {**PAPER, "k": 5, "xi": 2.5} and isinstance(config["k"], int)
    assert filled == ["v1", "v2", "alpha", "gamma", "eta", "kmeans_mode"]
    plain = tmp_path / "plain.yaml"
    plain.write_text("\n".join(f"{p}: 2" for p in STUDY_HYPERPARAMETERS if p != "kmeans_mode") + "\nkmeans_mode: restart")
    config, filled = read_config_file(plain, PAPER)
    assert config == {**{p: 2 if p == "k" else 2.0 for p in STUDY_HYPERPARAMETERS}, "kmeans_mode": 1} and filled == []


@pytest.mark.parametrize("text, message", [
    ("train:\n  k: 5\n  lr: 0.1\n", r"chosen.yaml: train: unknown key\(s\) lr; the analysis sets only k, v1"),
    ("xi: many\n", r"chosen.yaml.xi = 'many': must be a finite number"),
    ("gamma: .nan\n", r"gamma = nan: must be a finite number"),
    ("- 1\n- 2\n", "expected a mapping of hyperparameters"),
    ("k: [1\n", "not valid YAML"),
    ("kmeans_mode: cold\n", r"chosen.yaml.kmeans_mode = 'cold': must be one of warm, restart"),
])
def test_bad_config_files_name_the_key(tmp_path, text, message):
    path = tmp_path / "chosen.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        read_config_file(path, PAPER)
    with pytest.raises(InputError, match="no such file"):
        read_config_file(tmp_path / "absent.yaml", PAPER)


def _table(config, states=("COMPLETE",) * 6, seeds=(1, 2)):
    rows = [
        {"stage": "coarse", "key": "coarse/base/seed=1", "state": "COMPLETE", "varied": "base", "seed": 1, **PAPER},
    ]
    for planned, state in zip(plan_analysis(config, list(seeds)), states):
        rows.append({"stage": "analysis", "key": planned.key, "state": state, "varied": planned.varied,
                     "seed": planned.seed, **planned.point})
    return pd.DataFrame(rows)


def test_the_recorded_configuration_guards_against_mixing():
    config = {**PAPER, "alpha": 0.5}
    trials = _table(config)
    assert recorded_config(trials) == config
    assert recorded_config(trials.loc[trials["stage"] != "analysis"]) is None
    check_same_config(trials, config, where="studies/x")
    with pytest.raises(InputError, match=r"studies/x: its analysis stage was trained for k=7, v1=0.8, v2=1, "
                                         r"xi=3, alpha=0.5, gamma=0.05, eta=0.01, kmeans_mode=0, not for .*alpha=1, .*--redo"):
        check_same_config(trials, PAPER, where="studies/x")


def test_completed_runs_read_every_complete_trial(tmp_path):
    trials = _table(PAPER, states=("COMPLETE", "FAIL", "COMPLETE", "COMPLETE", "COMPLETE", "RUNNING"))
    n, d, k = 5, 3, 7
    for key in trials.loc[trials["stage"] == "analysis", "key"]:
        folder = tmp_path / key
        folder.mkdir(parents=True)
        np.savez(folder / OUTPUTS_FILE, ids=np.array([f"c{i}" for i in range(n)]), labels=np.zeros(n),
                 pred=np.ones(n), z=np.zeros((n, 3, d)), M0=np.eye(d), dM=np.stack([np.eye(d)] * k),
                 centers=np.zeros((k, d)), active=np.ones(k, bool))
    runs = completed_runs(trials, lambda key: tmp_path / key)
    assert [(r.variant, r.seed) for r in runs] == [("full", 1), ("no_mmc_no_bias", 1), ("full", 2), ("no_bias", 2)]
    assert runs[0].outputs.ids == tuple(f"c{i}" for i in range(n))
    (tmp_path / "analysis/full/seed=1" / OUTPUTS_FILE).unlink()
    with pytest.raises(InputError, match=r"analysis/full/seed=1/test_outputs.npz: missing"):
        completed_runs(trials, lambda key: tmp_path / key)
