"""The report in a real headless Chromium: it loads with no console error, exception or network
request, every figure and every panel is drawn, and the split buttons switch the traces."""
from dataclasses import replace

import pytest
from report_browser import open_page
from trial_tables import facts, grid_rows, grid_stage, realistic_case, table, tpe_case, trial

from mmrest.report.build import compute_report, write_report

pytestmark = pytest.mark.slow

PLOTS_READY = (
    "document.querySelectorAll('.js-plotly-plot').length === document.querySelectorAll('[id$=\"-plot\"], [id^=\"importance-\"]').length"
    " && [...document.querySelectorAll('.js-plotly-plot')].every(d => d.querySelector('.main-svg'))"
)
# Per figure: subplots drawn, points drawn in each subplot, traces drawn.
PANELS = """[...document.querySelectorAll('.js-plotly-plot')].map(d => ({
    id: d.id,
    panels: d.querySelectorAll('.cartesianlayer > .subplot').length,
    points: [...d.querySelectorAll('.cartesianlayer > .subplot')].map(s => s.querySelectorAll('path.point').length),
    traces: d.querySelectorAll('.scatterlayer > .trace, .barlayer > .trace').length,
}))"""


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """Coarse and fine one-at-a-time stages over six parameters, a grid stage over alpha x xi, a
    tpe stage over the same two, a failed trial and an eta line still running: a partial study."""
    trials, raw = realistic_case()
    tpe_trials, tpe_raw = tpe_case()
    extra = [
        trial(stage="coarse", varied="eta", eta=0.02, seed=1111, state="RUNNING"),
        trial(stage="coarse", varied="eta", eta=0.005, seed=1111, state="WAITING"),
        trial(stage="coarse", varied="k", k=13, seed=1111, state="FAIL", error="RuntimeError: NaN loss"),
    ]
    trials = table(trials.to_dict("records") + grid_rows() + tpe_trials.to_dict("records") + extra)
    coarse = replace(raw.stages[0], params={**raw.stages[0].params, "eta": (0.005, 0.01, 0.02)})
    stages = [coarse, *raw.stages[1:], grid_stage(), *tpe_raw.stages]
    raw = facts(stages, trials, finished_all=False, seeds=(1111, 1112, 1113))
    computed = compute_report(trials, raw)
    return write_report(computed, trials, tmp_path_factory.mktemp("report") / "study.html", split="valid"), computed


@pytest.fixture(scope="module")
def page(browser, report):
    return open_page(browser, report[0], ready=PLOTS_READY, width=1300)


def test_the_harness_sees_errors_exceptions_and_requests(browser, tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<html><body><script>console.error('boom'); console.log('fine');"
        "setTimeout(() => null.x, 50);</script><img src='http://192.0.2.1/x.png'></body></html>"
    )
    loaded = open_page(browser, bad, ready="true", timeout=20)
    problems = loaded.log.problems()
    assert "console.error: boom" in problems
    assert any(p.startswith("exception: TypeError") for p in problems)
    assert loaded.log.external_requests(loaded.url) == ["http://192.0.2.1/x.png"]


def test_report_loads_clean_and_draws_every_panel(page, report):
    assert page.log.problems() == []
    assert page.log.external_requests(page.url) == []
    figures = {f["id"]: f for f in page.evaluate(PANELS)}
    # 7 varied parameters (k, v1, v2, xi, alpha, gamma, eta), each a curve panel over a thin
    # diagnostics panel in Fig. 4, and 9 metric rows plus a diagnostics row in the grid.
    assert {i: f["panels"] for i, f in figures.items()} == {
        "fig4-plot": 2 * 7, "metrics-plot": (9 + 1) * 7, "forest-plot": 1, "importance-grid": 2,
        "importance-search": 2, "importance-effects": 1,
    }
    assert all(n > 0 for f in ("fig4-plot", "metrics-plot") for n in figures[f]["points"])
    assert all(figures[f]["traces"] >= 2 for f in ("importance-grid", "importance-search"))
    assert page.evaluate("document.getElementById('partial') !== null")
    assert page.evaluate("document.getElementById('verdict-legend') !== null")


def test_fig4_marks_bands_rings_and_diagnostics(page, report):
    """Per metric panel, the base point's band; a ring for each level whose comparison differs;
    the diagnostics under each panel; traces of the split not shown are hidden."""
    _, computed = report
    traces = page.evaluate("document.getElementById('fig4-plot').data.map(t => "
                           "({name: t.name, meta: t.meta, visible: t.visible !== false, n: t.x.length}))")
    assert all(t["visible"] == (t["meta"] in ("valid", "both")) for t in traces)
    shown = [t for t in traces if t["visible"]]
    bands = [t for t in shown if t["name"] == "base point's 95 % interval"]
    # Acc-5 and Acc-7 on each parameter with a one-at-a-time level that ended: all but eta, whose
    # levels are still running.
    assert len(bands) == 2 * 6
    differs = sum(1 for c in computed.verdicts.comparisons
                  if c.kind == "level" and c.metric in ("acc5", "acc7") and c.verdict == "differs")
    assert sum(t["n"] for t in shown if t["name"] == "differs from the base") == differs > 0
    shares = [t for t in shown if t["name"] in ("L_MMC share of the gradient", "PDLF share of the prediction")]
    assert shares and all(t["meta"] == "both" for t in shares)


def test_fig4_screenshot_is_taken(page, tmp_path):
    shot = tmp_path / "fig4.png"
    page.screenshot("#fig4", shot)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000


def test_split_buttons_swap_validation_for_test(browser, report):
    fresh = open_page(browser, report[0], ready=PLOTS_READY)
    state = "document.getElementById('fig4-plot').data.map(t => [t.meta, t.visible !== false])"
    before = fresh.evaluate(state)
    fresh.evaluate(
        "(() => { const b = document.querySelectorAll('#fig4-plot .updatemenu-button')[1];"
        " b.dispatchEvent(new MouseEvent('click', {bubbles: true})); })()"
    )
    fresh.collect(0.5)
    after = fresh.evaluate(state)
    assert all(v == (meta in ("valid", "both")) for meta, v in before)
    assert all(v == (meta in ("test", "both")) for meta, v in after)
    assert fresh.log.problems() == []
