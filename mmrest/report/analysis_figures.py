"""Plotly figures of the analysis records (mmrest.analysis); the numbers come from the records."""
from __future__ import annotations

import math

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from mmrest.analysis import BEYOND, SETTING_LABELS, SETTINGS, Analysis
from mmrest.metrics import METRIC_NAMES
from mmrest.report.render import METRIC_LABELS, STAGE_COLOURS

COLUMNS = 3
BETWEEN_COLOUR, WITHIN_COLOUR = "#1f77b4", "#ff7f0e"


def ablation_figure(analysis: Analysis) -> go.Figure:
    """One panel per metric: each variant's mean over seeds as a bar, std as its error bar; a star
    marks a difference to the full model beyond the seed noise."""
    labels = {v.name: v.label.removeprefix("MMRest ") for v in analysis.variants}
    rows = math.ceil(len(METRIC_NAMES) / COLUMNS)
    fig = make_subplots(rows=rows, cols=COLUMNS, subplot_titles=[METRIC_LABELS[m] for m in METRIC_NAMES],
                        vertical_spacing=0.12, horizontal_spacing=0.08)
    for i, metric in enumerate(METRIC_NAMES):
        row, col = divmod(i, COLUMNS)
        for j, ablation_row in enumerate(analysis.ablation):
            cell = ablation_row.cell(metric)
            fig.add_trace(go.Bar(
                x=[labels[ablation_row.variant]], y=[cell.value.mean], name=labels[ablation_row.variant],
                legendgroup=ablation_row.variant, showlegend=i == 0,
                marker_color=STAGE_COLOURS[j % len(STAGE_COLOURS)],
                error_y=dict(type="data", array=[cell.value.std or 0.0], visible=cell.value.std is not None),
                text=["★" if cell.verdict == BEYOND else ""], textposition="outside",
                hovertemplate=(f"{labels[ablation_row.variant]}<br>{METRIC_LABELS[metric]}: %{{y:.4g}}"
                               f"<br>{cell.value.n} seeds<extra></extra>"),
            ), row=row + 1, col=col + 1)
        fig.update_xaxes(showticklabels=False, row=row + 1, col=col + 1)
    fig.update_layout(height=260 * rows + 120, barmode="group", legend=dict(orientation="h", y=-0.05),
                      margin=dict(t=60))
    return fig


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
