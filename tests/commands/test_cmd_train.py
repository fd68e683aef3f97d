import json

import pytest
import yaml

from mmrest.cli import main
from mmrest.metrics import METRIC_NAMES
from mmrest.training.diagnostics import DIAGNOSTICS


@pytest.fixture(scope="module")
def synth_file(tmp_path_factory):
    from mmrest.data.synthetic import write_synthetic

    path = tmp_path_factory.mktemp("data") / "small.pkl"
    return write_synthetic(path, "mosi", seed=0, train=96, valid=32, test=32, text_len=4, text_dim=32,
                           audio_len=8, vision_len=8)


def test_train_writes_config_metrics_and_checkpoint(synth_file, tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "--data", str(synth_file), "--epochs", "2", "--seed", "7", "--set", "xi=10",
                 "--set", "v1=0.35", "--out", str(out), "--device", "cpu", "--quiet"])
    assert code == 0
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["xi"] == 10 and config["v1"] == 0.35 and config["seed"] == 7 and config["max_epochs"] == 2
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) == {"best_epoch", "valid", "test", "params", "seconds", "diagnostics", "history"}
    assert set(metrics["test"]) == set(METRIC_NAMES) and metrics["best_epoch"] in (1, 2)
    assert [r["epoch"] for r in metrics["history"]] == [1, 2]
    best = metrics["history"][metrics["best_epoch"] - 1]
    assert best["valid"] == metrics["valid"] and best["diagnostics"] == metrics["diagnostics"]
    assert list(metrics["diagnostics"]) == list(DIAGNOSTICS)
    assert (out / "best.pt").is_file() and (out / "test_outputs.npz").is_file()
    table = capsys.readouterr().out
    assert "acc2_non0" in table and table.count("\n") >= 3
    # The diagnostics of the selected epoch follow the metrics table, one line each.
    below = table[table.index("test "):]
    assert f"diagnostics of epoch {metrics['best_epoch']}" in below
    printed = {line.split()[0]: line.split()[1] for line in below.splitlines()[2:]}
    assert list(printed) == list(DIAGNOSTICS)
    assert float(printed["grad_share_mmc"]) == pytest.approx(metrics["diagnostics"]["grad_share_mmc"], rel=1e-3)


def test_train_writes_null_for_diagnostics_that_do_not_apply(synth_file, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--data", str(synth_file), "--epochs", "1", "--set", "eta=0", "--set", "gamma=0",
                 "--out", str(out), "--device", "cpu", "--quiet"]) == 0
    diagnostics = json.loads((out / "metrics.json").read_text())["diagnostics"]
    assert diagnostics["clusters_active"] is None and diagnostics["hinge_active_within"] is None
    assert diagnostics["grad_share_mmc"] == 0 and diagnostics["pdlf_share"] == 0
    assert "n/a" in capsys.readouterr().out


def test_diagnostics_can_be_turned_off(synth_file, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--data", str(synth_file), "--epochs", "1", "--set", "diagnostics=false",
                 "--out", str(out), "--device", "cpu", "--quiet"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["diagnostics"] == {} and metrics["history"][0]["diagnostics"] == {}
    assert "diagnostics: off" in capsys.readouterr().out


def test_synthetic_source_uses_the_cache(tmp_path):
    code = main(["train", "--synthetic", "mosi", "--epochs", "1", "--cache-dir", str(tmp_path / "cache"),
                 "--out", str(tmp_path / "run"), "--quiet", "--set", "batch_size=256"])
    assert code == 0 and len(list((tmp_path / "cache").glob("*.pkl"))) == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (["--set", "lamda=1"], "unknown key 'lamda'"),
        (["--set", "k=1"], "key 'k' = 1"),
        (["--set", "gamma=.inf"], "key 'gamma'"),
        (["--set", "eta=-0.5"], "key 'eta' = -0.5"),
        (["--set", "k"], "expected KEY=VALUE"),
        (["--epochs", "0"], "key 'max_epochs' = 0"),
        (["--labels", "x.csv"], "carries its own transcripts; drop --labels x.csv"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(synth_file, tmp_path, capsys, args, message):
    out = tmp_path / "run"
    assert main(["train", "--data", str(synth_file), "--out", str(out), *args]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_missing_dataset_exits_2(tmp_path, capsys):
    assert main(["train", "--data", str(tmp_path / "nope.pkl"), "--out", str(tmp_path / "run")]) == 2
    assert "nope.pkl: no such file" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
