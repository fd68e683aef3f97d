"""The analysis sections in a real headless Chromium: the page loads with no console error,
exception or network request, the ablation forest draws each variant's difference to the full model
(one metric at a time, a menu for the others) and the variance figure (3 panels) its bars."""
import pytest
from report_analysis import hand_analysis
from report_browser import open_page
from trial_tables import disagree_case

from mmrest.report.build import build_report, compute_report

pytestmark = pytest.mark.slow

READY = (
    "['ablation-plot', 'variance-plot'].every(id => { const d = document.getElementById(id);"
    " return d && d.classList.contains('js-plotly-plot') && d.querySelector('.main-svg'); })"
)
FIGURES = """['ablation-plot', 'variance-plot'].map(id => { const d = document.getElementById(id); return {
    id: id,
    panels: d.querySelectorAll('.cartesianlayer > .subplot').length,
    bars: [...d.querySelectorAll('.cartesianlayer > .subplot')].map(s => s.querySelectorAll('.barlayer .point path').length),
}; })"""


def test_analysis_sections_load_clean_and_draw(browser, tmp_path):
    trials, facts = disagree_case()
    analysis = hand_analysis(compute_report(trials, facts).choices.config)
    page = open_page(browser, build_report(trials, facts, tmp_path / "r.html", analysis=analysis), ready=READY)
    assert page.log.problems() == []
    assert page.log.external_requests(page.url) == []
    ablation, variance = page.evaluate(FIGURES)
    assert ablation["panels"] == 1
    # Two variants against the full model on MAE, drawn as points with their corrected intervals.
    shown = page.evaluate("document.getElementById('ablation-plot').data.filter(t => t.visible !== false)"
                          ".reduce((n, t) => n + t.x.length, 0)")
    assert shown == 2
    # The menu offers every metric, and draws as a dropdown.
    assert page.evaluate("document.getElementById('ablation-plot').layout.updatemenus[0].buttons.length") == 9
    assert page.evaluate("document.querySelectorAll('#ablation-plot .updatemenu-container').length") == 1
    # (a) and (b): two variants with clusters, between and within stacked; (c): all three variants.
    assert variance["panels"] == 3 and variance["bars"] == [4, 4, 6]
    assert page.evaluate("document.querySelectorAll('#case-table tr').length") == 1 + 5 * 3
    shot = tmp_path / "analysis.png"
    page.screenshot("#variance", shot)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
