"""The report's analysis sections: present only when a study has an analysis, between importance
and facts, with the numbers of the `Analysis` record, escaped text and a warning when the
analysed configuration is not the one the report chooses."""
import re
from html import unescape

import pytest
from report_analysis import hand_analysis
from trial_tables import PAPER, disagree_case

from mmrest.analysis.variance import NO_CLUSTERS
from mmrest.report.build import build_report, compute_report


@pytest.fixture(scope="module")
def case():
    trials, facts = disagree_case()
    chosen = compute_report(trials, facts).choices.config
    return trials, facts, chosen


def _titles(page: str) -> list[str]:
    return re.findall(r'<section id="([a-z0-9]+)"><h2>([^<]*)</h2>', page)


SECTIONS = ("verdicts", "fig4", "metrics", "differences", "final", "importance", "seeds")


def test_without_analysis_the_page_keeps_its_eight_sections(tmp_path, case):
    trials, facts, _ = case
    page = build_report(trials, facts, tmp_path / "r.html").read_text(encoding="utf-8")
    assert [(sid, title.split(".")[0]) for sid, title in _titles(page)] == [
        (sid, str(i)) for i, sid in enumerate((*SECTIONS, "facts"), start=1)]


def test_with_analysis_three_sections_come_before_the_facts(tmp_path, case):
    trials, facts, chosen = case
    analysis = hand_analysis(chosen)
    page = build_report(trials, facts, tmp_path / "r.html", analysis=analysis).read_text(encoding="utf-8")
    assert [(sid, title.split(" ")[0]) for sid, title in _titles(page)] == [
        (sid, f"{i}.") for i, sid in enumerate((*SECTIONS, "ablation", "variance", "cases", "facts"), start=1)]
    without = build_report(trials, facts, tmp_path / "w.html").read_text(encoding="utf-8")
    assert page.count("<script") == without.count("<script") + 2  # the ablation and variance figures
    assert "analysed configuration is not" not in page and 'class="partial"' not in page


def test_ablation_table_shows_the_records_numbers(tmp_path, case):
    trials, facts, chosen = case
    analysis = hand_analysis(chosen)
    page = build_report(trials, facts, tmp_path / "r.html", analysis=analysis).read_text(encoding="utf-8")
    table = re.search(r'<table id="ablation-table">(.*?)</table>', page, re.S).group(1)
    rows = re.findall(r"<tr><th>(MMRest[^<]*)</th><td>(\d)</td><td>(.*?)</td>", table)
    assert [(unescape(r[0]), r[1]) for r in rows] == [
        ("MMRest (w/ L_MMC, w/ bias)", "2"), ("MMRest (w/ L_MMC, w/o bias)", "2"), ("MMRest (w/o L_MMC, w/o bias)", "1")]
    full_mae = analysis.ablation[0].cell("mae").value
    assert rows[0][2] == f"{full_mae.mean:.4g} ± {full_mae.std:.3g}"
    mae = analysis.ablation[1].cell("mae")  # noise 0.6 vs 0.3 on both seeds: worse, seed by seed
    assert mae.better is False and mae.paired.seeds == 2
    assert f"Δ {mae.diff:+.3g} ↓ [{mae.paired.ci_low:.3g}, {mae.paired.ci_high:.3g}]<br>{mae.verdict}" in unescape(rows[1][2])
    # The w/o L_MMC model trained one seed: one pair, no interval, undecided.
    assert analysis.ablation[2].cell("mae").verdict == "undecided" and "undecided" in rows[2][2]
    assert "paired t-test" in page and "no_mmc_no_bias, seed 1" in page


def test_variance_table_gives_three_settings_and_says_what_does_not_apply(tmp_path, case):
    trials, facts, chosen = case
    analysis = hand_analysis(chosen)
    page = build_report(trials, facts, tmp_path / "r.html", analysis=analysis).read_text(encoding="utf-8")
    table = re.search(r'<table id="variance-table">(.*?)</table>', page, re.S).group(1)
    assert table.count("<tr>") == 1 + 3 * 3
    full_local = analysis.variance[0]
    triple = " / ".join(f"{s.mean:.4g}" for s in (full_local.total, full_local.between, full_local.within))
    assert f"<b>{triple}</b>" in table
    assert table.count(unescape(NO_CLUSTERS).replace("'", "&#39;")) == 2  # (a) and (b) of the w/o L_MMC model


def test_case_table_escapes_transcripts_and_lists_every_variant(tmp_path, case):
    trials, facts, chosen = case
    analysis = hand_analysis(chosen)
    page = build_report(trials, facts, tmp_path / "r.html", analysis=analysis).read_text(encoding="utf-8")
    table = re.search(r'<table id="case-table">(.*?)</table>', page, re.S).group(1)
    assert "<b>great</b>" not in table and "&lt;b&gt;" in table
    first = analysis.cases.cases[0]
    assert f"<code>{first.id}</code>" in table and first.why == "largest error"
    assert table.count("<tr>") == 1 + len(analysis.cases.cases) * 3


def test_an_analysis_of_another_configuration_is_flagged(tmp_path, case):
    trials, facts, chosen = case
    other = {**chosen, "alpha": 2.0}
    page = build_report(trials, facts, tmp_path / "r.html", analysis=hand_analysis(other)).read_text(encoding="utf-8")
    assert chosen["alpha"] != 2.0 and PAPER["alpha"] == 1.0
    assert "α (alpha) 2 here vs 1 there" in page and "Rerun <code>mmrest-study analyze</code>" in page
