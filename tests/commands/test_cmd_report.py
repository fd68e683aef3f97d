"""`mmrest-study report` end to end: the test run's finished study (a real tiny study run by the
real engine, Ray Tune + Optuna: tests/conftest.py), then the report of its folder; and the
command's refusals."""
import optuna
import pandas as pd
import pytest
from optuna.storages.journal import JournalFileBackend, JournalStorage

from mmrest.cli import main
from mmrest.report.build import comparisons_path


def test_a_missing_study_folder_is_refused_and_nothing_is_written(tmp_path, capsys):
    out = tmp_path / "reports" / "r.html"
    assert main(["report", str(tmp_path / "nope"), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"report: study folder '{tmp_path / 'nope'}' does not exist" in err
    assert not (tmp_path / "reports").exists()


@pytest.mark.slow
def test_report_of_a_real_study(tmp_path, finished_study, capsys):
    out = tmp_path / "reports" / "e2e.html"
    assert main(["report", str(finished_study), "-o", str(out), "--rule", "objective"]) == 0
    assert f"wrote {out}, {out.with_suffix('.csv')} and {comparisons_path(out)}" in capsys.readouterr().out
    assert comparisons_path(out).is_file()
    page = out.read_text(encoding="utf-8")
    assert "Rule <b>objective</b>" in page and 'id="partial"' not in page
    assert 'id="importance-effects"' in page and 'id="fig4-plot"' in page
    # The study computed its floor when it started; the report draws it and compares with it.
    assert (finished_study / "floor.json").is_file() and "floor: ridge, all real modalities" in page
    # One row per trial Optuna holds, the diverged ones (eta = 1e308 and its refinement) as FAIL.
    storage = JournalStorage(JournalFileBackend(str(finished_study / "optuna.journal")))
    trials = [t for name in ("e2e.coarse", "e2e.fine") for t in optuna.load_study(study_name=name, storage=storage).trials]
    frame = pd.read_csv(out.with_suffix(".csv"))
    assert sorted(frame["key"]) == sorted(t.user_attrs["key"] for t in trials)
    assert sorted(frame["state"]) == sorted(t.state.name for t in trials) and set(frame["state"]) == {"COMPLETE", "FAIL"}


@pytest.mark.slow
def test_a_bad_output_path_writes_nothing(tmp_path, finished_study, capsys):
    out = tmp_path / "reports" / "e2e.txt"
    assert main(["report", str(finished_study), "-o", str(out)]) == 2
    assert "give a path ending in .html" in capsys.readouterr().err
    assert not (tmp_path / "reports").exists()
