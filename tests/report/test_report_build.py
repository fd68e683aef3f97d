"""The written files: one self-contained HTML page and the CSV beside it; bad input writes nothing."""
from html import unescape
import re

import pandas as pd
import pytest
import yaml
from plotly.offline import get_plotlyjs
from trial_tables import disagree_case, disagree_rows, facts, grid_rows, grid_stage, oat_stage, table, trial

from mmrest.errors import InputError
from mmrest.report.build import build_report
from mmrest.selection.rules import MEAN_RANK, OBJECTIVE

# A reference to another host anywhere in the page's markup (the plotly bundle itself holds URL
# strings for map tiles it only fetches for map traces, so scripts are cut out first).
EXTERNAL = re.compile(r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//|@import|url\(\s*["']?(?:https?:)?//""", re.I)


def _markup(page: str) -> str:
    return re.sub(r"<script[^>]*>.*?</script>", "<script></script>", page, flags=re.S)


@pytest.fixture()
def mixed_partial():
    """One-at-a-time coarse stage, a grid stage, one failed and one running trial."""
    rows = disagree_rows() + grid_rows()
    rows.append(trial(varied="alpha", alpha=4.0, state="FAIL", error="ValueError: NaN loss"))
    rows.append(trial(stage="grid", design="grid", varied="", alpha=2.0, xi=30.0, state="RUNNING"))
    trials = table(rows)
    return trials, facts([oat_stage(alpha=[0.5, 1.0, 2.0, 4.0]), grid_stage()], trials, finished_all=False, planned=30)


def test_page_is_self_contained_with_plotly_inlined_once(tmp_path, mixed_partial):
    out = build_report(*mixed_partial, tmp_path / "r.html")
    page = out.read_text(encoding="utf-8")
    assert page.count(get_plotlyjs()) == 1
    # plotly.js, then fig4, metrics, the differences, the grid's importance and the curves' effects
    assert page.count("<script") == 1 + 5
    for plot in ("fig4-plot", "metrics-plot", "forest-plot", "importance-grid", "importance-effects"):
        assert f'id="{plot}"' in page
    assert not re.search(r"<script[^>]+src=", page)
    assert not EXTERNAL.search(_markup(page))
    for section in ("verdicts", "fig4", "metrics", "differences", "final", "importance", "seeds", "facts"):
        assert f'<section id="{section}">' in page


def test_partial_study_says_so_and_a_finished_one_does_not(tmp_path, mixed_partial):
    page = build_report(*mixed_partial, tmp_path / "p.html").read_text(encoding="utf-8")
    assert '<p class="partial" id="partial"><b>Partial study.</b> 24 of 30 planned trials are complete;' in page
    assert "; 1 failed, 1 running, 0 waiting." in page
    assert "ValueError: NaN loss" in page  # the failure is listed in the facts
    assert "real: text, vision; absent (placeholder inputs): audio" in page
    finished = build_report(*disagree_case(), tmp_path / "f.html").read_text(encoding="utf-8")
    assert 'class="partial"' not in finished


@pytest.mark.parametrize("rule", [MEAN_RANK, OBJECTIVE])
def test_the_page_names_and_defines_its_rule_and_gives_the_yaml(tmp_path, rule):
    page = build_report(*disagree_case(), tmp_path / "r.html", rule=rule.name).read_text(encoding="utf-8")
    assert f"Rule <b>{rule.name}</b>: {rule.definition}" in unescape(page)
    block = re.search(r'<pre id="chosen-yaml">(.*?)</pre>', page, re.S).group(1)
    loaded = yaml.safe_load(unescape(block))
    assert loaded["train"]["alpha"] == (1.0 if rule is MEAN_RANK else 0.5)


def test_csv_beside_holds_every_trial(tmp_path, mixed_partial):
    trials, raw = mixed_partial
    out = build_report(trials, raw, tmp_path / "sub" / "study.html")
    frame = pd.read_csv(tmp_path / "sub" / "study.csv", keep_default_na=False, na_values=[""])
    assert len(frame) == len(trials) and list(frame.columns) == list(trials.columns)
    assert sorted(frame["state"].unique()) == ["COMPLETE", "FAIL", "RUNNING"]
    assert out == tmp_path / "sub" / "study.html"


def test_an_empty_study_still_renders(tmp_path):
    trials = table([trial(state="WAITING", varied="alpha", alpha=2.0)])
    raw = facts([oat_stage(alpha=[1.0, 2.0])], trials, finished_all=False)
    page = build_report(trials, raw, tmp_path / "e.html").read_text(encoding="utf-8")
    assert "no complete trial yet: paper's value kept" in unescape(page)
    assert "Partial study." in page


@pytest.mark.parametrize("change, message", [
    (dict(out="r.txt"), r"-o .*r.txt: the report is one HTML file; give a path ending in .html"),
    (dict(rule="borda"), "--rule: unknown rule 'borda'"),
    (dict(split="train"), "split 'train' is not one of valid, test"),
    (dict(drop="valid_acc5"), r"missing column\(s\) valid_acc5"),
])
def test_bad_input_raises_and_writes_nothing(tmp_path, change, message):
    trials, raw = disagree_case()
    if "drop" in change:
        trials = trials.drop(columns=[change["drop"]])
    out = tmp_path / "out" / change.get("out", "r.html")
    with pytest.raises(InputError, match=message):
        build_report(trials, raw, out, rule=change.get("rule", "mean_rank"), split=change.get("split", "valid"))
    assert not (tmp_path / "out").exists()
