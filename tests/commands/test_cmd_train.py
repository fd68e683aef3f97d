import json

import pytest
import yaml

from mmrest.cli import main
from mmrest.metrics import METRIC_NAMES


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
    assert set(metrics) == {"best_epoch", "valid", "test", "params", "seconds"}
    assert set(metrics["test"]) == set(METRIC_NAMES) and metrics["best_epoch"] in (1, 2)
    assert (out / "best.pt").is_file() and (out / "test_outputs.npz").is_file()
    table = capsys.readouterr().out
    assert "acc2_non0" in table and table.count("\n") >= 3


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
