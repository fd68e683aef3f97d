"""Plotly figures of the report's records. Nothing here computes a number the page shows; the
records from `compute`, `choice` and `importance` carry them all.

Curve figures hold a validation and a test copy of every trace; buttons switch between them, and
the paper's and the chosen value are vertical lines on every panel of their parameter.
"""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from mmrest.metrics import METRIC_NAMES
from mmrest.report.compute import Curve, Series
from mmrest.report.importance import Importance, StageImportance
from mmrest.trial_table import SPLITS, metric_column

METRIC_LABELS = {
    "mae": "MAE", "corr": "Corr", "acc7": "Acc-7", "acc5": "Acc-5", "acc3": "Acc-3",
    "acc2_has0": "Acc-2 has-0", "f1_has0": "F1 has-0", "acc2_non0": "Acc-2 non-0", "f1_non0": "F1 non-0",
}
PARAM_LABELS = {"k": "k", "v1": "v₁", "v2": "v₂", "xi": "ξ", "alpha": "α", "gamma": "γ", "eta": "η"}
SPLIT_LABELS = {"valid": "Validation", "test": "Test"}
FIG4_COLOURS = {"acc5": "#1f77b4", "acc7": "#d62728"}
STAGE_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b")
STAGE_SYMBOLS = ("circle", "diamond", "square", "triangle-up", "x")
PAPER_COLOUR, CHOSEN_COLOUR, NOISE_COLOUR = "#7f7f7f", "#2ca02c", "#111111"
FIG4_COLUMNS = 3


def param_label(param: str) -> str:
    label = PARAM_LABELS[param]
    return label if label == param else f"{label} ({param})"


def fig4(curves: tuple[Curve, ...], *, split: str) -> go.Figure:
    """Acc-5 and Acc-7 against each varied hyperparameter (at least one): the supplement's Fig. 4."""
    cols = min(FIG4_COLUMNS, len(curves))
    rows = math.ceil(len(curves) / cols)
    fig = make_subplots(
        rows=rows, cols=cols, subplot_titles=[param_label(c.param) for c in curves],
        horizontal_spacing=0.07, vertical_spacing=0.16 / rows + 0.06,
    )
    splits_of_traces, in_legend = [], set()
    for i, curve in enumerate(curves):
        row, col = divmod(i, cols)
        for metric in ("acc5", "acc7"):
            for sp in SPLITS:
                for series in curve.series:
                    fig.add_trace(_curve_trace(
                        series, metric_column(sp, metric), visible=sp == split,
                        colour=FIG4_COLOURS[metric], symbol=_symbol(series),
                        name=f"{METRIC_LABELS[metric]} · {series.stage}", in_legend=in_legend, split=sp,
                    ), row=row + 1, col=col + 1)
                    splits_of_traces.append(sp)
        _mark_values(fig, curve, row + 1, col + 1)
        fig.update_yaxes(title_text="%" if col == 0 else None, row=row + 1, col=col + 1)
    _split_buttons(fig, splits_of_traces, split)
    fig.update_layout(
        height=330 * rows + 90, margin=dict(t=90), legend=dict(orientation="h", y=-0.12 / rows),
    )
    return fig


def metric_grid(curves: tuple[Curve, ...], *, split: str) -> go.Figure:
    """Every metric (rows) against every varied hyperparameter (columns), small panels."""
    cols = len(curves)
    fig = make_subplots(
        rows=len(METRIC_NAMES), cols=cols, column_titles=[param_label(c.param) for c in curves],
        row_titles=[METRIC_LABELS[m] for m in METRIC_NAMES],
        horizontal_spacing=0.25 / cols + 0.01, vertical_spacing=0.018,
    )
    splits_of_traces, in_legend = [], set()
    for j, curve in enumerate(curves):
        for i, metric in enumerate(METRIC_NAMES):
            for sp in SPLITS:
                for series in curve.series:
                    fig.add_trace(_curve_trace(
                        series, metric_column(sp, metric), visible=sp == split,
                        colour=STAGE_COLOURS[series.stage_index % len(STAGE_COLOURS)],
                        symbol=_symbol(series),
                        name=series.stage, in_legend=in_legend, split=sp, marker_size=5,
                    ), row=i + 1, col=j + 1)
                    splits_of_traces.append(sp)
            _mark_values(fig, curve, i + 1, j + 1, labels=False)
    _split_buttons(fig, splits_of_traces, split)
    fig.update_annotations(font_size=11)
    fig.update_layout(
        height=150 * len(METRIC_NAMES) + 120, margin=dict(t=90, r=90), legend=dict(orientation="h", y=-0.03),
    )
    return fig


def stage_importance_figure(stage: StageImportance) -> go.Figure:
    """PED-ANOVA and fANOVA shares of one grid or tpe stage, side by side."""
    params = sorted(stage.params, key=lambda p: stage.fanova[p])
    fig = make_subplots(rows=1, cols=2, subplot_titles=["PED-ANOVA", "fANOVA"], shared_yaxes=True)
    for col, values in ((1, stage.ped_anova), (2, stage.fanova)):
        fig.add_trace(go.Bar(
            x=[values[p] for p in params], y=[param_label(p) for p in params], orientation="h",
            marker_color=STAGE_COLOURS[col - 1], showlegend=False,
            hovertemplate="%{y}: %{x:.3f}<extra></extra>",
        ), row=1, col=col)
        fig.update_xaxes(title_text="share of importance", range=[0, 1], row=1, col=col)
    fig.update_layout(
        title_text=f"Stage {stage.stage} ({stage.design}, {stage.trials} complete trials)",
        height=140 + 40 * len(params),
    )
    return fig


