"""The report's analysis sections (ablations, Table 6, Table 7) as HTML, from an `Analysis` record.

`analysis_sections` returns (id, title, html) triples that `html.render_page` places between the
importance and the facts sections; `figure_div` is the page's way of embedding a figure.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from html import escape

import plotly.graph_objects as go

from mmrest.analysis.ablation import BEYOND, RULE, VERDICT_TEXT
from mmrest.analysis.case_study import CaseStudy
from mmrest.analysis.stats import Stat
from mmrest.analysis.summary import Analysis
from mmrest.analysis.variance import SETTING_LABELS, SETTINGS
from mmrest.config import STUDY_HYPERPARAMETERS
from mmrest.metrics import METRIC_NAMES
from mmrest.report.analysis_figures import ablation_figure, variance_figure
from mmrest.report.render import METRIC_LABELS, param_label

FigureDiv = Callable[[go.Figure, str], str]


def analysis_sections(analysis: Analysis, chosen: dict[str, float], figure_div: FigureDiv) -> list[tuple[str, str, str]]:
    """The three sections; `chosen` is the configuration the report chose, to flag a mismatch."""
    return [
        ("ablation", "Ablations: what each part of the model buys", _ablation(analysis, chosen, figure_div)),
        ("variance", "Variance analysis (Table 6)", _variance(analysis, figure_div)),
        ("cases", "Case study (Table 7)", _cases(analysis)),
    ]


def _ablation(a: Analysis, chosen: dict[str, float], figure_div: FigureDiv) -> str:
    html = (
        f"<p>Analysed configuration ({escape(a.config_source)}): {_config(a.config)}; seeds "
        f"{', '.join(str(s) for s in a.seeds)}. Variants: "
        + "; ".join(f"<b>{escape(v.label)}</b>" + (f" ({_config(v.overrides)})" if v.overrides else "")
                    for v in a.variants)
        + f". Test metrics, mean ± std over seeds. <b>Rule</b>: {escape(RULE)}</p>"
    )
    html += _mismatch(a.config, chosen) + _notes(a)
    header = "<tr><th>model</th><th>seeds</th>" + "".join(f"<th>{METRIC_LABELS[m]}</th>" for m in METRIC_NAMES) + "</tr>"
    labels = {v.name: v.label for v in a.variants}
    rows = ""
    for row in a.ablation:
        cells = "".join(f"<td>{_ablation_cell(row.cell(m))}</td>" for m in METRIC_NAMES)
        rows += f"<tr><th>{escape(labels[row.variant])}</th><td>{row.seeds}</td>{cells}</tr>"
    html += _scrolling(f'<table id="ablation-table">{header}{rows}</table>')
    html += ("<p class=\"note\">Δ: the variant's mean minus the full model's; <b>bold</b>: beyond the seed "
             "noise; ↑/↓: the variant is better/worse than the full model on that metric. In the figure a "
             "★ marks a difference beyond the noise.</p>")
    return html + figure_div(ablation_figure(a), "ablation-plot")


def _ablation_cell(cell) -> str:
    value = _mean_std(cell.value)
    if cell.diff is None:
        return value
    arrow = "" if cell.better is None else (" ↑" if cell.better else " ↓")
    delta = f"Δ {cell.diff:+.3g}{arrow}"
    title = escape(VERDICT_TEXT[cell.verdict] + (f" (noise {_num(cell.noise, 3)})" if cell.noise is not None else ""))
    delta = f"<b>{delta}</b>" if cell.verdict == BEYOND else delta
    return f'{value}<br><span title="{title}" class="verdict-{cell.verdict}">{delta}</span>'


def _variance(a: Analysis, figure_div: FigureDiv) -> str:
    html = (
        "<p>Test-set metric features z (64-d, spec section 1): every sample's text, visual and acoustic "
        "rows, each carrying the sample's label, are the points. With groups g (n_g rows, centroid c_g), "
        "overall centroid c and d(a, b) = (a − b)ᵀM(a − b): total = (1/n) Σ_i d(x_i, c), between = "
        "(1/n) Σ_g n_g d(c_g, c), within = (1/n) Σ_g Σ_{i∈g} d(x_i, c_g), so total = between + within "
        "exactly. Where each group has its own metric M_g, everything of group g (its rows' share of the "
        "total too) is measured with M_g, and the identity still holds exactly.</p><ul>"
        "<li><b>(a) MM, w/ ΔM_i</b>: groups are the learned clusters (each row to the nearest center "
        "that was non-empty in the last MMC step, under that cluster's metric, as PDLF assigns); group g "
        f"measures with M0 + ΔM_g + βI (β = {a.beta:g}).</li>"
        "<li><b>(b) MM, w/o ΔM_i</b>: the same groups, every group measured with M0 alone.</li>"
        "<li><b>(c) SM</b>: the 7 label bins of spec 2.1 as groups, Euclidean metric.</li></ul>"
        "<p>Centroids are means of the test rows, not the learned centers. Values: mean ± std over seeds, "
        "printed as total / between / within like the supplement's Table 6.</p>"
    )
    labels = {v.name: v.label for v in a.variants}
    header = ("<tr><th>setting</th><th>model</th><th>seeds</th><th>total / between / within</th>"
              "<th>total</th><th>between</th><th>within</th><th>groups</th><th>note</th></tr>")
    rows = ""
    for setting in SETTINGS:
        lines = [r for r in a.variance if r.setting == setting]
        for i, r in enumerate(lines):
            head = f'<td rowspan="{len(lines)}">{escape(SETTING_LABELS[setting])}</td>' if i == 0 else ""
            head += f"<td>{escape(labels[r.variant])}</td>"
            if r.total is None:
                rows += f"<tr>{head}<td>0</td><td colspan=\"5\">n/a</td><td>{escape(r.reason)}</td></tr>"
                continue
            triple = " / ".join(_num(s.mean, 4) for s in (r.total, r.between, r.within))
            rows += (f"<tr>{head}<td>{r.total.n}</td><td><b>{triple}</b></td><td>{_mean_std(r.total)}</td>"
                     f"<td>{_mean_std(r.between)}</td><td>{_mean_std(r.within)}</td>"
                     f"<td>{_num(r.groups.mean, 3)}</td><td>{escape(r.reason)}</td></tr>")
    html += _scrolling(f'<table id="variance-table">{header}{rows}</table>')
    return html + figure_div(variance_figure(a), "variance-plot")


def _cases(a: Analysis) -> str:
    c: CaseStudy = a.cases
    labels = {v.name: v.label for v in a.variants}
    html = (
        f"<p>{len(c.cases)} of {c.samples} test samples: the full model's {c.largest} largest and {c.smallest} "
        f"smallest absolute errors, then {c.random} drawn at random from the rest (numpy default_rng, seed "
        f"{c.seed}). A prediction is the mean over the variant's seeds (± std); error = |mean prediction − "
        "label|.</p>"
    )
    header = "<tr><th>sample</th><th>language</th><th>why</th><th>model</th><th>prediction</th><th>label</th><th>error</th></tr>"
    rows = ""
    for case in c.cases:
        span = len(case.predictions)
        text = escape(case.text) if case.text else '<span class="note">(no transcript in the data)</span>'
        for i, p in enumerate(case.predictions):
            lead = (f'<td rowspan="{span}"><code>{escape(case.id)}</code></td><td rowspan="{span}">{text}</td>'
                    f'<td rowspan="{span}">{escape(case.why)}</td>') if i == 0 else ""
            spread = "" if p.prediction.std is None else f" ± {p.prediction.std:.4f}"
            rows += (f"<tr>{lead}<td>{escape(labels[p.variant])}</td><td>{p.prediction.mean:.4f}{spread}</td>"
                     f"<td>{case.label:.4f}</td><td>{p.error:.4f}</td></tr>")
    return html + f'<table id="case-table">{header}{rows}</table>'


def _scrolling(table: str) -> str:
    # Nine metric columns are wider than the page on a laptop screen: scroll, never clip.
    return f'<div style="overflow-x: auto">{table}</div>'


def _mismatch(config: dict[str, float], chosen: dict[str, float]) -> str:
    differ = [p for p in STUDY_HYPERPARAMETERS if p in chosen and not math.isclose(config.get(p, math.nan), chosen[p])]
    if not differ:
        return ""
    return ('<p class="partial">The analysis was computed for another configuration than the one section '
            "“Final values” chooses now: " + ", ".join(
                f"{escape(param_label(p))} {_num(config.get(p))} here vs {_num(chosen[p])} there" for p in differ)
            + ". Rerun <code>mmrest-study analyze</code> to analyse the current choice.</p>")


def _notes(a: Analysis) -> str:
    items = [escape(n) for n in a.notes]
    if a.missing:
        items.append("no trained model (failed or not run), left out of every number: " + escape("; ".join(a.missing)))
    return f"<ul class=\"note\">{''.join(f'<li>{i}</li>' for i in items)}</ul>" if items else ""


def _config(values: dict[str, float]) -> str:
    return ", ".join(f"{escape(param_label(p))} = {_num(values[p])}" for p in STUDY_HYPERPARAMETERS if p in values)


def _mean_std(s: Stat) -> str:
    return _num(s.mean) if s.std is None else f"{_num(s.mean)} ± {_num(s.std, 3)}"


def _num(x: float | None, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:.{digits}g}"
