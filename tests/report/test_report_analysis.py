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


def test_without_analysis_the_page_keeps_its_five_sections(tmp_path, case):
    trials, facts, _ = case
    page = build_report(trials, facts, tmp_path / "r.html").read_text(encoding="utf-8")
    assert [(sid, title.split(".")[0]) for sid, title in _titles(page)] == [
        ("fig4", "1"), ("metrics", "2"), ("final", "3"), ("importance", "4"), ("facts", "5")]


def test_with_analysis_three_sections_come_before_the_facts(tmp_path, case):
    trials, facts, chosen = case
    analysis = hand_analysis(chosen)
    page = build_report(trials, facts, tmp_path / "r.html", analysis=analysis).read_text(encoding="utf-8")
    assert [(sid, title.split(" ")[0]) for sid, title in _titles(page)] == [
        ("fig4", "1."), ("metrics", "2."), ("final", "3."), ("importance", "4."), ("ablation", "5."),
        ("variance", "6."), ("cases", "7."), ("facts", "8.")]
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
    mae = analysis.ablation[1].cell("mae")  # noise 0.6 vs 0.3: clearly worse, beyond two close seeds
    assert mae.verdict == "beyond" and mae.better is False
    assert rows[1][2].endswith(f"<b>Δ {mae.diff:+.3g} ↓</b></span>")
    assert "undetermined: one seed" in rows[2][2]
    assert "max(s_f, s_v)" in page and "no_mmc_no_bias, seed 1" in page


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
