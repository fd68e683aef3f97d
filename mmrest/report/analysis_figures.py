"""Plotly figures of the analysis records (mmrest.analysis); the numbers come from the records."""
from __future__ import annotations


import plotly.graph_objects as go
from plotly.subplots import make_subplots

from mmrest.analysis import SETTING_LABELS, SETTINGS, Analysis
from mmrest.metrics import METRIC_NAMES
from mmrest.report.render import ForestRow, forest_figure

BETWEEN_COLOUR, WITHIN_COLOUR = "#1f77b4", "#ff7f0e"


def ablation_figure(analysis: Analysis) -> go.Figure:
    """Each variant minus the full model, seed by seed, as differences: the mean with its corrected
    interval beside the +-min_effect band and zero; a menu switches metrics."""
    labels = {v.name: v.label.removeprefix("MMRest ") for v in analysis.variants}
    rows = {
        m: [ForestRow(labels[r.variant], p.diff, p.corrected_low, p.corrected_high, p.p_holm, p.seeds, p.verdict)
            for r in analysis.ablation if (p := r.cell(m).paired) is not None]
        for m in METRIC_NAMES
    }
    return forest_figure(rows, analysis.min_effect, shown="mae", title="Each variant minus the full model (test metrics)")


def variance_figure(analysis: Analysis) -> go.Figure:
    """One panel per setting: between (bottom) and within (top) stacked, so a bar's height is the
    total; variants without a value in a setting have no bar there."""
    labels = {v.name: v.label.removeprefix("MMRest ") for v in analysis.variants}
    fig = make_subplots(rows=1, cols=len(SETTINGS), subplot_titles=[SETTING_LABELS[s].split(":")[0] for s in SETTINGS],
                        horizontal_spacing=0.08)
    for col, setting in enumerate(SETTINGS, start=1):
        rows = [r for r in analysis.variance if r.setting == setting and r.total is not None]
        for part, colour in (("between", BETWEEN_COLOUR), ("within", WITHIN_COLOUR)):
            stats = [getattr(r, part) for r in rows]
            fig.add_trace(go.Bar(
                x=[labels[r.variant] for r in rows], y=[s.mean for s in stats], name=part,
                legendgroup=part, showlegend=col == 1, marker_color=colour,
                customdata=[[s.std if s.std is not None else float("nan"), s.n] for s in stats],
                hovertemplate=f"%{{x}}<br>{part}: %{{y:.4g}} (std %{{customdata[0]:.3g}}, "
                              "%{customdata[1]} seeds)<extra></extra>",
            ), row=1, col=col)
    fig.update_layout(barmode="stack", height=430, legend=dict(orientation="h", y=-0.25), margin=dict(t=60))
    return fig
