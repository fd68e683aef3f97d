"""Every bad input to `run` exits with code 2, names the file (or the --set) and the key path,
and writes nothing: no studies folder, and an existing study folder is left as it was."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from study_helpers import free_port, tiny_spec, write_spec

from mmrest.cli import main
from mmrest.stats import DEFAULT_MIN_EFFECT
from mmrest.study.spec import load_spec

STAGE = {"name": "coarse", "design": "one_at_a_time", "params": {"k": [3, 5]}}

# (what the spec changes, what the message must say)
BAD_SPECS = {
    "unknown top-level key": ({"seedz": [1]}, "seedz: unknown key"),
    "unknown nested key": ({"resources": {"cpus": 1}}, "resources.cpus: unknown key. Known keys here: cpu, gpu"),
    "unknown hyperparameter": ({"stages": [{**STAGE, "params": {"kappa": [1]}}]},
                               "stages[0].params.kappa: unknown hyperparameter; use one of k, v1, v2, xi, alpha, gamma, eta"),
    "empty grid": ({"stages": [{**STAGE, "params": {"k": []}}]}, "stages[0].params.k: empty grid"),
    "no parameters": ({"stages": [{**STAGE, "params": {}}]}, "stages[0]: empty `params`"),
    "k below 2": ({"stages": [{**STAGE, "params": {"k": [3, 1]}}]},
                  "stages[0].params.k[1] = 1: Input should be greater than or equal to 2"),
    "k not an integer": ({"stages": [{**STAGE, "params": {"k": [2.5]}}]}, "stages[0].params.k[0] = 2.5"),
    "negative weight": ({"stages": [{**STAGE, "params": {"v1": [-1]}}]}, "stages[0].params.v1[0] = -1"),
    "missing dataset": ({"dataset": {"path": "no/such/file.pkl"}}, "/no/such/file.pkl': no such file (relative paths"),
    "two dataset sources": ({"dataset": {"path": "x.pkl", "synthetic": "mosi"}}, "dataset: give exactly one of"),
    "bad synthetic size": ({"dataset": {"synthetic": "mosi", "sizes": {"train": 0}}}, "dataset.sizes"),
    "unknown training option": ({"train": {"max_epoch": 2}}, "train.max_epoch: unknown training option"),
    "training seed": ({"train": {"seed": 3}}, "train.seed: each trial's seed comes from `seeds`"),
    "no seeds": ({"seeds": []}, "seeds = []"),
    "repeated seeds": ({"seeds": [1, 1]}, "seeds = [1, 1]: seeds repeat"),
    "test metric as objective": ({"objective": {"metric": "test_mae"}}, "objective.metric = 'test_mae'"),
    "wrong direction": ({"objective": {"metric": "valid_acc7", "mode": "min"}}, "valid_acc7 is better when higher; use mode: max"),
    "refine of an unknown stage": ({"stages": [STAGE, {"name": "fine", "design": "grid", "refine": {"from": "nope", "points": 2}}]},
                                   "stages[1].refine.from = 'nope': not an earlier stage"),
    "repeated stage name": ({"stages": [STAGE, STAGE]}, "stages[1].name = 'coarse': used by an earlier stage"),
    "tpe without ranges": ({"stages": [{"name": "t", "design": "tpe", "n_trials": 3}]}, "stages[0]: a tpe stage needs `ranges`"),
    "bad preset": ({"base": "cmu"}, "base = 'cmu': unknown preset"),
    "zero concurrency": ({"max_concurrent": 0}, "max_concurrent = 0"),
    "hidden size not d1": ({"train": {"hidden": 32}}, "train: hidden = 32 and d1 = 64 differ"),
    "bert without a folder": ({"train": {"text_backend": "bert"}}, "train: text_backend = bert needs bert_path"),
    "bert folder missing": ({"train": {"text_backend": "bert", "bert_path": "no/such/bert"}},
                            "is not a model folder (no config.json there); on a machine with internet"),
    "analysis stage in the spec": ({"stages": [{"name": "a", "design": "analysis"}]},
                                   "design `analysis` is added by `mmrest-study analyze`"),
    "gpus declared for a cluster": ({"ray": {"address": "auto", "num_gpus": 1}}, "ray: num_gpus declares the GPUs"),
    "min_effect of an unknown metric": ({"min_effect": {"acc8": 1.0}},
                                        "min_effect.acc8: unknown metric; use one of mae, corr, acc7"),
    "negative min_effect": ({"min_effect": {"mae": -0.01}}, "min_effect.mae = -0.01: Input should be greater than or equal to 0"),
    "racing start above max": ({"seeds": {"list": [1, 2, 3, 4], "start": 4, "max": 3}},
                               "seeds: start = 4 exceeds max = 3; lower start or raise max"),
    "racing max beyond the list": ({"seeds": {"list": [1, 2, 3], "start": 2, "max": 5}},
                                   "seeds: max = 5 needs 5 seeds but list has 3; add seeds to list or lower max"),
    "racing list repeats a seed": ({"seeds": {"list": [1, 2, 2, 3], "start": 2, "max": 3}},
                                   "seeds: list repeats seed(s) [2]; list each seed once"),
}


@pytest.mark.parametrize("case", sorted(BAD_SPECS))
def test_bad_spec_exits_2_naming_file_and_key(case, tmp_path, capsys):
    changes, message = BAD_SPECS[case]
    spec = write_spec(tmp_path / "bad.yaml", tiny_spec("bad", **changes))
    studies = tmp_path / "studies"
    assert main(["run", str(spec), "--studies-dir", str(studies)]) == 2
    err = capsys.readouterr().err
    assert f"{spec}: " in err and message in err
    assert not studies.exists()


def test_gpu_trials_on_a_machine_without_gpus_are_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("mmrest.study.runner._local_gpus", lambda: 0)  # whatever this machine has
    spec = write_spec(tmp_path / "gpu.yaml", tiny_spec("gpu", resources={"cpu": 1, "gpu": 0.5}))
    assert main(["run", str(spec), "--studies-dir", str(tmp_path / "studies")]) == 2
    assert "resources.gpu = 0.5, but this machine has no GPU that Ray can see" in capsys.readouterr().err
    assert not (tmp_path / "studies").exists()
    # Declaring the local runtime's GPUs (ray.num_gpus) is the way out where Ray cannot see them.
    declared = write_spec(tmp_path / "declared.yaml", tiny_spec("gpu", resources={"cpu": 1, "gpu": 0.5},
                                                                ray={"num_gpus": 1}))
    assert main(["run", str(declared), "--studies-dir", str(tmp_path / "studies"), "--dry-run"]) == 0


def test_studies_dir_that_is_a_file(tmp_path, capsys):
    spec = write_spec(tmp_path / "ok.yaml", tiny_spec("ok"))
    blocker = tmp_path / "studies"
    blocker.write_text("not a folder")
    assert main(["run", str(spec), "--studies-dir", str(blocker)]) == 2
    assert f"--studies-dir {blocker}: is a file" in capsys.readouterr().err
    assert blocker.read_text() == "not a folder"


def test_malformed_yaml(tmp_path, capsys):
    spec = tmp_path / "broken.yaml"
    spec.write_text("name: x\nstages: [\n")
    assert main(["run", str(spec), "--studies-dir", str(tmp_path / "studies")]) == 2
    assert f"{spec}: not valid YAML (line 3, column 1)" in capsys.readouterr().err
    assert not (tmp_path / "studies").exists()


def test_missing_spec_file(tmp_path, capsys):
    assert main(["run", str(tmp_path / "none.yaml")]) == 2
    assert "none.yaml: no such spec file" in capsys.readouterr().err


@pytest.mark.parametrize("flag, message", [
    ("train.max_epochs", "expected KEY=VALUE"),
    ("train.max_epochs=0", "--set train.max_epochs=0: train.max_epochs = 0: Input should be greater than or equal to 1"),
    ("train.max_epoch=3", "--set train.max_epoch=3: train.max_epoch: unknown training option"),
    ("seeds=[1", "the value is not valid YAML"),
    ("stages.4.name=x", "stages is a list of 1; index it with 0..0"),
    ("stages.0.params.k=[1]", "--set stages.0.params.k=[1]: stages[0].params.k[0] = 1"),
    ("name.first=x", "name is a value, not a section"),
])
def test_bad_set_exits_2(flag, message, tmp_path, capsys):
    spec = write_spec(tmp_path / "ok.yaml", tiny_spec("ok"))
    assert main(["run", str(spec), "--studies-dir", str(tmp_path / "studies"), "--set", flag]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "studies").exists()


def test_set_overrides_are_applied_and_validated(tmp_path):
    spec = write_spec(tmp_path / "ok.yaml", tiny_spec("ok"))
    loaded = load_spec(spec, ["train.max_epochs=5", "seeds=[4]", "ray.address=auto", "stages.0.params.k=[3, 4]"])
    assert loaded.train["max_epochs"] == 5 and loaded.seeds == [4] and loaded.ray.address == "auto"
    assert loaded.stages[0].params == {"k": [3, 4], "gamma": [0, 0.5]}


def test_min_effect_defaults_and_one_override(tmp_path):
    spec = write_spec(tmp_path / "ok.yaml", tiny_spec("ok"))
    assert load_spec(spec).min_effect == {**DEFAULT_MIN_EFFECT}
    loaded = load_spec(spec, ["min_effect.acc7=2"])
    assert loaded.min_effect == {**DEFAULT_MIN_EFFECT, "acc7": 2.0}


def test_racing_seeds_start_with_start_and_plan_the_worst_case(tmp_path, capsys):
    spec = write_spec(tmp_path / "race.yaml", tiny_spec("race", seeds={"list": [1, 2, 3, 4, 5], "start": 2, "max": 4}))
    loaded = load_spec(spec)
    assert (loaded.seed_list, loaded.start_seeds, loaded.max_seeds) == ([1, 2, 3, 4, 5], [1, 2], [1, 2, 3, 4])
    assert main(["run", str(spec), "--studies-dir", str(tmp_path / "studies"), "--dry-run"]) == 0
    # base + k 3, 5 + gamma 0, 0.5: 5 points x 2 seeds at the start, at most 5 x 4.
    assert "5 points race from 2 to 4 seeds: 10 trials at the start, at most 20" in capsys.readouterr().out
    assert not (tmp_path / "studies").exists()


def test_unreachable_storage_url(tmp_path, capsys):
    url = f"postgresql://mmrest:secret@127.0.0.1:{free_port()}/mmrest"
    spec = write_spec(tmp_path / "pg.yaml", tiny_spec("pg", storage=url))
    assert main(["run", str(spec), "--studies-dir", str(tmp_path / "studies")]) == 2
    err = capsys.readouterr().err
    assert f"{spec}: storage: cannot open the storage postgresql://mmrest:***@127.0.0.1" in err
    assert "secret" not in err
    assert not (tmp_path / "studies").exists()


def test_unreachable_ray_address(tmp_path, capsys):
    spec = write_spec(tmp_path / "ok.yaml", tiny_spec("ok"))
    address = f"127.0.0.1:{free_port()}"
    assert main(["run", str(spec), "--studies-dir", str(tmp_path / "studies"), "--ray-address", address]) == 2
    assert f"--ray-address = '{address}': no Ray cluster answers there" in capsys.readouterr().err
    assert not (tmp_path / "studies").exists()


def test_bad_input_leaves_an_existing_study_untouched(tmp_path, capsys):
    """A study folder from an earlier run (made here by hand: spec.yaml plus a journal) stays
    byte for byte the same through refused runs."""
    spec = write_spec(tmp_path / "ok.yaml", tiny_spec("ok"))
    studies = tmp_path / "studies"
    folder = studies / "ok"
    folder.mkdir(parents=True)
    (folder / "spec.yaml").write_text(Path(spec).read_text())
    (folder / "optuna.journal").write_text("")
    before = {p: p.read_bytes() for p in folder.iterdir()}
    for extra in (["--set", "train.max_epochs=-1"], [], ["--resume", "--set", "seeds=[9]"]):
        assert main(["run", str(spec), "--studies-dir", str(studies), *extra]) == 2
    assert {p: p.read_bytes() for p in folder.iterdir()} == before
    err = capsys.readouterr().err
    assert "pass --resume" in err and "differs from the spec" in err


def test_status_of_a_folder_that_is_no_study(tmp_path, capsys):
    assert main(["status", str(tmp_path)]) == 2
    assert "not a study folder" in capsys.readouterr().err


def test_dry_run_of_a_new_study_writes_nothing(tmp_path, capsys):
    spec = write_spec(tmp_path / "ok.yaml", tiny_spec("ok", stages=[
        {"name": "coarse", "design": "one_at_a_time", "params": {"k": [3, 5], "xi": [1, 10]}},
        {"name": "fine", "design": "one_at_a_time", "refine": {"from": "coarse", "points": 2}},
        {"name": "search", "design": "tpe", "n_trials": 4, "ranges": {"gamma": {"low": 0.01, "high": 1, "log": True}}},
    ]))
    assert main(["run", str(spec), "--studies-dir", str(tmp_path / "studies"), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "stage coarse (one_at_a_time): 5 points x 2 seeds = 10 trials, 10 to run" in out
    assert "stage fine (one_at_a_time): refines coarse (2 new values per parameter); planned when coarse finishes" in out
    assert "stage search (tpe): 4 points x 2 seeds = 8 trials, 8 to run" in out
    assert "per trial: 1 CPU, 0 GPU; up to 2 trials at once" in out
    assert "no estimate until trials have finished" in out
    assert not (tmp_path / "studies").exists()


HEAVY = ("torch", "ray", "scipy.stats", "statsmodels", "pandas", "plotly")
LOADED = (
    "import json, sys\n"
    "from mmrest.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "print(json.dumps({'code': code, 'heavy': [m for m in %r if m in sys.modules]}))\n" % (HEAVY,)
)


@pytest.mark.parametrize("command", [["run"], ["run", "--dry-run"], ["status"]])
def test_a_bad_spec_is_refused_before_any_heavy_import(command, tmp_path):
    """A typo answers at once: the spec is read and refused before torch, Ray, scipy.stats,
    statsmodels, pandas or plotly is imported (each costs a second or more of CPU here)."""
    spec = write_spec(tmp_path / "bad.yaml", tiny_spec("bad", stages=[STAGE], seedz=[1]))
    if command == ["status"]:
        folder = tmp_path / "studies" / "bad"
        folder.mkdir(parents=True)
        (folder / "spec.yaml").write_text(spec.read_text())
        args = [*command, str(folder)]
    else:
        args = [*command, str(spec), "--studies-dir", str(tmp_path / "studies")]
    run = subprocess.run([sys.executable, "-c", LOADED, *args], capture_output=True, text=True, timeout=120)
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result == {"code": 2, "heavy": []}, run.stderr
    assert "seedz: unknown key" in run.stderr