def spread_figure(result: Importance) -> go.Figure:
    """One-at-a-time importance: each curve's spread as a bar, the seed noise as a tick on it."""
    spreads = list(reversed(result.spreads))  # largest on top
    labels = [param_label(s.param) for s in spreads]
    fig = go.Figure()
    fig.add_trace(go.Bar(
        x=[s.spread for s in spreads], y=labels, orientation="h", name="spread of the curve",
        marker_color=STAGE_COLOURS[0],
        customdata=np.array([[s.best, s.worst, s.values, s.stage] for s in spreads], dtype=object),
        hovertemplate=(
            "%{y}: spread %{x:.4g}<br>best at %{customdata[0]}, worst at %{customdata[1]}"
            "<br>%{customdata[2]} values, stage %{customdata[3]}<extra></extra>"
        ),
    ))
    fig.add_trace(go.Scatter(
        x=[s.noise for s in spreads], y=labels, mode="markers", name="seed noise (std over seeds)",
        marker=dict(symbol="line-ns-open", size=22, line_width=3, color=NOISE_COLOUR),
        hovertemplate="%{y}: seed noise %{x:.4g}<extra></extra>",
    ))
    fig.update_layout(
        title_text=f"Spread of each curve: max - min of the mean {result.objective.metric} over seeds",
        xaxis_title=result.objective.metric, height=160 + 40 * len(spreads),
        legend=dict(orientation="h", y=-0.25),
    )
    return fig


def _symbol(series: Series) -> str:
    return STAGE_SYMBOLS[series.stage_index % len(STAGE_SYMBOLS)]


def _curve_trace(
    series: Series, column: str, *, visible: bool, colour: str, symbol: str, name: str, split: str,
    in_legend: set, marker_size: int = 8,
) -> go.Scatter:
    """Mean over seeds with min-max bars; the first trace of each name and split enters the legend."""
    first = (split, name) not in in_legend
    in_legend.add((split, name))
    mean = np.array(series.mean[column])
    low, high = np.array(series.low[column]), np.array(series.high[column])
    custom = np.column_stack([series.n, series.std[column], low, high])
    # tpe points are single samples scattered over a range: a line through them means nothing.
    mode = "markers" if series.design == "tpe" else "lines+markers"
    return go.Scatter(
        x=series.x, y=mean, mode=mode, visible=visible, name=name, legendgroup=name,
        showlegend=first, legendrank=1000 + series.stage_index, marker=dict(symbol=symbol, size=marker_size, color=colour),
        line=dict(color=colour, width=1.5),
        error_y=dict(type="data", symmetric=False, array=high - mean, arrayminus=mean - low, thickness=1),
        customdata=custom,
        hovertemplate=(
            "%{x}: mean %{y:.3f}<br>std %{customdata[1]:.3f}, min %{customdata[2]:.3f}, "
            "max %{customdata[3]:.3f}<br>%{customdata[0]} trials<extra>" + f"{name} ({series.design})</extra>"
        ),
    )


def _mark_values(fig: go.Figure, curve: Curve, row: int, col: int, *, labels: bool = True) -> None:
    marks = [(curve.paper, PAPER_COLOUR, "dash", "paper", 0.0)]
    if curve.chosen is not None:
        marks.append((curve.chosen, CHOSEN_COLOUR, "solid", "chosen", 1.0))
    if curve.log_x:
        fig.update_xaxes(
            type="log", range=_log_range(curve), tickvals=curve.grid, ticktext=[f"{v:g}" for v in curve.grid],
            row=row, col=col,
        )
    for x, colour, dash, text, y in marks:
        fig.add_vline(
            x=x, row=row, col=col, exclude_empty_subplots=False, line=dict(color=colour, dash=dash, width=1.5),
        )
        if labels:
            # Annotations on a log axis take the exponent, unlike the line itself.
            fig.add_annotation(
                x=np.log10(x) if curve.log_x else x, y=y, yref="y domain", text=text, showarrow=False,
                xanchor="left", yanchor="bottom" if y == 0.0 else "top", xshift=3,
                font=dict(color=colour, size=10), row=row, col=col,
            )


def _log_range(curve: Curve) -> list[float]:
    """An explicit range: plotly's autorange reads vertical lines on a log axis as exponents."""
    xs = [x for s in curve.series for x in s.x] + [curve.paper]
    xs += [curve.chosen] if curve.chosen is not None else []
    low, high = np.log10(min(xs)), np.log10(max(xs))
    pad = 0.06 * (high - low) + 0.05
    return [low - pad, high + pad]


def _split_buttons(fig: go.Figure, splits_of_traces: list[str], shown: str) -> None:
    buttons = [
        dict(label=f"{SPLIT_LABELS[sp]} metrics", method="restyle",
             args=[{"visible": [t == sp for t in splits_of_traces]}])
        for sp in SPLITS
    ]
    fig.update_layout(updatemenus=[dict(
        type="buttons", direction="right", active=SPLITS.index(shown), buttons=buttons,
        x=0, xanchor="left", y=1.0, yanchor="bottom", pad=dict(b=40),
    )])
