"""`mmrest-study report` end to end: a real tiny study run by the real engine (Ray Tune + Optuna),
then the report of its folder; and the command's refusals."""
import textwrap

import pandas as pd
import pytest
from study_helpers import run_on_head

from mmrest.cli import main
from mmrest.report.build import comparisons_path

TINY_SPEC = """\
name: tiny
dataset: {synthetic: mosi, sizes: {train: 48, valid: 24, test: 24, text_len: 4, audio_len: 4, vision_len: 4}}
base: mosi
train: {max_epochs: 1, patience: 1}
seeds: [1]
objective: {metric: valid_mae}
stages:
  - name: coarse
    design: one_at_a_time
    params: {alpha: [0.5, 1.0, 2.0]}
  - name: grid
    design: grid
    params: {alpha: [0.5, 1.0], k: [5, 7]}
resources: {cpu: 1}
max_concurrent: 2
"""


def test_a_missing_study_folder_is_refused_and_nothing_is_written(tmp_path, capsys):
    out = tmp_path / "reports" / "r.html"
    assert main(["report", str(tmp_path / "nope"), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"report: study folder '{tmp_path / 'nope'}' does not exist" in err
    assert not (tmp_path / "reports").exists()


@pytest.fixture(scope="module")
def tiny_study(tmp_path_factory, ray_head):
    root = tmp_path_factory.mktemp("e2e")
    spec = root / "tiny.yaml"
    spec.write_text(TINY_SPEC)
    run = run_on_head("run", str(spec), "--studies-dir", str(root / "studies"), "--ray-address", ray_head)
    assert run.returncode == 0, textwrap.shorten(run.stdout + run.stderr, 3000)
    return root / "studies" / "tiny"


@pytest.mark.slow
def test_report_of_a_real_study(tmp_path, tiny_study, capsys):
    out = tmp_path / "reports" / "tiny.html"
    assert main(["report", str(tiny_study), "-o", str(out), "--rule", "objective"]) == 0
    assert f"wrote {out}, {out.with_suffix('.csv')} and {comparisons_path(out)}" in capsys.readouterr().out
    assert comparisons_path(out).is_file()
    page = out.read_text(encoding="utf-8")
    assert "Rule <b>objective</b>" in page and 'id="partial"' not in page
    assert 'id="importance-grid"' in page and 'id="importance-effects"' in page
    # The study computed its floor when it started; the report draws it and compares with it.
    assert (tiny_study / "floor.json").is_file() and "floor: ridge, all real modalities" in page
    frame = pd.read_csv(out.with_suffix(".csv"))
    assert len(frame) == 3 + 4 and set(frame["state"]) == {"COMPLETE"}


@pytest.mark.slow
def test_a_bad_output_path_writes_nothing(tmp_path, tiny_study, capsys):
    out = tmp_path / "reports" / "tiny.txt"
    assert main(["report", str(tiny_study), "-o", str(out)]) == 2
    assert "give a path ending in .html" in capsys.readouterr().err
    assert not (tmp_path / "reports").exists()
